// The assembler on synthetic event streams (DESIGN.md §6 "Assemble", §9):
// each test plays the probes a workload would fire and checks the exact
// structure of the traces that come out.

#include <gtest/gtest.h>

#include <malloc.h>

#include "support/harness.hpp"

namespace {

using namespace cotrace_test;
using cotrace::link_kind;
using cotrace::span_kind;
using cotrace::span_status;
using cotrace::trace;
using names = std::vector<std::string>;
using tids = std::vector<std::uint32_t>;

// ---- await chains -------------------------------------------------------------
// By the protocol a task await fires one probe, suspend(parent, site, child):
// the child runs at once on that thread, and when it ends (not cancelled) the
// parent runs again on the thread of that end. Neither run is probed.

TEST(Assembler, ANestedAwaitChainIsOneTraceWithRootFirstAndEachSpanUnderItsAwaiter) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),                           // 1010 sync_wait
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),                   // 1020
        suspend(T1, CHILD, AWAIT_GRANDCHILD_SITE, GRANDCHILD).code(CODE_GRANDCHILD),   // 1030
        suspend(T1, GRANDCHILD, IO_SITE),                                              // 1040 the database
        resume(T2, GRANDCHILD),                                                        // 1050
        end(T2, GRANDCHILD),                                                           // 1060
        annotation(T2, ROWS_TEXT, 1),                                                  // 1070 in the child again
        end(T2, CHILD),                                                                // 1080
    });
    EXPECT_TRUE(h.traces().empty()) << "emitted before its root ended";
    EXPECT_EQ(h.assembler().open_traces(), 1u);
    EXPECT_EQ(h.assembler().open_spans(), 3u) << "finished spans of an open trace are held, and counted";

    h.play({end(T2, ROOT)});  // 1090
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_NE(t.id, 0u);
    EXPECT_EQ(t.pid, test_pid);
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(t.start_ns, 1010u);
    EXPECT_EQ(t.end_ns, 1090u);
    EXPECT_TRUE(t.links.empty());
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "fetch_user(int)", "query(int)"}));

    const auto& root = t.spans[0];
    const auto& child = t.spans[1];
    const auto& grandchild = t.spans[2];
    EXPECT_EQ(root.parent_id, 0u);
    EXPECT_EQ(child.parent_id, root.id);
    EXPECT_EQ(grandchild.parent_id, child.id);

    for (const auto* s : {&root, &child, &grandchild}) {
        EXPECT_EQ(s->kind, span_kind::coroutine) << s->name;
        EXPECT_EQ(s->status, span_status::ok) << s->name;
        EXPECT_FALSE(s->partial) << s->name;
        EXPECT_EQ(s->tids, (tids{T1, T2})) << s->name;
        EXPECT_EQ(s->thread_hops, 1u) << s->name;
        ASSERT_EQ(s->suspends.size(), 1u) << s->name;
    }
    // Where each span was started: sync_wait's call, then the awaiting co_await.
    EXPECT_EQ(root.site.function, "main");
    EXPECT_EQ(root.site.file, "/src/main.cpp");
    EXPECT_EQ(root.site.line, 10u);
    EXPECT_EQ(child.site.function, "handle_request");
    EXPECT_EQ(child.site.file, "/src/pipeline.cpp");
    EXPECT_EQ(child.site.line, 42u);
    EXPECT_EQ(grandchild.site.line, 57u);

    EXPECT_EQ(root.start_ns, 1010u);
    EXPECT_EQ(root.end_ns, 1090u);
    EXPECT_EQ(child.start_ns, 1020u);
    EXPECT_EQ(child.end_ns, 1080u);
    EXPECT_EQ(grandchild.start_ns, 1030u);
    EXPECT_EQ(grandchild.end_ns, 1060u);

    // Each awaiter waits from its co_await until its child ends.
    EXPECT_EQ(root.suspends[0].site.file, "/src/pipeline.cpp");
    EXPECT_EQ(root.suspends[0].site.line, 42u);
    EXPECT_EQ(root.suspends[0].start_ns, 1020u);
    EXPECT_EQ(root.suspends[0].end_ns, 1080u);
    EXPECT_EQ(root.suspends[0].awaited, child.id);
    EXPECT_EQ(child.suspends[0].site.line, 57u);
    EXPECT_EQ(child.suspends[0].start_ns, 1030u);
    EXPECT_EQ(child.suspends[0].end_ns, 1060u);
    EXPECT_EQ(child.suspends[0].awaited, grandchild.id);
    EXPECT_EQ(grandchild.suspends[0].site.file, "/src/db.cpp");
    EXPECT_EQ(grandchild.suspends[0].site.line, 7u);
    EXPECT_EQ(grandchild.suspends[0].start_ns, 1040u);
    EXPECT_EQ(grandchild.suspends[0].end_ns, 1050u);
    EXPECT_EQ(grandchild.suspends[0].awaited, 0u);

    EXPECT_TRUE(root.events.empty());
    EXPECT_TRUE(grandchild.events.empty());
    ASSERT_EQ(child.events.size(), 1u);
    EXPECT_EQ(child.events[0].name, "rows");
    EXPECT_EQ(child.events[0].ts_ns, 1070u);

    const auto& sum = h.summary();
    EXPECT_EQ(sum.events, 9u);
    EXPECT_EQ(sum.traces, 1u);
    EXPECT_EQ(sum.spans, 3u);
    EXPECT_EQ(sum.incomplete, 0u);
    EXPECT_EQ(sum.drops, 0u);
    EXPECT_EQ(sum.evicted_traces, 0u);
    EXPECT_EQ(sum.unattributed, 0u);
    EXPECT_EQ(h.assembler().open_traces(), 0u);
    EXPECT_EQ(h.assembler().open_spans(), 0u);
}

