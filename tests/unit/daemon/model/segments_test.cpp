// The assembler's memory bounds: every span held counts, finished or not;
// a trace that outgrows the bounds, or lives longer than segment_after_ns,
// is emitted in segments, each a tree of its own; the symbol cache is
// bounded too.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/harness.hpp"

namespace {

using namespace cotrace_test;
using cotrace::span_status;
using cotrace::trace;
using names = std::vector<std::string>;

// Frames of the children a long session spawns one after another.
std::uint64_t nth_child(int i) { return 0x7f0000100000 + static_cast<std::uint64_t>(i) * 0x100; }

// A long-lived root (a connection) that awaits `n` children one after another.
void long_session(harness& h, int n) {
    h.play({span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT)});
    for (int i = 0; i < n; ++i)
        h.play({
            suspend(T1, ROOT, AWAIT_CHILD_SITE, nth_child(i)).code(CODE_CHILD),
            end(T1, nth_child(i)),
        });
}

// Every segment is a tree; together they hold each span once as finished.
void expect_segments_add_up(const std::vector<trace>& traces, std::size_t spans) {
    std::map<std::uint64_t, int> finished;
    for (std::size_t i = 0; i < traces.size(); ++i) {
        const trace& t = traces[i];
        EXPECT_TRUE(well_formed(t)) << "segment " << t.segment;
        EXPECT_EQ(t.segment, i);
        EXPECT_EQ(t.final_segment, i + 1 == traces.size());
        EXPECT_EQ(t.id, traces[0].id);
        for (const auto& s : t.spans)
            if (s.status != span_status::running) ++finished[s.id];
    }
    EXPECT_EQ(finished.size(), spans);
    for (const auto& [id, n] : finished) EXPECT_EQ(n, 1) << "span " << id << " finished in one segment only";
}

TEST(Segments, FinishedSpansOfAnOpenTraceCountAgainstTheBoundAndGoOutInSegments) {
    cotrace::assembler_options options = traced_from_start();
    options.max_open_spans = 10;
    harness h(options);
    long_session(h, 100);
    EXPECT_LE(h.assembler().open_spans(), 10u);
    EXPECT_LE(h.assembler().held_records(), 40u);
    EXPECT_FALSE(h.traces().empty()) << "a trace past the bound is emitted while it runs";
    for (const trace& t : h.traces()) {
        EXPECT_FALSE(t.final_segment);
        EXPECT_EQ(t.spans[0].status, span_status::running) << "the open root heads every segment";
        EXPECT_EQ(t.spans[0].name, "handle_request(int)");
    }
    h.play({end(T1, ROOT)});
    expect_segments_add_up(h.traces(), 101);
    EXPECT_TRUE(h.traces().back().complete);
    EXPECT_EQ(h.summary().evicted_traces, 0u);
    EXPECT_EQ(h.summary().traces, 1u);
    std::size_t suspends = 0;
    for (const trace& t : h.traces()) suspends += t.spans[0].suspends.size();
    EXPECT_EQ(suspends, 100u) << "each suspension of the root in exactly one segment";
    EXPECT_EQ(h.assembler().open_spans(), 0u);
    EXPECT_EQ(h.assembler().held_records(), 0u);
}

