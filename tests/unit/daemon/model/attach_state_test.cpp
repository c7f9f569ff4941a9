// The assembler on the collector's own records: each thread's state at
// attach (thread_idle, thread_in_span, thread_suspending), gaps while objects were loading,
// thread and process names; and times at the edges of the clock.

#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "support/harness.hpp"

namespace {

using namespace cotrace_test;
using cotrace::span_status;
using cotrace::trace;
using names = std::vector<std::string>;
using tids = std::vector<std::uint32_t>;

// Attached to a running process (not `run`): thread states come from the stream.
cotrace::assembler_options attached() { return cotrace::assembler_options{}; }

TEST(AttachState, AThreadReportedInsideASpanGivesItsNewSpansAPartialParentNeverARoot) {
    harness h(attached());
    h.play({
        thread_in_span(T1, CODE_ROOT),
        span_begin(T1, CHILD, 0, AWAIT_CHILD_SITE).code(CODE_CHILD),  // begun under the request in flight
        end(T1, CHILD),
        suspend(T1, ROOT, IO_SITE),  // the thread names the frame it was in: the same span
        resume(T1, ROOT),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    EXPECT_FALSE(t.complete) << "it began before attach";
    ASSERT_EQ(span_names(t), (names{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_TRUE(t.spans[0].partial);
    EXPECT_FALSE(t.spans[1].partial) << "its own beginning was seen";
    EXPECT_EQ(t.spans[1].parent_id, t.spans[0].id);
    EXPECT_EQ(t.spans[0].status, span_status::ok);
    EXPECT_EQ(t.spans[0].suspends.size(), 1u);
    EXPECT_EQ(h.summary().spans, 2u) << "the placeholder and its frame are one span";
}

// The census names a thread's span after the innermost coroutine return
// address on its stack, which can be left over from a function that already
// returned. Once the span's frame shows, its own resume function names it.
TEST(AttachState, APlaceholderTakesTheNameOfItsFrameOverTheCensusGuess) {
    harness h(attached());
    h.symbols.add_frame_code(test_pid, ROOT, CODE_ROOT);
    h.play({
        thread_in_span(T1, CODE_OTHER),  // a stale return address
        suspend(T1, ROOT, IO_SITE),
        resume(T1, ROOT),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"handle_request(int)"}));
    EXPECT_TRUE(h.traces()[0].spans[0].partial);
}

TEST(AttachState, APlaceholderKeepsTheCensusNameWhenItsFrameCannotBeNamed) {
    harness h(attached());
    h.symbols.add_frame_code(test_pid, ROOT, 0x7777);  // in no known function
    h.play({thread_in_span(T1, CODE_OTHER), suspend(T1, ROOT, IO_SITE), resume(T1, ROOT), end(T1, ROOT)});
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"other(int)"}));
}

// The census can catch a thread just after its span's end probe, before it
// returns: the thread then begins every later request under a span that will
// never show again. Past the first, the guess is dropped: the next request
// is a partial root, and once it leaves the thread, requests are whole again.
TEST(AttachState, APlaceholderThatNeverShowsStopsAdoptingRequestsAfterTheFirst) {
    harness h(attached());
    h.play({
        thread_in_span(T1, CODE_ROOT),
        span_begin(T1, CHILD, 0, MAIN_SITE).code(CODE_CHILD),
        end(T1, CHILD),
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),
        end(T1, ROOT_B),
        span_begin(T1, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
        end(T1, OTHER),
    });
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 3u);
    EXPECT_EQ(span_names(h.traces()[0]), (names{"other(int)"}));
    EXPECT_TRUE(h.traces()[0].spans[0].partial);
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_EQ(span_names(h.traces()[1]), (names{"other(int)"}));
    EXPECT_TRUE(h.traces()[1].complete);
    EXPECT_EQ(span_names(h.traces()[2]), (names{"handle_request(int)", "fetch_user(int)"}));
    EXPECT_FALSE(h.traces()[2].complete);
    for (const trace& t : h.traces()) EXPECT_TRUE(well_formed(t));
}

TEST(AttachState, OnceThreadStatesAreKnownAThreadNotReportedInASpanRootsCompleteTraces) {
    harness h(attached());
    h.play({
        thread_idle(T1),
        thread_in_span(T2, CODE_OTHER),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),  // reported idle
        end(T1, ROOT),
        span_begin(T3, ROOT_B, 0, MAIN_SITE).code(CODE_CALLBACK),  // created after attach: idle too
        end(T3, ROOT_B),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    for (const trace& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        EXPECT_TRUE(t.complete) << t.spans[0].name;
        EXPECT_FALSE(t.spans[0].partial);
    }
    EXPECT_EQ(h.summary().events, 4u) << "collector records are not probe events";
    EXPECT_EQ(h.summary().unattributed, 0u);
}

// A context captured before attach (its capture never seen) and entered on
// a thread that was idle then: what it carries is a request begun before
// attach, so work begun in it is a fragment of that request, not a root.
TEST(AttachState, ASpanBegunInAContextCapturedBeforeAttachIsPartialUntilTheContextExits) {
    harness h(attached());
    h.play({
        thread_idle(T2),
        context_enter(T2, TOKEN),  // captured before attach
        span_begin(T2, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK),
        end(T2, CALLBACK),
        context_exit(T2, TOKEN),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER),  // after the exit: a root again
        end(T2, OTHER),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& in_context = h.traces()[0];
    const trace& after = h.traces()[1];
    EXPECT_EQ(span_names(in_context), (names{"on_callback(int)"}));
    EXPECT_TRUE(in_context.spans[0].partial) << "its parent began before attach";
    EXPECT_FALSE(in_context.complete);
    EXPECT_EQ(span_names(after), (names{"other(int)"}));
    EXPECT_FALSE(after.spans[0].partial);
    EXPECT_TRUE(after.complete);
}

TEST(AttachState, WithoutThreadStateRecordsAThreadOfUnknownStateStillBeginsPartialSpans) {
    harness h(attached());
    h.play({span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT), end(T1, ROOT)});
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(h.traces()[0].spans[0].partial);
    EXPECT_FALSE(h.traces()[0].complete);
}

TEST(AttachState, APlaceholderIsBoundToTheFirstUnknownFrameItsThreadEnds) {
    harness h(attached());
    h.play({thread_in_span(T1, 0), end(T1, ROOT)});
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(well_formed(t));
    ASSERT_EQ(t.spans.size(), 1u);
    EXPECT_EQ(t.spans[0].name, "?") << "no code address: unnamed";
    EXPECT_TRUE(t.spans[0].partial);
    EXPECT_EQ(t.spans[0].status, span_status::ok);
    EXPECT_EQ(t.spans[0].tids, (tids{T1}));
}

// Caught at the edge of a suspension, where its frames do not show whether
// the coroutine's suspend probe had fired: the thread may be back in what
// resumed the coroutine (here sync_wait, beginning the next request) or
// still in the coroutine. The next request is neither nested under anything
// nor passed off as a complete root; once the thread names what runs (the
// request's end), the one after it is a root.
TEST(AttachState, AThreadWhoseStateCouldNotBeToldPlacesNothingItBeginsUntilItNamesWhatRuns) {
    harness h(attached());
    h.symbols.add_frame_code(test_pid, ROOT, CODE_ROOT);
    h.play({
        thread_unknown(T1, CODE_ROOT),
        span_begin(T1, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),  // the next request
        end(T1, ROOT_B),
        span_begin(T1, OTHER, 0, MAIN_SITE).code(CODE_OTHER),  // and the one after
        end(T1, OTHER),
        resume(T2, ROOT),  // the coroutine runs again elsewhere
        end(T2, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 3u);
    for (const trace& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        ASSERT_EQ(t.spans.size(), 1u) << "nothing nests under anything: " << t.spans[0].name;
    }
    EXPECT_EQ(h.traces()[0].spans[0].name, "other(int)");
    EXPECT_TRUE(h.traces()[0].spans[0].partial) << "it may have been begun inside the coroutine";
    EXPECT_FALSE(h.traces()[0].complete);
    EXPECT_EQ(h.traces()[1].spans[0].name, "other(int)");
    EXPECT_TRUE(h.traces()[1].complete);
    EXPECT_EQ(h.traces()[2].spans[0].name, "handle_request(int)");
    EXPECT_TRUE(h.traces()[2].spans[0].partial);
}

// The census found handle_request running on the thread's live frames, but
// the first frame the thread names is another coroutine's (a child it had
// just started, unseen): that frame is not handle_request's, and what runs
// on the thread after that child is unknown (its awaiter may go on there).
TEST(AttachState, AFrameOfAnotherCoroutineIsNotTakenForTheOneFoundRunning) {
    harness h(attached());
    h.symbols.add_frame_code(test_pid, WHEN_ALL, CODE_WHEN_ALL);
    h.play({
        thread_in_span_unwound(T1, CODE_ROOT),
        span_begin(T1, BRANCH_1, WHEN_ALL, WHEN_ALL_INNER_SITE).code(CODE_BRANCH_1),
        end(T1, BRANCH_1),
        end(T1, WHEN_ALL),
        span_begin(T1, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
        end(T1, OTHER),
    });
    h.assembler().flush();
    std::map<std::string, const trace*> by_root;
    for (const trace& t : h.traces()) {
        EXPECT_TRUE(well_formed(t));
        by_root[std::string(t.spans[0].name)] = &t;
    }
    ASSERT_EQ(by_root.size(), 3u);
    ASSERT_TRUE(by_root.count("when_all") && by_root.count("other(int)") && by_root.count("handle_request(int)"));
    EXPECT_EQ(span_names(*by_root.at("when_all")), (names{"when_all", "lookup_stock(int)"}));
    EXPECT_TRUE(by_root.at("when_all")->spans[0].partial);
    EXPECT_EQ(span_names(*by_root.at("handle_request(int)")), (names{"handle_request(int)"}))
        << "the placeholder keeps nothing that is not its own";
    EXPECT_FALSE(by_root.at("handle_request(int)")->complete);
    EXPECT_TRUE(by_root.at("other(int)")->spans[0].partial) << "when_all's awaiter may have begun it";
    EXPECT_FALSE(by_root.at("other(int)")->complete);
}

// A span first seen at its end, on a thread with nothing else known: what
// awaited it (begun before attach) may go on running there, unseen, by
// symmetric transfer. A context captured there then carries that unknown
// span: work begun in it is a fragment, not a complete root.
TEST(AttachState, AContextCapturedAfterASpanFirstSeenAtItsEndCarriesAnUnknownSpan) {
    harness h(attached());
    h.play({
        thread_idle(T1),
        thread_idle(T2),
        end(T1, CHILD),  // begun before attach
        context_capture(T1, TOKEN),
        context_enter(T2, TOKEN),
        span_begin(T2, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK),
        end(T2, CALLBACK),
        context_exit(T2, TOKEN),
        suspend(T1, ROOT, IO_SITE),  // the thread names what runs there
        context_capture(T1, TOKEN + 1),
        context_enter(T2, TOKEN + 1),
        span_begin(T2, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
        end(T2, OTHER),
        context_exit(T2, TOKEN + 1),
    });
    h.assembler().flush();
    std::map<std::string, const trace*> by_root;
    for (const trace& t : h.traces()) by_root[std::string(t.spans[0].name)] = &t;
    ASSERT_TRUE(by_root.count("on_callback(int)"));
    EXPECT_TRUE(by_root.at("on_callback(int)")->spans[0].partial);
    EXPECT_FALSE(by_root.at("on_callback(int)")->complete);
    ASSERT_TRUE(by_root.count("other(int)"));
    EXPECT_TRUE(by_root.at("other(int)")->complete) << "captured after the thread was known again (with nothing current)";
}

// A context that outlives its span's trace (emitted already, here because
// the span it stood for was given up as another's): work run in it belongs
// to that trace, so it is a fragment, not a complete root.
TEST(AttachState, WorkInAContextWhoseSpanIsGoneIsAFragmentNotARoot) {
    harness h(attached());
    h.play({
        thread_idle(T1),
        thread_idle(T2),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        context_capture(T1, TOKEN),
        end(T1, ROOT),  // its trace is emitted
        context_enter(T2, TOKEN),
        span_begin(T2, CALLBACK, 0, MAIN_SITE).code(CODE_CALLBACK),
        end(T2, CALLBACK),
        context_exit(T2, TOKEN),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_TRUE(h.traces()[0].complete);
    EXPECT_EQ(span_names(h.traces()[1]), (names{"on_callback(int)"}));
    EXPECT_TRUE(h.traces()[1].spans[0].partial);
    EXPECT_FALSE(h.traces()[1].complete);
}

TEST(AttachState, AnObjectsGapMarksEveryTraceOpenInItIncomplete) {
    harness h;
    h.play({span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(2000)});
    h.play({objects_gap(1500).at(3000)});
    h.play({
        end(T1, ROOT),
        span_begin(T2, ROOT_B, 0, MAIN_SITE).code(CODE_OTHER),  // begun after the gap
        end(T2, ROOT_B),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    EXPECT_FALSE(h.traces()[0].complete) << "events may be missing";
    EXPECT_TRUE(h.traces()[1].complete);
    EXPECT_EQ(h.summary().events, 4u);
}

TEST(AttachState, ThreadAndProcessNamesNameTheTracesThatRanThere) {
    harness h;
    h.play({
        process_name("demo-server-with-a-long-name"),  // cut to 24 bytes
        thread_name(T1, "acceptor"),
        thread_name(T2, "worker-1"),
        thread_name(T3, "unused"),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, IO_SITE),
        resume(T2, ROOT),
        end(T2, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_EQ(t.process_name, "demo-server-with-a-long-");
    ASSERT_EQ(t.thread_names.size(), 2u);
    EXPECT_EQ(t.thread_names[0].tid, T1);
    EXPECT_EQ(t.thread_names[0].name, "acceptor");
    EXPECT_EQ(t.thread_names[1].tid, T2);
    EXPECT_EQ(t.thread_names[1].name, "worker-1");
    EXPECT_EQ(h.summary().events, 4u);
}

// ---- the clock's edges ----------------------------------------------------------

TEST(AssemblerClock, ACraftedTimestampWrapsInsteadOfOverflowing) {
    cotrace::assembler_options options = traced_from_start();
    options.clock_offset_ns = std::numeric_limits<std::int64_t>::max();
    harness h(options);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(std::numeric_limits<std::uint64_t>::max() - 5),
        end(T1, ROOT).at(std::numeric_limits<std::uint64_t>::max()),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    EXPECT_TRUE(well_formed(h.traces()[0]));
    EXPECT_EQ(h.traces()[0].spans[0].status, span_status::ok);
}

TEST(AssemblerClock, ASpanEndingAtEpochZeroHasEndedAndIsNotRunning) {
    cotrace::assembler_options options = traced_from_start();
    options.clock_offset_ns = -5000;
    harness h(options);
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(5000),  // epoch 0
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(5000),
        end(T1, CHILD).at(5000),
        end(T1, ROOT).at(5000),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_TRUE(t.complete);
    for (const auto& s : t.spans) {
        EXPECT_EQ(s.status, span_status::ok) << s.name;
        EXPECT_EQ(s.end_ns, 0u);
    }
    EXPECT_EQ(t.spans[0].tids, (tids{T1})) << "resumed after its child, at epoch 0 too";
    EXPECT_EQ(h.assembler().open_spans(), 0u);
}

}  // namespace