TEST(Assembler, ExplicitResumesOfSpansAlreadyRunningAreNotSecondRuns) {
    // A library that probes every run (as cotrace did before the runs were
    // implied) gives the same trace.
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        resume(T1, ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        resume(T1, CHILD),
        end(T1, CHILD),
        resume(T1, ROOT),
        annotation(T1, ROWS_TEXT, 1),
        end(T1, ROOT),
        annotation(T1, ROWS_TEXT, 2),  // nothing left running on T1
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    for (const auto& s : t.spans) {
        EXPECT_EQ(s.tids, (tids{T1})) << s.name;
        EXPECT_EQ(s.thread_hops, 0u) << s.name;
    }
    EXPECT_EQ(t.spans[0].events.size(), 1u);
    EXPECT_EQ(h.summary().unattributed, 1u);
}

TEST(Assembler, TimesAreShiftedByTheClockOffsetToUnixEpoch) {
    cotrace::assembler_options options = traced_from_start();
    options.clock_offset_ns = 1'700'000'000'000'000'000;
    harness h(options);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(100),
        annotation(T1, ROWS_TEXT, 5).at(115),
        suspend(T1, ROOT, IO_SITE).at(120),
        resume(T1, ROOT).at(130),
        end(T1, ROOT).at(140),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    const std::uint64_t base = 1'700'000'000'000'000'000;
    EXPECT_EQ(t.start_ns, base + 100);
    EXPECT_EQ(t.end_ns, base + 140);
    EXPECT_EQ(t.spans[0].start_ns, base + 100);
    EXPECT_EQ(t.spans[0].end_ns, base + 140);
    ASSERT_EQ(t.spans[0].suspends.size(), 1u);
    EXPECT_EQ(t.spans[0].suspends[0].start_ns, base + 120);
    EXPECT_EQ(t.spans[0].suspends[0].end_ns, base + 130);
    ASSERT_EQ(t.spans[0].events.size(), 1u);
    EXPECT_EQ(t.spans[0].events[0].ts_ns, base + 115);
}

TEST(Assembler, EndStatusesAreKeptAndAnUnknownStatusCodeCountsAsAnException) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        end(T1, CHILD, COTRACE_STATUS_EXCEPTION),  // the root runs again
        suspend(T1, ROOT, AWAIT_GRANDCHILD_SITE, GRANDCHILD).code(CODE_GRANDCHILD),
        end(T1, GRANDCHILD, 7),
        suspend(T1, ROOT, WHEN_ALL_SITE, OTHER).code(CODE_OTHER),
        suspend(T1, OTHER, IO_SITE),
        // Destroyed while suspended, from another thread: the root's task
        // first, then the child it owns. A cancelled child hands nothing back.
        end(T2, ROOT, COTRACE_STATUS_CANCELLED),
        end(T2, OTHER, COTRACE_STATUS_CANCELLED),
        annotation(T2, ROWS_TEXT, 1),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(span_named(t, "fetch_user(int)").status, span_status::exception);
    EXPECT_EQ(span_named(t, "query(int)").status, span_status::exception);
    EXPECT_EQ(span_named(t, "other(int)").status, span_status::cancelled);
    EXPECT_EQ(span_named(t, "handle_request(int)").status, span_status::cancelled);
    const auto& root = t.spans[0];
    EXPECT_EQ(root.tids, (tids{T1})) << "it never ran on T2";
    // The suspension the root was in when it was cancelled ends with it.
    ASSERT_EQ(root.suspends.size(), 3u);
    EXPECT_EQ(root.suspends[2].end_ns, root.end_ns);
    EXPECT_EQ(h.summary().unattributed, 1u);
}

TEST(Assembler, ARootEndedBeforeTheChildItWasAwaitingWaitsForThatChild) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        suspend(T1, CHILD, IO_SITE),
        end(T2, ROOT, COTRACE_STATUS_CANCELLED),
    });
    EXPECT_TRUE(h.traces().empty());
    h.play({end(T2, CHILD, COTRACE_STATUS_CANCELLED)});
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(span_names(t), (names{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_EQ(t.spans[1].status, span_status::cancelled);
    EXPECT_EQ(t.end_ns, t.spans[1].end_ns);
}

// ---- one trace per request ----------------------------------------------------

TEST(Assembler, EachRootBeginsANewTraceAndInterleavedRequestsOnTwoThreadsDoNotMix) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        span_begin(T2, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        suspend(T2, ROOT_B, AWAIT_GRANDCHILD_SITE, CHILD_B).code(CODE_GRANDCHILD),
        annotation(T1, ROWS_TEXT, 1),
        annotation(T2, BYTES_TEXT, 2),
        end(T2, CHILD_B),
        end(T1, CHILD),
        end(T2, ROOT_B),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& b = h.traces()[0];  // emitted in the order they completed
    const trace& a = h.traces()[1];
    EXPECT_TRUE(well_formed(a));
    EXPECT_TRUE(well_formed(b));
    EXPECT_NE(a.id, b.id);
    EXPECT_NE(a.id, 0u);
    EXPECT_NE(b.id, 0u);
    ASSERT_EQ(span_names(a), (names{"handle_request(int)", "fetch_user(int)"}));
    ASSERT_EQ(span_names(b), (names{"other(int)", "query(int)"}));
    EXPECT_EQ(a.spans[1].parent_id, a.spans[0].id);
    EXPECT_EQ(b.spans[1].parent_id, b.spans[0].id);
    for (const auto& s : a.spans) EXPECT_EQ(s.tids, (tids{T1})) << s.name;
    for (const auto& s : b.spans) EXPECT_EQ(s.tids, (tids{T2})) << s.name;
    ASSERT_EQ(a.spans[1].events.size(), 1u);
    EXPECT_EQ(a.spans[1].events[0].name, "rows");
    ASSERT_EQ(b.spans[1].events.size(), 1u);
    EXPECT_EQ(b.spans[1].events[0].name, "bytes");
    EXPECT_TRUE(a.complete);
    EXPECT_TRUE(b.complete);
    EXPECT_EQ(h.summary().traces, 2u);
}

TEST(Assembler, AllSpansOfADeepAwaitChainShareTheRootsTraceAcrossThreadHops) {
    // Two requests, each root -> child -> grandchild -> great-grandchild, run
    // interleaved; every span waits on I/O and resumes on the next thread
    // before awaiting its child. Every span stays in its request's trace.
    harness h;
    constexpr std::uint64_t A[4] = {ROOT, CHILD, GRANDCHILD, OTHER};
    constexpr std::uint64_t B[4] = {ROOT_B, CHILD_B, WHEN_ALL, BACKGROUND};
    constexpr std::uint64_t code[4] = {CODE_ROOT, CODE_CHILD, CODE_GRANDCHILD, CODE_OTHER};
    constexpr std::uint32_t ta[4] = {T1, T2, T3, T1}, tb[4] = {T2, T3, T1, T2};
    h.play({span_begin(ta[0], A[0], 0, MAIN_SITE).code(code[0]), span_begin(tb[0], B[0], 0, MAIN_SITE).code(code[0])});
    for (int level = 0; level < 3; ++level)
        h.play({
            suspend(ta[level], A[level], IO_SITE),
            suspend(tb[level], B[level], IO_SITE),
            resume(ta[level + 1], A[level]),
            resume(tb[level + 1], B[level]),
            suspend(ta[level + 1], A[level], AWAIT_CHILD_SITE, A[level + 1]).code(code[level + 1]),
            suspend(tb[level + 1], B[level], AWAIT_CHILD_SITE, B[level + 1]).code(code[level + 1]),
        });
    for (int level = 3; level >= 0; --level) h.play({end(tb[3], B[level]), end(ta[3], A[level])});

    ASSERT_EQ(h.traces().size(), 2u);
    for (const trace& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        EXPECT_TRUE(t.complete);
        ASSERT_EQ(span_names(t), (names{"handle_request(int)", "fetch_user(int)", "query(int)", "other(int)"}));
        for (std::size_t i = 1; i < t.spans.size(); ++i) EXPECT_EQ(t.spans[i].parent_id, t.spans[i - 1].id);
    }
    const trace& b = h.traces()[0];  // B's root ended first
    const trace& a = h.traces()[1];
    EXPECT_NE(a.id, b.id);
    // Roots: begun on the first thread, resumed on the second, back on the
    // last thread (= the first) where their children ended.
    EXPECT_EQ(a.spans[0].tids, (tids{T1, T2, T1}));
    EXPECT_EQ(a.spans[0].thread_hops, 2u);
    EXPECT_EQ(b.spans[0].tids, (tids{T2, T3, T2}));
    EXPECT_EQ(b.spans[0].thread_hops, 2u);
    EXPECT_EQ(a.spans[3].tids, (tids{T1}));
    EXPECT_EQ(h.summary().spans, 8u);
}

TEST(Assembler, TheSameFrameAddressInTwoProcessesIsTwoSpansInTwoTraces) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_OTHER).in(harness::other_pid),
        end(T1, ROOT).in(harness::other_pid),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& other = h.traces()[0];
    const trace& mine = h.traces()[1];
    EXPECT_EQ(other.pid, harness::other_pid);
    EXPECT_EQ(mine.pid, test_pid);
    EXPECT_NE(other.id, mine.id);
    EXPECT_NE(other.spans[0].id, mine.spans[0].id);
    EXPECT_EQ(other.spans[0].name, "other(int)");
    EXPECT_EQ(mine.spans[0].name, "handle_request(int)");
    EXPECT_TRUE(other.complete);
    EXPECT_TRUE(mine.complete);
}