TEST(Segments, ARootOpenLongerThanTheTimeBoundShowsWhatFinishedSoFar) {
    cotrace::assembler_options options = traced_from_start();
    options.segment_after_ns = 1'000'000;
    harness h(options);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(10'000),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(20'000),
        end(T1, CHILD).at(30'000),
        suspend(T1, ROOT, IO_SITE).at(40'000),
    });
    EXPECT_TRUE(h.traces().empty());
    h.play({resume(T1, ROOT).at(2'000'000)});  // past the bound: what finished goes out
    ASSERT_EQ(h.traces().size(), 1u);
    {
        const trace& seg = h.traces()[0];
        EXPECT_TRUE(well_formed(seg));
        EXPECT_EQ(seg.segment, 0u);
        EXPECT_FALSE(seg.final_segment);
        ASSERT_EQ(span_names(seg), (names{"handle_request(int)", "fetch_user(int)"}));
        EXPECT_EQ(seg.spans[0].status, span_status::running);
        EXPECT_EQ(seg.spans[1].status, span_status::ok);
    }
    h.play({
        span_begin(T1, GRANDCHILD, 0, AWAIT_GRANDCHILD_SITE).code(CODE_GRANDCHILD).at(2'100'000),
        end(T1, GRANDCHILD).at(2'200'000),
        end(T1, ROOT).at(2'300'000),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    expect_segments_add_up(h.traces(), 3);
    EXPECT_EQ(span_names(h.traces()[1]), (names{"handle_request(int)", "query(int)"}));
    EXPECT_EQ(h.traces()[1].spans[0].status, span_status::ok);
}

TEST(Segments, AFinishedParentWithAChildStillOpenStaysToKeepEachSegmentATree) {
    cotrace::assembler_options options = traced_from_start();
    options.segment_after_ns = 1'000'000;
    harness h(options);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(10'000),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(20'000),
        spawn(T1, BACKGROUND).code(CODE_BACKGROUND).at(30'000),  // outlives its parent
        end(T1, CHILD).at(40'000),
        end(T1, ROOT).at(50'000),
        resume(T2, BACKGROUND).at(3'000'000),  // the root's trace is cut: it cannot end yet
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& seg = h.traces()[0];
    EXPECT_TRUE(well_formed(seg));
    // Nothing is settled yet (fetch_user has audit open below it): only the
    // root's finished suspension goes out.
    EXPECT_EQ(span_names(seg), (names{"handle_request(int)"}));
    EXPECT_EQ(seg.spans[0].suspends.size(), 1u);
    h.play({end(T2, BACKGROUND).at(3'100'000)});
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& last = h.traces()[1];
    EXPECT_TRUE(well_formed(last));
    EXPECT_TRUE(last.final_segment);
    EXPECT_EQ(span_names(last), (names{"handle_request(int)", "fetch_user(int)", "audit(int)"}));
}

TEST(Segments, ATraceHoldingOnlyOpenSpansIsEvictedWhenTheBoundIsReached) {
    cotrace::assembler_options options = traced_from_start();
    options.max_open_spans = 4;
    harness h(options);
    const std::uint64_t roots[] = {ROOT, ROOT_B, CALLBACK, OTHER, BACKGROUND};
    for (std::uint64_t r : roots) h.play({span_begin(T1, r, 0, MAIN_SITE).code(CODE_ROOT), suspend(T1, r, IO_SITE)});
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_EQ(h.summary().evicted_traces, 1u);
    EXPECT_EQ(h.assembler().open_spans(), 4u);
}

TEST(SymbolCache, FrameCodesAreNotKeptAndTheTableStopsGrowingAtItsBound) {
    fake_symbols symbols;
    symbols.add_frame_code(test_pid, ROOT, CODE_ROOT);
    cotrace::symbol_cache cache(&symbols, 8, 1024);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(cache.frame_code(test_pid, ROOT), CODE_ROOT);
    EXPECT_EQ(cache.size(), 0u) << "frames are not static data";
    EXPECT_EQ(symbols.frame_code_calls, 1000) << "read afresh each time";
    for (std::uint64_t a = 0; a < 100; ++a) cache.site(test_pid, 0x900000 + a);
    EXPECT_EQ(cache.size(), 8u);
    EXPECT_EQ(symbols.site_calls, 8) << "past the bound, nothing is asked of the target";
    EXPECT_FALSE(cache.site(test_pid, 0x900000 + 50).known());
}

TEST(SymbolCache, NamesAreInternedOnceAndOutliveEveryAnswer) {
    fake_symbols symbols;
    symbols.add_function(test_pid, 1, "same(int)").add_function(test_pid, 2, "same(int)");
    cotrace::symbol_cache cache(&symbols);
    const std::string_view a = cache.function(test_pid, 1), b = cache.function(test_pid, 2);
    EXPECT_EQ(a, "same(int)");
    EXPECT_EQ(a.data(), b.data()) << "one copy of each distinct string";
    cotrace::symbol_cache::entry replaced;
    replaced.name = "other(int)";
    cache.insert({test_pid, cotrace::symbol_cache::kind::function, 1}, replaced);
    EXPECT_EQ(a, "same(int)") << "views handed out earlier stay valid";
    EXPECT_EQ(cache.function(test_pid, 1), "other(int)");
}

}  // namespace
