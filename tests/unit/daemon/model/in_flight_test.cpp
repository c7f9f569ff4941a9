// The assembler's in-flight snapshot: every open trace as it is now, with
// the spans suspended now, where and for how long, without disturbing what
// the assembler goes on to emit.

#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace {

using namespace cotrace_test;
using cotrace::in_flight_trace;
using cotrace::span_status;
using names = std::vector<std::string>;

std::vector<in_flight_trace> snapshot(harness& h, std::uint64_t now, std::uint64_t min_wait_ns = 0) {
    std::vector<in_flight_trace> out;
    h.assembler().in_flight(now, min_wait_ns, [&](const in_flight_trace& t) { out.push_back(t); });
    return out;
}

// A request whose grandchild waits on I/O (1040) and a second one that is running.
void play_two_requests(harness& h) {
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(1010),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(1020),
        suspend(T1, CHILD, AWAIT_GRANDCHILD_SITE, GRANDCHILD).code(CODE_GRANDCHILD).at(1030),
        suspend(T1, GRANDCHILD, IO_SITE).at(1040),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER).at(1100),
    });
}

TEST(InFlight, EveryOpenTraceIsSnapshotWithItsSpansAsTheyAreNow) {
    harness h;
    play_two_requests(h);
    const auto snaps = snapshot(h, 5040);
    ASSERT_EQ(snaps.size(), 2u);

    const in_flight_trace& waiting = snaps[0];
    EXPECT_EQ(span_names(waiting.t), (names{"handle_request(int)", "fetch_user(int)", "query(int)"}));
    EXPECT_EQ(waiting.t.start_ns, 1010u);
    EXPECT_EQ(waiting.now_ns, 5040u);
    EXPECT_EQ(waiting.age_ns(), 4030u);
    for (const auto& s : waiting.t.spans) EXPECT_EQ(s.status, span_status::running) << s.name;
    // Only the grandchild waits on something untraced; its ancestors wait
    // for their traced children, which shows as suspensions too.
    ASSERT_EQ(waiting.waiting.size(), 3u);
    const auto& leaf = waiting.waiting[2];
    EXPECT_EQ(waiting.span_of(leaf).name, "query(int)");
    EXPECT_EQ(waiting.span_of(leaf).suspends.back().site.file, "/src/db.cpp");
    EXPECT_EQ(waiting.span_of(leaf).suspends.back().site.line, 7u);
    EXPECT_EQ(waiting.span_of(leaf).suspends.back().end_ns, 0u) << "still suspended";
    EXPECT_EQ(leaf.waited_ns, 4000u);
    EXPECT_EQ(waiting.waiting[0].waited_ns, 4020u);
    EXPECT_EQ(waiting.longest_wait_ns, 4020u);
    EXPECT_FALSE(waiting.stuck);

    const in_flight_trace& running = snaps[1];
    EXPECT_EQ(span_names(running.t), (names{"other(int)"}));
    EXPECT_TRUE(running.waiting.empty()) << "it runs: nothing waits";
    EXPECT_EQ(running.longest_wait_ns, 0u);
}

TEST(InFlight, AMinimumWaitPassesOnlyTracesWithASpanSuspendedThatLong) {
    harness h;
    play_two_requests(h);
    EXPECT_EQ(snapshot(h, 5040, 4020).size(), 1u) << "waited exactly the minimum";
    EXPECT_EQ(snapshot(h, 5040, 4021).size(), 0u);
    EXPECT_EQ(snapshot(h, 5040, 1).size(), 1u) << "the running one has nothing suspended";
}

TEST(InFlight, ASpanResumedNoLongerWaitsAndFinishedChildrenStayInTheSnapshot) {
    harness h;
    play_two_requests(h);
    h.play({resume(T2, GRANDCHILD).at(2000), end(T2, GRANDCHILD).at(2010)});  // the child runs again
    const auto snaps = snapshot(h, 3000);
    ASSERT_EQ(snaps.size(), 2u);
    const in_flight_trace& t = snaps[0];
    ASSERT_EQ(t.t.spans.size(), 3u);
    EXPECT_EQ(t.t.spans[2].status, span_status::ok) << "finished, still held with its trace";
    ASSERT_EQ(t.waiting.size(), 1u) << "the root still awaits the child; the child runs";
    EXPECT_EQ(t.span_of(t.waiting[0]).name, "handle_request(int)");
}

TEST(InFlight, TakingSnapshotsChangesNothingTheAssemblerEmits) {
    harness plain, watched;
    play_two_requests(plain);
    play_two_requests(watched);
    (void)snapshot(watched, 1500);
    (void)snapshot(watched, 1600, 10);
    const auto finish = [](harness& h) {
        h.play({resume(T2, GRANDCHILD).at(2000), end(T2, GRANDCHILD).at(2010), end(T2, CHILD).at(2020),
                end(T2, ROOT).at(2030), end(T2, OTHER).at(2040)});
    };
    finish(plain);
    (void)snapshot(watched, 2000);
    finish(watched);
    ASSERT_EQ(plain.traces().size(), 2u);
    ASSERT_EQ(watched.traces().size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& a = plain.traces()[i];
        const auto& b = watched.traces()[i];
        EXPECT_EQ(a.id, b.id);
        EXPECT_EQ(a.complete, b.complete);
        EXPECT_EQ(a.end_ns, b.end_ns);
        ASSERT_EQ(span_names(a), span_names(b));
        for (std::size_t s = 0; s < a.spans.size(); ++s) {
            EXPECT_EQ(a.spans[s].end_ns, b.spans[s].end_ns);
            EXPECT_EQ(a.spans[s].suspends.size(), b.spans[s].suspends.size());
        }
    }
    EXPECT_EQ(watched.assembler().open_traces(), 0u);
    EXPECT_TRUE(snapshot(watched, 3000).empty()) << "nothing in flight once every request ended";
}

TEST(InFlight, ATraceEmittedInSegmentsShowsWhatItStillHolds) {
    cotrace::assembler_options o = traced_from_start();
    o.segment_after_ns = 100;
    harness h(o);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(1010),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(1020),
        end(T1, CHILD).at(1030),  // the root runs again
        suspend(T1, ROOT, IO_SITE).at(1040),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER).at(1200),  // past segment_after_ns: a segment
    });
    ASSERT_EQ(h.traces().size(), 1u) << "the first segment went out";
    const auto snaps = snapshot(h, 1300);
    ASSERT_EQ(snaps.size(), 2u);
    const in_flight_trace* root = nullptr;
    for (const auto& s : snaps)
        if (s.t.id == h.traces()[0].id) root = &s;
    ASSERT_NE(root, nullptr);
    EXPECT_EQ(span_names(root->t), (names{"handle_request(int)"})) << "the finished child went out";
    EXPECT_EQ(root->t.segment, 1u);
    ASSERT_EQ(root->waiting.size(), 1u);
    EXPECT_EQ(root->waiting[0].waited_ns, 260u);
    EXPECT_EQ(root->span_of(root->waiting[0]).suspends.back().site.line, 7u);
}

}  // namespace