// ---- when_all, spawn ----------------------------------------------------------

TEST(Assembler, WhenAllBranchesAreChildrenOfWhenAllAndTheLastOneToFinishJoinsIt) {
    // What cotrace::when_all fires: the root awaits the when_all task, which
    // awaits its join (no traced child), begins each branch in turn on this
    // thread, and is resumed by the last branch to finish, after a join link.
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        span_begin(T3, OTHER, 0, MAIN_SITE).code(CODE_OTHER),  // another request, on T3
        suspend(T1, ROOT, WHEN_ALL_SITE, WHEN_ALL).code(CODE_WHEN_ALL),
        suspend(T1, WHEN_ALL, WHEN_ALL_INNER_SITE),
        span_begin(T1, BRANCH_1, WHEN_ALL, 0).code(CODE_BRANCH_1),
        end(T1, BRANCH_1),  // finished at once: not the last
        span_begin(T1, BRANCH_2, WHEN_ALL, 0).code(CODE_BRANCH_2),
        suspend(T1, BRANCH_2, IO_SITE),
        resume(T2, BRANCH_2),
        end(T2, BRANCH_2),
        end(T3, OTHER),  // another thread ends a span in between
        join(T2, BRANCH_2, WHEN_ALL),
        resume(T2, WHEN_ALL),
        end(T2, WHEN_ALL),  // the root runs again, on T2
        end(T2, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"other(int)"}));
    EXPECT_TRUE(h.traces()[0].links.empty());
    const trace& t = h.traces()[1];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "when_all", "lookup_stock(int)", "lookup_price(int)"}));
    const auto& root = t.spans[0];
    const auto& when_all = t.spans[1];
    const auto& branch1 = t.spans[2];
    const auto& branch2 = t.spans[3];
    EXPECT_EQ(when_all.parent_id, root.id);
    EXPECT_EQ(branch1.parent_id, when_all.id);
    EXPECT_EQ(branch2.parent_id, when_all.id);
    EXPECT_EQ(when_all.site.line, 117u);
    EXPECT_FALSE(branch1.site.known()) << "span_begin with site 0";
    EXPECT_EQ(branch1.tids, (tids{T1}));
    EXPECT_EQ(branch1.thread_hops, 0u);
    EXPECT_EQ(branch1.status, span_status::ok);
    EXPECT_EQ(branch2.tids, (tids{T1, T2}));
    EXPECT_EQ(branch2.thread_hops, 1u);
    EXPECT_EQ(when_all.tids, (tids{T1, T2}));
    EXPECT_EQ(root.tids, (tids{T1, T2}));
    ASSERT_EQ(when_all.suspends.size(), 1u);
    EXPECT_EQ(when_all.suspends[0].site.file, "/inc/cotrace/when_all.hpp");
    EXPECT_EQ(when_all.suspends[0].awaited, 0u);
    EXPECT_EQ(when_all.suspends[0].end_ns, when_all.end_ns - 10) << "until resume(when_all)";
    ASSERT_EQ(root.suspends.size(), 1u);
    EXPECT_EQ(root.suspends[0].awaited, when_all.id);
    EXPECT_EQ(root.suspends[0].end_ns, when_all.end_ns);

    ASSERT_EQ(t.links.size(), 1u);
    EXPECT_EQ(t.links[0].kind, link_kind::join);
    EXPECT_EQ(t.links[0].from, branch2.id);
    EXPECT_EQ(t.links[0].to, when_all.id);
    EXPECT_EQ(h.summary().unattributed, 0u);
}

TEST(Assembler, ASpawnedChildHangsUnderTheCurrentSpanAndKeepsTheTraceOpenPastTheRootsEnd) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),  // 1010
        spawn(T1, BACKGROUND).code(CODE_BACKGROUND),          // 1020
        end(T1, ROOT),                                        // 1030
    });
    EXPECT_TRUE(h.traces().empty()) << "the spawned child is still running";
    EXPECT_EQ(h.assembler().open_traces(), 1u);

    h.play({
        resume(T2, BACKGROUND),  // 1040 its first run, on the pool
        suspend(T2, BACKGROUND, IO_SITE),
        resume(T3, BACKGROUND),
        end(T3, BACKGROUND),     // 1070
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "audit(int)"}));
    const auto& root = t.spans[0];
    const auto& bg = t.spans[1];
    EXPECT_EQ(bg.parent_id, root.id);
    EXPECT_EQ(bg.start_ns, 1020u);
    EXPECT_EQ(bg.end_ns, 1070u);
    EXPECT_EQ(root.end_ns, 1030u);
    EXPECT_EQ(t.end_ns, 1070u);
    EXPECT_EQ(bg.tids, (tids{T2, T3})) << "spawning is not running";
    EXPECT_EQ(bg.thread_hops, 1u);
    EXPECT_EQ(root.tids, (tids{T1}));
    EXPECT_TRUE(root.suspends.empty()) << "spawning does not suspend the spawner";
    ASSERT_EQ(t.links.size(), 1u);
    EXPECT_EQ(t.links[0].kind, link_kind::spawn);
    EXPECT_EQ(t.links[0].from, root.id);
    EXPECT_EQ(t.links[0].to, bg.id);
}

TEST(Assembler, ASpawnWithNoCurrentSpanRootsItsOwnTraceWithoutALink) {
    harness h;
    h.play({
        spawn(T1, BACKGROUND).code(CODE_BACKGROUND),
        resume(T2, BACKGROUND),
        end(T2, BACKGROUND),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(span_names(t), (names{"audit(int)"}));
    EXPECT_TRUE(t.links.empty());
}

TEST(Assembler, ASpanBegunWithNoParentRootsANewTraceEvenInsideARunningSpan) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        span_begin(T1, BACKGROUND, COTRACE_PARENT_NONE, MAIN_SITE).code(CODE_BACKGROUND),
        end(T1, BACKGROUND),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"audit(int)"}));
    EXPECT_EQ(span_names(h.traces()[1]), (names{"handle_request(int)"}));
    for (const trace& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        EXPECT_TRUE(t.complete);
        EXPECT_FALSE(t.spans[0].partial);
    }
}

TEST(Assembler, AttachedMidFlightASpanBegunWithNoParentIsACompleteRoot) {
    harness h(cotrace::assembler_options{});  // threads of unknown state
    h.play({
        span_begin(T1, BACKGROUND, COTRACE_PARENT_NONE, MAIN_SITE).code(CODE_BACKGROUND),
        end(T1, BACKGROUND),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(h.traces()[0].complete);
    EXPECT_FALSE(h.traces()[0].spans[0].partial);
}

// ---- threads ------------------------------------------------------------------

TEST(Assembler, TidsAreTheSequenceOfThreadsASpanRanOnAndThreadHopsCountItsChanges) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),  // 1010 runs on T1
        suspend(T1, ROOT, IO_SITE),           // 1020
        resume(T1, ROOT),                     // 1030  same thread: no hop
        suspend(T1, ROOT, AWAIT_CHILD_SITE),  // 1040  an untraced awaitable at line 42
        resume(T2, ROOT),                     // 1050  hop 1
        suspend(T2, ROOT, IO_SITE),           // 1060
        resume(T1, ROOT),                     // 1070  hop 2: back on T1
        suspend(T1, ROOT, IO_SITE),           // 1080
        resume(T3, ROOT),                     // 1090  hop 3
        end(T3, ROOT),                        // 1100
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const auto& s = h.traces()[0].spans[0];
    EXPECT_EQ(s.tids, (tids{T1, T2, T1, T3})) << "A->B->A as it happened, the repeat on T1 collapsed";
    EXPECT_EQ(s.thread_hops, 3u);
    EXPECT_EQ(s.thread_hops + 1, s.tids.size());
    ASSERT_EQ(s.suspends.size(), 4u);
    const std::uint64_t starts[] = {1020, 1040, 1060, 1080}, ends[] = {1030, 1050, 1070, 1090};
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(s.suspends[i].start_ns, starts[i]) << i;
        EXPECT_EQ(s.suspends[i].end_ns, ends[i]) << i;
        EXPECT_EQ(s.suspends[i].awaited, 0u) << i;
    }
    EXPECT_EQ(s.suspends[0].site.line, 7u);
    EXPECT_EQ(s.suspends[1].site.line, 42u);
}

// ---- scopes and annotations ---------------------------------------------------

TEST(Assembler, ScopesNestUnderTheCurrentSpanAndAnnotationsGoToTheInnermostOne) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),   // 1010
        scope_begin(T1, SCOPE, PARSE_SCOPE_SITE),             // 1020
        annotation(T1, ROWS_TEXT, 42, ANNOTATE_SITE),         // 1030 -> parse
        scope_begin(T1, INNER_SCOPE, VALIDATE_SCOPE_SITE),    // 1040
        annotation(T1, BYTES_TEXT, -3, ANNOTATE_SITE),        // 1050 -> validate
        end(T1, INNER_SCOPE, COTRACE_STATUS_EXCEPTION),       // 1060
        end(T1, SCOPE, COTRACE_STATUS_OK),                    // 1070
        annotation(T1, BYTES_TEXT, 9, ANNOTATE_SITE),         // 1080 -> root
        end(T1, ROOT),                                        // 1090
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "parse", "validate"}));
    const auto& root = t.spans[0];
    const auto& parse = t.spans[1];
    const auto& validate = t.spans[2];
    EXPECT_EQ(root.kind, span_kind::coroutine);
    EXPECT_EQ(parse.kind, span_kind::scope);
    EXPECT_EQ(validate.kind, span_kind::scope);
    EXPECT_EQ(parse.parent_id, root.id);
    EXPECT_EQ(validate.parent_id, parse.id);
    EXPECT_EQ(parse.site.file, "/src/pipeline.cpp");
    EXPECT_EQ(parse.site.line, 60u);
    EXPECT_EQ(parse.tids, (tids{T1}));
    EXPECT_EQ(validate.tids, (tids{T1}));
    EXPECT_EQ(parse.status, span_status::ok);
    EXPECT_EQ(validate.status, span_status::exception);
    EXPECT_EQ(parse.start_ns, 1020u);
    EXPECT_EQ(parse.end_ns, 1070u);
    EXPECT_EQ(validate.start_ns, 1040u);
    EXPECT_EQ(validate.end_ns, 1060u);

    ASSERT_EQ(parse.events.size(), 1u);
    EXPECT_EQ(parse.events[0].name, "rows");
    EXPECT_EQ(parse.events[0].value, 42);
    EXPECT_EQ(parse.events[0].ts_ns, 1030u);
    ASSERT_EQ(validate.events.size(), 1u);
    EXPECT_EQ(validate.events[0].name, "bytes");
    EXPECT_EQ(validate.events[0].value, -3);
    ASSERT_EQ(root.events.size(), 1u);
    EXPECT_EQ(root.events[0].value, 9);
    EXPECT_EQ(root.events[0].ts_ns, 1080u);
    EXPECT_EQ(h.summary().unattributed, 0u);
}

TEST(Assembler, AnAnnotationWithNoCurrentSpanIsCountedAsUnattributed) {
    harness h;
    h.play({
        annotation(T1, ROWS_TEXT, 1),  // nothing traced yet
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, IO_SITE),
        annotation(T1, ROWS_TEXT, 2),  // the root is suspended: nothing runs on T1
        annotation(T2, ROWS_TEXT, 3),  // another thread
        resume(T2, ROOT),
        annotation(T2, ROWS_TEXT, 4),  // in the root
        end(T2, ROOT),
        annotation(T2, ROWS_TEXT, 5),  // after it
    });
    EXPECT_EQ(h.summary().unattributed, 4u);
    ASSERT_EQ(h.traces().size(), 1u);
    ASSERT_EQ(h.traces()[0].spans[0].events.size(), 1u);
    EXPECT_EQ(h.traces()[0].spans[0].events[0].value, 4);
}

TEST(Assembler, AScopeWithNoCurrentSpanIsARootOfItsOwn) {
    harness h;
    h.play({
        scope_begin(T1, SCOPE, PARSE_SCOPE_SITE),
        annotation(T1, ROWS_TEXT, 1),
        end(T1, SCOPE),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(span_names(t), (names{"parse"}));
    EXPECT_EQ(t.spans[0].kind, span_kind::scope);
    EXPECT_EQ(t.spans[0].events.size(), 1u);
}

// ---- contexts -----------------------------------------------------------------

TEST(Assembler, AContextCarriesTheCapturedSpanToAnotherThreadUntilItsExit) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        context_capture(T1, TOKEN),
        suspend(T1, ROOT, IO_SITE),  // waits for the callback
        // The legacy callback thread:
        context_enter(T2, TOKEN),
        annotation(T2, ROWS_TEXT, 7),  // in the captured span
        span_begin(T2, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK),
        end(T2, CALLBACK),
        context_exit(T2, TOKEN),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER),  // after the exit: a new root
        end(T2, OTHER),
        resume(T3, ROOT),
        end(T3, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& other = h.traces()[0];
    const trace& t = h.traces()[1];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    EXPECT_EQ(span_names(other), (names{"other(int)"}));
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "on_callback(int)"}));
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    EXPECT_EQ(t.spans[1].tids, (tids{T2}));
    EXPECT_EQ(t.spans[0].tids, (tids{T1, T3})) << "carrying a context is not running there";
    ASSERT_EQ(t.spans[0].events.size(), 1u);
    EXPECT_EQ(t.spans[0].events[0].value, 7);
    EXPECT_EQ(h.summary().unattributed, 0u);
}

TEST(Assembler, AContextCapturedWithNoCurrentSpanOrNeverCapturedCarriesNothing) {
    harness h;
    h.play({
        context_capture(T1, TOKEN),
        context_enter(T2, TOKEN),
        context_enter(T2, TOKEN + 1),  // never captured
        span_begin(T2, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK),
        end(T2, CALLBACK),
        context_exit(T2, TOKEN + 1),
        context_exit(T2, TOKEN),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(well_formed(h.traces()[0]));
    EXPECT_EQ(span_names(h.traces()[0]), (names{"on_callback(int)"}));
    EXPECT_EQ(h.traces()[0].spans[0].parent_id, 0u);
}

// ---- address reuse ------------------------------------------------------------

TEST(Assembler, AFrameAddressBegunAgainAfterItsEndIsANewSpanInANewTrace) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        end(T1, ROOT),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_OTHER),  // the allocator hands the frame out again
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_NE(h.traces()[0].id, h.traces()[1].id);
    EXPECT_NE(h.traces()[0].spans[0].id, h.traces()[1].spans[0].id);
    EXPECT_EQ(h.traces()[0].spans[0].name, "handle_request(int)");
    EXPECT_EQ(h.traces()[1].spans[0].name, "other(int)");
    EXPECT_TRUE(h.traces()[0].complete);
    EXPECT_TRUE(h.traces()[1].complete);
}

TEST(Assembler, AChildFrameReusedWithinOneTraceIsTwoSpansUnderTheSameParent) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        end(T1, CHILD),
        suspend(T1, ROOT, AWAIT_GRANDCHILD_SITE, CHILD).code(CODE_GRANDCHILD),  // same address, new coroutine
        end(T1, CHILD),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "fetch_user(int)", "query(int)"}));
    EXPECT_NE(t.spans[1].id, t.spans[2].id);
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    EXPECT_EQ(t.spans[2].parent_id, t.spans[0].id);
    ASSERT_EQ(t.spans[0].suspends.size(), 2u);
    EXPECT_EQ(t.spans[0].suspends[0].awaited, t.spans[1].id);
    EXPECT_EQ(t.spans[0].suspends[1].awaited, t.spans[2].id);
}

// ---- attached mid-flight ------------------------------------------------------

TEST(Assembler, AResumeOfAFrameNeverBegunIsAPartialSpanRootingAnIncompleteTrace) {
    harness h;
    h.symbols.add_frame_code(test_pid, CHILD, CODE_CHILD);  // the live frame's first word
    h.play({
        resume(T1, CHILD),
        suspend(T1, CHILD, AWAIT_GRANDCHILD_SITE, GRANDCHILD).code(CODE_GRANDCHILD),
        end(T1, GRANDCHILD),
        end(T1, CHILD),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_FALSE(t.complete);
    ASSERT_EQ(span_names(t), (names{"fetch_user(int)", "query(int)"}));
    EXPECT_TRUE(t.spans[0].partial);
    EXPECT_EQ(t.spans[0].parent_id, 0u);
    EXPECT_FALSE(t.spans[1].partial);
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    EXPECT_EQ(t.spans[0].status, span_status::ok);
    EXPECT_EQ(t.spans[0].tids, (tids{T1}));
    EXPECT_EQ(h.summary().incomplete, 1u);
}

TEST(Assembler, ASuspendOfAFrameNeverBegunIsNeverAttachedToTheSpanRunningOnThatThread) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        // A coroutine resumed inline before we attached suspends on T1 while
        // the root runs there: it is not the root's child.
        suspend(T1, OTHER, IO_SITE),
        end(T1, ROOT),
        resume(T2, OTHER),
        end(T2, OTHER),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& root = h.traces()[0];
    const trace& partial = h.traces()[1];
    EXPECT_TRUE(root.complete);
    EXPECT_EQ(root.spans.size(), 1u);
    EXPECT_TRUE(well_formed(partial));
    EXPECT_FALSE(partial.complete);
    ASSERT_EQ(partial.spans.size(), 1u);
    EXPECT_TRUE(partial.spans[0].partial);
    EXPECT_EQ(partial.spans[0].parent_id, 0u);
    EXPECT_EQ(partial.spans[0].name, "?") << "its frame could not be read";
    ASSERT_EQ(partial.spans[0].suspends.size(), 1u);
    EXPECT_EQ(partial.spans[0].suspends[0].site.line, 7u);
    EXPECT_EQ(partial.spans[0].tids, (tids{T2}));
}

TEST(Assembler, ABranchBegunUnderAWhenAllNeverSeenGetsAPartialWhenAllAsItsParent) {
    harness h;
    h.symbols.add_frame_code(test_pid, WHEN_ALL, CODE_WHEN_ALL);
    h.play({
        span_begin(T1, BRANCH_1, WHEN_ALL, 0).code(CODE_BRANCH_1),
        end(T1, BRANCH_1),
        join(T1, BRANCH_1, WHEN_ALL),
        resume(T1, WHEN_ALL),
        end(T1, WHEN_ALL),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_FALSE(t.complete);
    ASSERT_EQ(span_names(t), (names{"when_all", "lookup_stock(int)"}));
    EXPECT_TRUE(t.spans[0].partial);
    EXPECT_FALSE(t.spans[1].partial);
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    ASSERT_EQ(t.links.size(), 1u);
    EXPECT_EQ(t.links[0].kind, link_kind::join);
    EXPECT_EQ(t.links[0].from, t.spans[1].id);
    EXPECT_EQ(t.links[0].to, t.spans[0].id);
}

TEST(Assembler, ACancelledEndOfAFrameNeverBegunIsIgnoredSilently) {
    // A task created and destroyed without ever being awaited: no span at all.
    harness h;
    h.play({end(T1, CHILD, COTRACE_STATUS_CANCELLED)});
    EXPECT_TRUE(h.traces().empty());
    EXPECT_EQ(h.assembler().open_traces(), 0u);
    EXPECT_EQ(h.summary().spans, 0u);
    EXPECT_EQ(h.summary().unattributed, 0u);
    EXPECT_EQ(h.summary().events, 1u);
}

// DESIGN.md §6: "Events for spans never begun (attached mid-flight) create
// partial spans" -- also an end: a request running when the collector
// attached that finishes without suspending again still shows.
TEST(Assembler, AnEndOfAFrameNeverBegunIsAPartialSpanOfAnIncompleteTrace) {
    harness h;
    h.symbols.add_frame_code(test_pid, ROOT, CODE_ROOT);
    h.play({end(T1, ROOT, COTRACE_STATUS_OK).at(5000)});
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_FALSE(t.complete);
    ASSERT_EQ(t.spans.size(), 1u);
    EXPECT_TRUE(t.spans[0].partial);
    EXPECT_EQ(t.spans[0].status, span_status::ok);
    EXPECT_EQ(t.spans[0].end_ns, 5000u);
}

// ---- timestamps slightly out of order across threads --------------------------

TEST(Assembler, AResumeStampedBeforeTheSuspendItFollowsGivesNoNegativeDuration) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(1000),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(2000),
        suspend(T1, CHILD, IO_SITE).at(2100),
        resume(T2, CHILD).at(2099),  // on a CPU whose clock is 1 ns behind
        end(T2, CHILD).at(2098),
        end(T2, ROOT).at(2097),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    for (const auto& s : t.spans) {
        EXPECT_GE(s.end_ns, s.start_ns) << s.name;
        for (const auto& su : s.suspends) EXPECT_GE(su.end_ns, su.start_ns) << s.name;
    }
    EXPECT_GE(t.end_ns, t.start_ns);
}

// A suspended coroutine destroyed from another CPU whose clock is 1 ns
// behind: its suspension must not end before it starts.
TEST(Assembler, AnEndStampedBeforeTheSuspendItFollowsGivesNoNegativeSuspension) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(1000),
        suspend(T1, ROOT, IO_SITE).at(2000),
        end(T2, ROOT, COTRACE_STATUS_CANCELLED).at(1999),  // destroyed while suspended
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    ASSERT_EQ(t.spans[0].suspends.size(), 1u);
    EXPECT_GE(t.spans[0].suspends[0].end_ns, t.spans[0].suspends[0].start_ns);
}

// ---- drops --------------------------------------------------------------------

TEST(Assembler, TheDropTotalGoesToTheSummaryAndNeverGoesBack) {
    harness h;
    h.assembler().on_drops(0);
    EXPECT_EQ(h.summary().drops, 0u);
    h.assembler().on_drops(5);
    h.assembler().on_drops(3);  // a running total never goes back
    EXPECT_EQ(h.summary().drops, 5u);
}

// Where events were lost is in the stream: the thread's next event is marked.
// The trace that thread was running misses its child's end: incomplete. A
// trace on another thread, open all along, lost nothing. The thread's next
// request is whole again, and a root of its own, not nested under the spans
// whose ends were lost.
TEST(Assembler, AfterALossTheTracesTheThreadWasRunningAreIncompleteAndItsNextRequestIsWhole) {
    harness h(traced_from_start());
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
        suspend(T2, OTHER, IO_SITE),
        // lost here: end(T1, CHILD)
        end(T1, ROOT).after_loss(),
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT_B, AWAIT_CHILD_SITE, CHILD_B).code(CODE_CHILD),
        end(T1, CHILD_B),
        end(T1, ROOT_B),
        resume(T2, OTHER),
        end(T2, OTHER),
    });
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 3u);
    std::size_t complete = 0;
    for (const auto& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        complete += t.complete;
        EXPECT_EQ(t.spans[0].parent_id, 0u);
    }
    EXPECT_EQ(complete, 2u);
    EXPECT_EQ(h.traces()[0].spans.size(), 2u);  // ROOT_B and its child
    EXPECT_TRUE(h.traces()[0].complete);
    EXPECT_EQ(h.traces()[1].spans[0].name, "other(int)");
    EXPECT_TRUE(h.traces()[1].complete);
    EXPECT_EQ(h.traces()[2].spans[0].name, "handle_request(int)");  // flushed: its child never ended
    EXPECT_FALSE(h.traces()[2].complete);
}

// The lost events may have begun spans: a span begun after the loss with no
// explicit parent is not guessed into what the thread ran before; it roots a
// partial trace, until the thread is seen leaving what it ran at the loss.
TEST(Assembler, AfterALossASpanBegunBeforeTheThreadIsSeenIdleRootsAPartialTrace) {
    harness h(traced_from_start());
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        span_begin(T1, CHILD, 0, AWAIT_CHILD_SITE).code(CODE_CHILD).after_loss(),
        end(T1, CHILD),
        end(T1, ROOT),  // what T1 ran at the loss leaves it: T1 is known idle again
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_ROOT),
        end(T1, ROOT_B),
    });
    ASSERT_EQ(h.traces().size(), 3u);
    EXPECT_EQ(h.traces()[0].spans[0].name, "fetch_user(int)");
    EXPECT_TRUE(h.traces()[0].spans[0].partial);
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_EQ(h.traces()[1].spans[0].name, "handle_request(int)");
    EXPECT_FALSE(h.traces()[1].complete);
    EXPECT_TRUE(h.traces()[2].complete);
    for (const auto& t : h.traces()) EXPECT_TRUE(well_formed(t));
}

// A span resumed by a lost event: its trace is not on the thread's stack at
// the loss, but it is touched by the thread's events before it is seen idle.
TEST(Assembler, AfterALossATraceTheThreadTouchesBeforeItIsSeenIdleIsIncomplete) {
    harness h(traced_from_start());
    h.play({
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
        suspend(T2, OTHER, IO_SITE),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        // lost here: end(T1, ROOT), resume(T1, OTHER)
        end(T1, OTHER).after_loss(),
    });
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 2u);
    for (const auto& t : h.traces()) EXPECT_FALSE(t.complete) << t.spans[0].name;
}

// A lost begin that named its parent explicitly (a when_all branch, begun
// after its parent suspended there): the parent's trace would look whole
// without the branch. The next branch, begun after the gap on the same
// thread, names that parent: its trace is marked as missing events. The
// lost branch's own later events are a partial span of a trace of their own.
// (A branch lost on a thread where nothing after the gap names the parent
// is not caught: nothing there says which trace it belonged to.)
TEST(Assembler, AfterALossABranchBegunInTheGapLeavesItsParentsTraceIncompleteWhenTheNextBranchNamesIt) {
    harness h(traced_from_start());
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE),  // when_all: its branches name it as their parent
        // lost here: span_begin(T1, CHILD, ROOT, AWAIT_CHILD_SITE)
        span_begin(T1, CHILD_B, ROOT, AWAIT_CHILD_SITE).code(CODE_CHILD).after_loss(),
        end(T1, CHILD_B),
        end(T1, CHILD),
        resume(T1, ROOT),
        end(T1, ROOT),
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),  // a request after it is whole
        end(T1, ROOT_B),
    });
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 3u);
    const trace& branch = h.traces()[0];
    EXPECT_TRUE(branch.spans[0].partial);
    EXPECT_FALSE(branch.complete);
    const trace& when_all = h.traces()[1];
    EXPECT_EQ(span_names(when_all), (std::vector<std::string>{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_FALSE(when_all.complete) << "one of its branches began unseen";
    EXPECT_TRUE(h.traces()[2].complete);
    for (const auto& t : h.traces()) EXPECT_TRUE(well_formed(t));
}

// The span a lost end left running had its frame freed and reused by the
// next request: the new task is a new span, not the old one resumed, and the
// old trace, no longer waiting for an end that will not come, is emitted.
TEST(Assembler, AFrameReusedAfterItsEndWasLostBeginsANewSpan) {
    harness h(traced_from_start());
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        // lost here: end(T1, CHILD), end(T1, ROOT)
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER).after_loss(),
        suspend(T1, ROOT_B, AWAIT_CHILD_SITE, CHILD).code(CODE_GRANDCHILD),  // CHILD's memory, reused
        end(T1, CHILD),
        end(T1, ROOT_B),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),  // ROOT's memory, reused
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 3u);
    const trace& after = h.traces()[0];
    EXPECT_EQ(span_names(after), (std::vector<std::string>{"other(int)", "query(int)"}));
    EXPECT_FALSE(after.complete) << "begun while the thread's state was unknown";
    const trace& lost = h.traces()[1];
    EXPECT_EQ(span_names(lost), (std::vector<std::string>{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_FALSE(lost.complete);
    for (const auto& sp : lost.spans) EXPECT_EQ(sp.status, cotrace::span_status::running) << "its end is unknown";
    EXPECT_TRUE(h.traces()[2].complete);
    for (const auto& t : h.traces()) EXPECT_TRUE(well_formed(t));
}

// ---- bounds -------------------------------------------------------------------

TEST(Assembler, PastMaxOpenTracesTheOldestIsEvictedIncompleteAndItsLaterEventsArePartial) {
    cotrace::assembler_options options = traced_from_start();
    options.max_open_traces = 2;
    harness h(options);
    h.symbols.add_frame_code(test_pid, ROOT, CODE_ROOT);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, IO_SITE),
        span_begin(T2, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),
    });
    EXPECT_TRUE(h.traces().empty());
    h.play({span_begin(T3, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK)});  // a third trace
    ASSERT_EQ(h.traces().size(), 1u);
    {
        const trace& evicted = h.traces()[0];
        EXPECT_TRUE(well_formed(evicted));
        EXPECT_FALSE(evicted.complete);
        EXPECT_EQ(span_names(evicted), (names{"handle_request(int)"}));
        EXPECT_EQ(evicted.spans[0].status, span_status::running);
        EXPECT_EQ(evicted.spans[0].end_ns, 0u);
        ASSERT_EQ(evicted.spans[0].suspends.size(), 1u);
        EXPECT_EQ(evicted.spans[0].suspends[0].end_ns, 0u) << "still suspended when evicted";
    }
    EXPECT_EQ(h.summary().evicted_traces, 1u);
    EXPECT_EQ(h.summary().incomplete, 1u);
    EXPECT_EQ(h.assembler().open_traces(), 2u);
    EXPECT_EQ(h.assembler().open_spans(), 2u);

    h.play({
        end(T3, CALLBACK),
        end(T2, ROOT_B),
        resume(T1, ROOT),  // the evicted root: a partial span now
        annotation(T1, ROWS_TEXT, 1),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 4u);
    EXPECT_TRUE(h.traces()[1].complete);
    EXPECT_TRUE(h.traces()[2].complete);
    const trace& late = h.traces()[3];
    EXPECT_TRUE(well_formed(late));
    EXPECT_FALSE(late.complete);
    ASSERT_EQ(span_names(late), (names{"handle_request(int)"}));
    EXPECT_TRUE(late.spans[0].partial);
    EXPECT_NE(late.spans[0].id, h.traces()[0].spans[0].id);
    EXPECT_NE(late.id, h.traces()[0].id);
    EXPECT_EQ(late.spans[0].status, span_status::ok);
    EXPECT_EQ(late.spans[0].events.size(), 1u);
    EXPECT_EQ(h.summary().evicted_traces, 1u);
    EXPECT_EQ(h.summary().incomplete, 2u);
    EXPECT_EQ(h.assembler().open_traces(), 0u);
    EXPECT_EQ(h.assembler().open_spans(), 0u);
}

TEST(Assembler, PastMaxOpenSpansTheOldestTraceIsEvictedAndItsSpansAreNoLongerCounted) {
    cotrace::assembler_options options = traced_from_start();
    options.max_open_spans = 3;
    harness h(options);
    h.symbols.add_frame_code(test_pid, ROOT, CODE_ROOT).add_frame_code(test_pid, CHILD, CODE_CHILD);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        suspend(T1, CHILD, IO_SITE),
        span_begin(T2, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),
    });
    EXPECT_TRUE(h.traces().empty());
    EXPECT_EQ(h.assembler().open_spans(), 3u);
    h.play({suspend(T2, ROOT_B, AWAIT_GRANDCHILD_SITE, CHILD_B).code(CODE_GRANDCHILD)});  // a fourth span
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_EQ(h.summary().evicted_traces, 1u);
    EXPECT_EQ(h.assembler().open_traces(), 1u);
    EXPECT_EQ(h.assembler().open_spans(), 2u);

    h.play({
        resume(T1, CHILD),  // partial now
        end(T1, CHILD),     // hands nothing back: its awaiter was forgotten with the trace
        suspend(T1, ROOT, IO_SITE),  // the root, running again unseen: partial too, in its own trace
        resume(T1, ROOT),
        end(T1, ROOT),
        end(T2, CHILD_B),
        end(T2, ROOT_B),
    });
    ASSERT_EQ(h.traces().size(), 4u);
    for (const auto& t : h.traces()) EXPECT_TRUE(well_formed(t));
    EXPECT_EQ(span_names(h.traces()[1]), (names{"fetch_user(int)"}));
    EXPECT_TRUE(h.traces()[1].spans[0].partial);
    EXPECT_FALSE(h.traces()[1].complete);
    EXPECT_EQ(span_names(h.traces()[2]), (names{"handle_request(int)"}));
    EXPECT_TRUE(h.traces()[2].spans[0].partial);
    EXPECT_FALSE(h.traces()[2].complete);
    EXPECT_EQ(span_names(h.traces()[3]), (names{"other(int)", "query(int)"}));
    EXPECT_TRUE(h.traces()[3].complete);
    EXPECT_EQ(h.summary().evicted_traces, 1u);
    EXPECT_EQ(h.assembler().open_traces(), 0u);
    EXPECT_EQ(h.assembler().open_spans(), 0u);
}

TEST(Assembler, FlushEmitsEveryOpenTraceIncompleteInTheOrderTheyBegan) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        span_begin(T2, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),
        end(T2, ROOT_B),  // complete: emitted now
        span_begin(T3, OTHER, 0, MAIN_SITE).code(CODE_CALLBACK),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(h.traces()[0].complete);
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 3u);
    EXPECT_EQ(span_names(h.traces()[1]), (names{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_EQ(span_names(h.traces()[2]), (names{"on_callback(int)"}));
    for (std::size_t i = 1; i < 3; ++i) {
        EXPECT_TRUE(well_formed(h.traces()[i]));
        EXPECT_FALSE(h.traces()[i].complete);
        for (const auto& s : h.traces()[i].spans) EXPECT_EQ(s.status, span_status::running) << s.name;
    }
    EXPECT_EQ(h.summary().traces, 3u);
    EXPECT_EQ(h.summary().incomplete, 2u);
    EXPECT_EQ(h.summary().evicted_traces, 0u);
    EXPECT_EQ(h.assembler().open_traces(), 0u);
    EXPECT_EQ(h.assembler().open_spans(), 0u);
    h.assembler().flush();
    EXPECT_EQ(h.traces().size(), 3u) << "a second flush has nothing left";
}

// ---- memory stays bounded -----------------------------------------------------

class counting_consumer : public cotrace::trace_consumer {
public:
    void on_trace(const trace&) override { ++count; }
    std::size_t count = 0;
};

// Bytes the heap has handed out and not yet taken back (glibc).
std::int64_t heap_in_use() { return static_cast<std::int64_t>(mallinfo2().uordblks); }

// n short requests, each its own trace, one after another on T2.
void run_short_requests(cotrace::assembler& a, int n, std::uint64_t& ts) {
    for (int i = 0; i < n; ++i) {
        a.on_event(span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER).at(ts += 10));
        a.on_event(end(T2, OTHER).at(ts += 10));
    }
}

[[maybe_unused]] std::int64_t heap_growth_over_short_requests(bool with_long_lived_trace) {
    fake_symbols source;
    cotrace::symbol_cache cache(&source);
    counting_consumer out;
    cotrace::assembler a(cache, out, traced_from_start());
    std::uint64_t ts = 1000;
    if (with_long_lived_trace)  // e.g. a server's accept loop, open all session long
        a.on_event(span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(ts += 10));
    run_short_requests(a, 20'000, ts);  // warm up: every table at its working size
    const std::int64_t before = heap_in_use();
    run_short_requests(a, 200'000, ts);
    const std::int64_t growth = heap_in_use() - before;
    ::testing::Test::RecordProperty("heap_growth_bytes", std::to_string(growth));
    EXPECT_EQ(out.count, 220'000u);
    EXPECT_EQ(a.open_traces(), with_long_lived_trace ? 1u : 0u);
    return growth;
}

// Heap use is measured with glibc's mallinfo2(), which the sanitizers'
// allocator does not feed: these two exist in the plain build only.
#if !defined(__SANITIZE_ADDRESS__)
TEST(AssemblerMemory, ManyShortTracesLeaveTheHeapWhereItWas) {
    EXPECT_LT(heap_growth_over_short_requests(false), 64 * 1024);
}

// Memory stays bounded by what is open, even while the oldest trace (a
// server loop, say) never ends: nothing is kept per emitted trace.
TEST(AssemblerMemory, ManyShortTracesLeaveTheHeapWhereItWasWhileALongLivedTraceStaysOpen) {
    EXPECT_LT(heap_growth_over_short_requests(true), 64 * 1024);
}
#endif

// ---- the symbol cache ---------------------------------------------------------

TEST(SymbolCache, TheAssemblerResolvesEachAddressOncePerProcess) {
    harness h;
    for (int request = 0; request < 3; ++request)
        h.play({
            span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
            annotation(T1, ROWS_TEXT, request),
            suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
            suspend(T1, CHILD, IO_SITE),
            resume(T1, CHILD),
            suspend(T1, CHILD, IO_SITE),
            resume(T1, CHILD),
            end(T1, CHILD),
            end(T1, ROOT),
        });
    ASSERT_EQ(h.traces().size(), 3u);
    for (std::uint64_t addr : {MAIN_SITE, AWAIT_CHILD_SITE, IO_SITE, CODE_ROOT, CODE_CHILD, ROWS_TEXT})
        EXPECT_EQ((h.symbols.calls[{test_pid, addr}]), 1) << std::hex << addr;
    EXPECT_EQ(h.symbols.site_calls, 3);
    EXPECT_EQ(h.symbols.function_calls, 2);
    EXPECT_EQ(h.symbols.text_calls, 1);
    EXPECT_EQ(h.symbols.frame_code_calls, 0) << "every span's code came with its event";

    // Another process is asked separately.
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).in(harness::other_pid),
        end(T1, ROOT).in(harness::other_pid),
    });
    EXPECT_EQ((h.symbols.calls[{harness::other_pid, MAIN_SITE}]), 1);
    EXPECT_EQ((h.symbols.calls[{test_pid, MAIN_SITE}]), 1);
    EXPECT_EQ(h.symbols.site_calls, 4);
    EXPECT_EQ(h.traces().back().spans[0].site.line, 10u);
}

TEST(SymbolCache, PreloadedEntriesAreUsedWithoutAskingTheSourceAndNewOnesAreReported) {
    fake_symbols source;
    source.add_site(test_pid, MAIN_SITE, "main", "/src/main.cpp", 10);
    cotrace::symbol_cache cache(&source);
    cotrace::symbol_cache::entry preloaded;
    preloaded.name = "from_a_recording(int)";
    cache.insert({test_pid, cotrace::symbol_cache::kind::function, CODE_ROOT}, preloaded);

    std::vector<cotrace::symbol_cache::key> reported;
    cache.set_listener([&](const cotrace::symbol_cache::key& k, const cotrace::symbol_cache::entry&) {
        reported.push_back(k);
    });
    EXPECT_EQ(cache.function(test_pid, CODE_ROOT), "from_a_recording(int)");
    EXPECT_EQ(source.function_calls, 0);
    EXPECT_EQ(cache.site(test_pid, MAIN_SITE).line, 10u);
    EXPECT_EQ(cache.site(test_pid, MAIN_SITE).file, "/src/main.cpp");
    EXPECT_EQ(source.site_calls, 1);
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_EQ(std::get<1>(reported[0]), cotrace::symbol_cache::kind::site);

    // Without a source (a replay), unknown addresses resolve to nothing.
    cotrace::symbol_cache empty;
    EXPECT_FALSE(empty.site(test_pid, MAIN_SITE).known());
    EXPECT_EQ(empty.text(test_pid, ROWS_TEXT), "");
    EXPECT_FALSE(empty.frame_code(test_pid, ROOT).has_value());
}

}  // namespace

// ---- attached to a running process ---------------------------------------------

// Attached mid-flight, a thread may be inside a request begun before: a span
// begun there with no current span may be a fragment of it, so it is marked
// partial (its trace incomplete) -- until the thread is seen leaving its spans.
TEST(Assembler, AttachedMidFlightARootOnAThreadNotYetSeenIdleIsPartialAndTheNextOneIsNot) {
    harness h(cotrace::assembler_options{});  // attach: thread states unknown
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        end(T1, ROOT),  // T1 is now seen outside every span
        span_begin(T1, CHILD, 0, MAIN_SITE).code(CODE_CHILD),
        end(T1, CHILD),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_TRUE(h.traces()[0].spans[0].partial);
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_FALSE(h.traces()[1].spans[0].partial);
    EXPECT_TRUE(h.traces()[1].complete);
    for (const auto& t : h.traces()) EXPECT_TRUE(well_formed(t));
}

TEST(Assembler, AttachedMidFlightAScopeOrSpawnOnAThreadNotYetSeenIdleIsPartial) {
    harness h(cotrace::assembler_options{});
    h.play({
        scope_begin(T1, SCOPE, PARSE_SCOPE_SITE),  // inside a request begun before attach?
        end(T1, SCOPE),
        spawn(T2, BACKGROUND).code(CODE_BACKGROUND),
        resume(T3, BACKGROUND),
        end(T3, BACKGROUND),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    for (const auto& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        EXPECT_FALSE(t.complete);
        EXPECT_TRUE(t.spans[0].partial);
    }
}

TEST(Assembler, TracedFromTheStartARootOnANewThreadIsComplete) {
    harness h;  // traced_from_start()
    h.play({span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT), end(T1, ROOT)});
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(h.traces()[0].complete);
    EXPECT_FALSE(h.traces()[0].spans[0].partial);
}

namespace {

// ---- asynchronous work a span suspends for -----------------------------------------
// An Asio coroutine's co_await: suspend(session, site, 0), then the operation
// begins as the session's child (async_begin with an explicit parent); it
// takes the site and stands for the wait (the wait is not kept twice).

TEST(Assembler, AsyncWorkBegunUnderASpanJustSuspendedTakesTheSuspensionsSite) {
    harness h;
    constexpr std::uint64_t session = std::uint64_t{1} << 62 | 1, op = std::uint64_t{1} << 62 | 2;
    h.play({
        make_event(COTRACE_EV_async_begin, T1, session, COTRACE_PARENT_NONE, ROWS_TEXT),
        resume(T1, session),
        suspend(T1, session, AWAIT_GRANDCHILD_SITE),
        make_event(COTRACE_EV_async_begin, T1, op, session, BYTES_TEXT),
        end(T1, op),
        resume(T1, session),
        end(T1, session),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_TRUE(t.complete);
    ASSERT_EQ(span_names(t), (names{"rows", "bytes"}));
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    EXPECT_EQ(t.spans[1].site.line, 57u);
    // The wait stays a suspension of the parent: when it does not run.
    ASSERT_EQ(t.spans[0].suspends.size(), 1u);
    EXPECT_EQ(t.spans[0].suspends[0].site.line, 57u);
}

}  // namespace
