// The probes the library fires, as the collector will see them: kinds,
// arguments, order and threads, through the COTRACE_TEST_SINK recorder.

#include <gtest/gtest.h>

#include <cotrace/cotrace.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/helpers.hpp"
#include "support/recorder.hpp"

namespace {

using cotrace::sync_wait;
using cotrace::task;
using cotrace::thread_pool;
using namespace cotrace_test;

constexpr std::string_view kThisFile = "probes_test.cpp";

struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Probes : public ::testing::Test {
protected:
    void SetUp() override {
        recorder::set_active(true);
        recorder::clear();
    }
    void TearDown() override { recorder::set_active(true); }
};

// Checks the kind, arguments and thread of event #i (all of them, printed, on failure).
void expect_event(const events& evs, std::size_t i, std::uint16_t kind, std::uint64_t a0, std::uint64_t a1,
                  std::uint64_t a2, std::uint32_t tid) {
    ASSERT_LT(i, evs.size()) << describe(evs);
    const event& e = evs[i];
    EXPECT_EQ(kind_name(e.kind), kind_name(kind)) << "event #" << i << "\n" << describe(evs);
    EXPECT_EQ(e.args[0], a0) << "event #" << i << "\n" << describe(evs);
    EXPECT_EQ(e.args[1], a1) << "event #" << i << "\n" << describe(evs);
    EXPECT_EQ(e.args[2], a2) << "event #" << i << "\n" << describe(evs);
    EXPECT_EQ(e.tid, tid) << "event #" << i << "\n" << describe(evs);
}

// Index of the first event after #i recorded on thread `tid`, or npos.
std::size_t next_on_thread(const events& evs, std::size_t i, std::uint32_t tid) {
    for (std::size_t j = i + 1; j < evs.size(); ++j)
        if (evs[j].tid == tid) return j;
    return npos;
}

task<int> leaf(int x) { co_return x * 2; }

task<int> parent_of_leaf(int x, std::uint32_t& tid_after_await) {
    int v = co_await leaf(x);
    tid_after_await = this_tid();
    co_return v + 1;
}

// Awaiting a task is one probe: suspend(parent, site, child). The child's
// first run (at once, on this thread) and the parent's return (on the thread
// where the child ends) are implied by the protocol, not probed.
TEST_F(Probes, AwaitingATaskEmitsOneSuspendNamingTheChildThenTheChildsEnd) {
    std::uint32_t tid_after_await = 0;
    EXPECT_EQ(sync_wait(parent_of_leaf(20, tid_after_await)), 41);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 4u) << describe(evs);
    const std::uint32_t tid = this_tid();
    const std::uint64_t parent = evs[0].args[0];
    const std::uint64_t child = evs[1].args[2];
    ASSERT_NE(parent, 0u);
    ASSERT_NE(child, 0u);
    ASSERT_NE(child, parent);
    expect_event(evs, 0, COTRACE_EV_span_begin, parent, 0, evs[0].args[2], tid);
    expect_event(evs, 1, COTRACE_EV_suspend, parent, evs[1].args[1], child, tid);
    expect_event(evs, 2, COTRACE_EV_end, child, COTRACE_STATUS_OK, 0, tid);
    expect_event(evs, 3, COTRACE_EV_end, parent, COTRACE_STATUS_OK, 0, tid);
    EXPECT_EQ(tid_after_await, evs[2].tid);  // the parent ran again where the child ended
    for (const event& e : evs) {
        EXPECT_EQ(e.pid, static_cast<std::uint32_t>(getpid()));
        EXPECT_NE(e.ts_ns, 0u);
    }
    for (std::size_t i = 1; i < evs.size(); ++i) EXPECT_LE(evs[i - 1].ts_ns, evs[i].ts_ns);
}

task<int> child_hops(thread_pool& pool, std::uint32_t& tid_at_start) {
    tid_at_start = this_tid();
    co_await pool.schedule();
    co_return static_cast<int>(this_tid());
}

task<int> parent_of_hopping_child(thread_pool& pool, std::uint32_t& child_tid_at_start,
                                  std::uint32_t& tid_after_await) {
    int v = co_await child_hops(pool, child_tid_at_start);
    tid_after_await = this_tid();
    co_return v;
}

// What the collector infers from the single suspend probe holds in the
// library: the child starts on the awaiting thread, and the parent continues
// on the thread where the child ended.
TEST_F(Probes, ChildThatHopsThreadsEndsWhereItsParentRunsAgain) {
    std::uint32_t child_tid_at_start = 0, tid_after_await = 0;
    int worker_tid = 0;
    {
        thread_pool pool{1};
        worker_tid = sync_wait(parent_of_hopping_child(pool, child_tid_at_start, tid_after_await));
    }
    const std::uint32_t tid = this_tid();
    const auto worker = static_cast<std::uint32_t>(worker_tid);
    ASSERT_NE(worker, tid);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 7u) << describe(evs);
    const std::uint64_t parent = evs[0].args[0];
    const std::uint64_t child = evs[1].args[2];
    expect_event(evs, 0, COTRACE_EV_span_begin, parent, 0, evs[0].args[2], tid);
    expect_event(evs, 1, COTRACE_EV_suspend, parent, evs[1].args[1], child, tid);
    expect_event(evs, 2, COTRACE_EV_suspend, child, evs[2].args[1], 0, tid);
    expect_event(evs, 3, COTRACE_EV_link, child, child, COTRACE_LINK_WAKE, tid);  // the hop wakes itself
    expect_event(evs, 4, COTRACE_EV_resume, child, 0, 0, worker);
    expect_event(evs, 5, COTRACE_EV_end, child, COTRACE_STATUS_OK, 0, worker);
    expect_event(evs, 6, COTRACE_EV_end, parent, COTRACE_STATUS_OK, 0, worker);
    EXPECT_EQ(child_tid_at_start, tid);
    EXPECT_EQ(tid_after_await, worker);
}

task<int> failing_leaf() {
    throw test_error("leaf failed");
    co_return 0;
}

task<int> rethrows_child() { co_return co_await failing_leaf(); }

task<int> catches_child() {
    try {
        co_await failing_leaf();
    } catch (const test_error&) {
        co_return -1;
    }
    co_return 0;
}

TEST_F(Probes, EndStatusIsExceptionForEverySpanTheExceptionLeaves) {
    EXPECT_THROW(sync_wait(rethrows_child()), test_error);
    const events evs = recorder::snapshot();
    const events suspends = of_kind(evs, COTRACE_EV_suspend);
    ASSERT_EQ(suspends.size(), 1u) << describe(evs);
    const std::uint64_t parent = suspends[0].args[0];
    const std::uint64_t child = suspends[0].args[2];
    const events ends = of_kind(evs, COTRACE_EV_end);
    ASSERT_EQ(ends.size(), 2u) << describe(evs);
    EXPECT_EQ(ends[0].args[0], child);
    EXPECT_EQ(ends[0].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_EXCEPTION));
    EXPECT_EQ(ends[1].args[0], parent);
    EXPECT_EQ(ends[1].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_EXCEPTION));
}

TEST_F(Probes, EndStatusIsOkForAParentThatCatchesItsChildsException) {
    EXPECT_EQ(sync_wait(catches_child()), -1);
    const events evs = recorder::snapshot();
    const events suspends = of_kind(evs, COTRACE_EV_suspend);
    ASSERT_EQ(suspends.size(), 1u) << describe(evs);
    const events ends = of_kind(evs, COTRACE_EV_end);
    ASSERT_EQ(ends.size(), 2u) << describe(evs);
    EXPECT_EQ(ends[0].args[0], suspends[0].args[2]);
    EXPECT_EQ(ends[0].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_EXCEPTION));
    EXPECT_EQ(ends[1].args[0], suspends[0].args[0]);
    EXPECT_EQ(ends[1].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_OK));
}

task<int> parks_forever(parking_lot& lot) {
    co_await lot;
    co_return 1;
}

task<int> awaits_parked_child(parking_lot& lot) { co_return co_await parks_forever(lot); }

// Starts a task from plain code without waiting for it: it runs until its
// first suspension. (Not how a traced program starts one: that is sync_wait,
// which also begins the span.)
template <class T>
std::uint64_t start_by_hand(task<T>& t) {
    auto awaiter = t.operator co_await();
    awaiter.await_suspend(std::noop_coroutine()).resume();
    return addr(awaiter.traced_child());
}

TEST_F(Probes, TaskDestroyedWhileSuspendedEndsCancelledAndSoDoesTheChildItWaitsFor) {
    parking_lot lot;
    std::uint64_t parent = 0;
    {
        task<int> t = awaits_parked_child(lot);
        parent = start_by_hand(t);
        ASSERT_TRUE(lot.parked);
        const events before = recorder::snapshot();
        EXPECT_TRUE(of_kind(before, COTRACE_EV_end).empty()) << describe(before);
    }
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 4u) << describe(evs);
    const std::uint32_t tid = this_tid();
    const std::uint64_t child = evs[0].args[2];
    ASSERT_NE(child, 0u);
    expect_event(evs, 0, COTRACE_EV_suspend, parent, evs[0].args[1], child, tid);
    expect_event(evs, 1, COTRACE_EV_suspend, child, evs[1].args[1], 0, tid);
    for (std::uint64_t span : {parent, child}) {
        const auto ends = find_all(evs, COTRACE_EV_end, span);
        ASSERT_EQ(ends.size(), 1u) << describe(evs);
        EXPECT_EQ(evs[ends[0]].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_CANCELLED)) << describe(evs);
        EXPECT_EQ(evs[ends[0]].tid, tid);
    }
}

task<int> awaits_at_known_lines(int& first_line, int& second_line) {
    int a = co_await leaf(1); first_line = __LINE__;
    int b = co_await leaf(2); second_line = __LINE__;
    co_return a + b;
}

TEST_F(Probes, SuspendSiteIsTheFileAndLineOfTheCoAwait) {
    int first_line = 0, second_line = 0;
    EXPECT_EQ(sync_wait(awaits_at_known_lines(first_line, second_line)), 6);
    const events evs = recorder::snapshot();
    const events suspends = of_kind(evs, COTRACE_EV_suspend);
    ASSERT_EQ(suspends.size(), 2u) << describe(evs);
    const int lines[] = {first_line, second_line};
    for (int i = 0; i < 2; ++i) {
        ASSERT_NE(suspends[i].args[1], 0u);
        const cotrace_site& site = site_at(suspends[i].args[1]);
        ASSERT_NE(site.file, nullptr);
        EXPECT_TRUE(ends_with(site.file, kThisFile)) << site.file;
        EXPECT_EQ(site.line, static_cast<std::uint32_t>(lines[i]));
        ASSERT_NE(site.function, nullptr);
        EXPECT_NE(std::string_view(site.function).find("awaits_at_known_lines"), std::string_view::npos)
            << site.function;
    }
    EXPECT_NE(suspends[0].args[1], suspends[1].args[1]);
}

task<int> awaits_in_a_loop(int n) {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await leaf(i);
    co_return sum;
}

TEST_F(Probes, ASiteIsStaticDataSoTheSameCoAwaitPassesTheSamePointer) {
    EXPECT_EQ(sync_wait(awaits_in_a_loop(3)), 6);
    const events evs = recorder::snapshot();
    const events suspends = of_kind(evs, COTRACE_EV_suspend);
    ASSERT_EQ(suspends.size(), 3u) << describe(evs);
    EXPECT_EQ(suspends[0].args[1], suspends[1].args[1]);
    EXPECT_EQ(suspends[1].args[1], suspends[2].args[1]);
}

TEST_F(Probes, SyncWaitBeginsARootSpanAtItsCallSite) {
    const int line = __LINE__; const int v = sync_wait(leaf(2));
    EXPECT_EQ(v, 4);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    const std::uint64_t root = evs[0].args[0];
    ASSERT_NE(root, 0u);
    expect_event(evs, 0, COTRACE_EV_span_begin, root, 0, evs[0].args[2], this_tid());
    expect_event(evs, 1, COTRACE_EV_end, root, COTRACE_STATUS_OK, 0, this_tid());
    ASSERT_NE(evs[0].args[2], 0u);
    const cotrace_site& site = site_at(evs[0].args[2]);
    EXPECT_TRUE(ends_with(site.file, kThisFile)) << site.file;
    EXPECT_EQ(site.line, static_cast<std::uint32_t>(line));
}

task<void*> gated_child(thread_pool& pool, gate& g, bool& gate_opened) {
    void* self = co_await this_frame{};
    co_await pool.schedule();
    gate_opened = g.wait();
    co_return self;
}

task<std::pair<void*, void*>> fans_out(thread_pool& pool, gate& g, bool& ok1, bool& ok2, int& line,
                                       std::uint32_t& tid_after_await) {
    auto [a, b] = co_await cotrace::when_all(gated_child(pool, g, ok1), gated_child(pool, g, ok2)); line = __LINE__;
    tid_after_await = this_tid();
    co_return std::pair{a, b};
}

TEST_F(Probes, WhenAllBeginsEachChildUnderItsFrameAndTheLastChildToFinishJoinsIt) {
    const std::uint32_t main_tid = this_tid();
    gate g;
    bool ok1 = false, ok2 = false;
    int line = 0;
    std::uint32_t tid_after_await = 0;
    std::pair<void*, void*> children{};
    std::uint64_t parent = 0;
    task<std::pair<void*, void*>> t;
    {
        thread_pool pool{2};
        t = fans_out(pool, g, ok1, ok2, line, tid_after_await);
        // Runs on this thread until the when_all has started both children and
        // suspended; they cannot finish before that (they wait at the gate), so
        // the last one to finish does so on a pool thread.
        parent = start_by_hand(t);
        g.open();
        const events done = recorder::wait_until(
            [&](const events& e) { return find_first(e, COTRACE_EV_end, parent) != npos; });
        ASSERT_NE(find_first(done, COTRACE_EV_end, parent), npos) << describe(done);
        auto awaiter = t.operator co_await();
        ASSERT_TRUE(awaiter.await_ready());
        children = awaiter.await_resume();
    }
    EXPECT_TRUE(ok1);
    EXPECT_TRUE(ok2);
    const events evs = recorder::snapshot();

    // The parent's co_await names the when_all span it waits for.
    const auto parent_suspends = find_all(evs, COTRACE_EV_suspend, parent);
    ASSERT_EQ(parent_suspends.size(), 1u) << describe(evs);
    const event& await_when_all = evs[parent_suspends[0]];
    EXPECT_EQ(site_at(await_when_all.args[1]).line, static_cast<std::uint32_t>(line));
    EXPECT_EQ(await_when_all.tid, main_tid);
    const std::uint64_t when_all_frame = await_when_all.args[2];
    ASSERT_NE(when_all_frame, 0u);

    const std::uint64_t a = addr(children.first), b = addr(children.second);
    ASSERT_NE(a, 0u);
    ASSERT_NE(b, 0u);
    ASSERT_NE(a, b);
    std::size_t last_end = 0;
    for (std::uint64_t child : {a, b}) {
        const auto begins = find_all(evs, COTRACE_EV_span_begin, child);
        ASSERT_EQ(begins.size(), 1u) << describe(evs);
        expect_event(evs, begins[0], COTRACE_EV_span_begin, child, when_all_frame, 0, main_tid);
        // Nothing names the child before it begins, and it runs at once on
        // this thread: the thread's next event is the child's own first one
        // (its co_await this_frame). Other threads' events may come between.
        for (std::size_t i = 0; i < begins[0]; ++i)
            EXPECT_TRUE(evs[i].args[0] != child && evs[i].args[2] != child) << describe(evs);
        const std::size_t next = next_on_thread(evs, begins[0], main_tid);
        ASSERT_NE(next, npos) << describe(evs);
        expect_event(evs, next, COTRACE_EV_suspend, child, evs[next].args[1], 0, main_tid);
        const auto ends = find_all(evs, COTRACE_EV_end, child);
        ASSERT_EQ(ends.size(), 1u) << describe(evs);
        EXPECT_EQ(evs[ends[0]].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_OK));
        last_end = std::max(last_end, ends[0]);
    }

    std::vector<std::size_t> joins, self_wakes;
    for (std::size_t i = 0; i < evs.size(); ++i) {
        if (evs[i].kind != COTRACE_EV_link) continue;
        if (evs[i].args[2] == COTRACE_LINK_WAKE && evs[i].args[0] == evs[i].args[1])
            self_wakes.push_back(i);  // each child's hop to the pool
        else if (evs[i].args[2] == COTRACE_LINK_JOIN)
            joins.push_back(i);
    }
    ASSERT_EQ(self_wakes.size(), 2u) << describe(evs);
    EXPECT_NE(evs[self_wakes[0]].args[0], evs[self_wakes[1]].args[0]) << describe(evs);
    for (std::size_t i : self_wakes) EXPECT_TRUE(evs[i].args[0] == a || evs[i].args[0] == b) << describe(evs);
    ASSERT_EQ(joins.size(), 1u) << describe(evs);
    const event& join = evs[joins[0]];
    EXPECT_TRUE(join.args[0] == a || join.args[0] == b) << describe(evs);
    EXPECT_EQ(join.args[1], when_all_frame);
    EXPECT_EQ(join.args[2], static_cast<std::uint64_t>(COTRACE_LINK_JOIN));
    EXPECT_NE(join.tid, main_tid);
    EXPECT_GT(joins[0], last_end) << describe(evs);
    // The joining child wakes the when_all span, and its thread resumes it.
    const std::size_t wake = next_on_thread(evs, joins[0], join.tid);
    ASSERT_NE(wake, npos) << describe(evs);
    expect_event(evs, wake, COTRACE_EV_link, join.args[0], when_all_frame, COTRACE_LINK_WAKE, join.tid);
    const std::size_t after_join = next_on_thread(evs, wake, join.tid);
    ASSERT_NE(after_join, npos) << describe(evs);
    expect_event(evs, after_join, COTRACE_EV_resume, when_all_frame, 0, 0, join.tid);
    // ...ends it there, and the parent runs again on that thread.
    const auto when_all_ends = find_all(evs, COTRACE_EV_end, when_all_frame);
    ASSERT_EQ(when_all_ends.size(), 1u) << describe(evs);
    EXPECT_EQ(evs[when_all_ends[0]].tid, join.tid);
    EXPECT_EQ(tid_after_await, join.tid);
}

task<std::uint32_t> hops_to(thread_pool& pool, std::uint32_t& tid_before, int& line) {
    tid_before = this_tid();
    co_await pool.schedule(); line = __LINE__;
    co_return this_tid();
}

TEST_F(Probes, ScheduleSuspendsOnTheCallersThreadAndResumesOnAPoolThread) {
    std::uint32_t tid_before = 0, tid_after = 0;
    int line = 0;
    {
        thread_pool pool{1};
        tid_after = sync_wait(hops_to(pool, tid_before, line));
    }
    ASSERT_EQ(tid_before, this_tid());
    ASSERT_NE(tid_after, tid_before);
    const events evs = recorder::snapshot();
    const std::uint64_t frame = evs.at(0).args[0];
    const auto suspends = find_all(evs, COTRACE_EV_suspend, frame);
    ASSERT_EQ(suspends.size(), 1u) << describe(evs);
    expect_event(evs, suspends[0], COTRACE_EV_suspend, frame, evs[suspends[0]].args[1], 0, tid_before);
    EXPECT_EQ(site_at(evs[suspends[0]].args[1]).line, static_cast<std::uint32_t>(line));
    // The hop wakes the span itself, on the caller's thread, for the resume on the pool's.
    expect_event(evs, suspends[0] + 1, COTRACE_EV_link, frame, frame, COTRACE_LINK_WAKE, tid_before);
    expect_event(evs, suspends[0] + 2, COTRACE_EV_resume, frame, 0, 0, tid_after);
}

task<void> spawned_body(bool& ran, std::uint32_t& tid) {
    ran = true;
    tid = this_tid();
    co_return;
}

TEST_F(Probes, SpawnLinksTheChildOnTheSpawningThreadBeforeTheChildFirstRuns) {
    bool ran = false;
    std::uint32_t child_tid = 0;
    std::uint64_t child = 0;
    {
        thread_pool pool{1};
        task<void> t = spawned_body(ran, child_tid);
        child = addr(cotrace::detail::task_access::handle(t).address());
        cotrace::spawn(pool, std::move(t));
    }  // joins the pool: the spawned task has finished
    EXPECT_TRUE(ran);
    const events evs = recorder::snapshot();
    std::vector<std::size_t> links;
    for (std::size_t i = 0; i < evs.size(); ++i)
        if (evs[i].kind == COTRACE_EV_link) links.push_back(i);
    ASSERT_EQ(links.size(), 2u) << describe(evs);
    expect_event(evs, links[0], COTRACE_EV_link, 0, child, COTRACE_LINK_SPAWN, this_tid());
    // The spawner (the span current here) wakes it for its first run on the pool.
    expect_event(evs, links[1], COTRACE_EV_link, 0, child, COTRACE_LINK_WAKE, this_tid());
    const std::size_t first_resume = find_first(evs, COTRACE_EV_resume, child);
    ASSERT_NE(first_resume, npos) << describe(evs);
    EXPECT_LT(links[1], first_resume);
    EXPECT_EQ(evs[first_resume].tid, child_tid);
    EXPECT_NE(child_tid, this_tid());
    const auto ends = find_all(evs, COTRACE_EV_end, child);
    ASSERT_EQ(ends.size(), 1u) << describe(evs);
    EXPECT_EQ(evs[ends[0]].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_OK));
    // The spawn link begins the child: the recorder read its frame's code.
    EXPECT_TRUE(evs[links[0]].flags & COTRACE_EVF_CODE_VALID);
    EXPECT_NE(evs[links[0]].code, 0u);
}

task<void> spawned_thrower() {
    throw test_error("spawned failure");
    co_return;
}

TEST_F(Probes, SpawnedTaskThatThrowsEndsWithExceptionStatusAndGoesNoFurther) {
    std::uint64_t child = 0;
    {
        thread_pool pool{1};
        task<void> t = spawned_thrower();
        child = addr(cotrace::detail::task_access::handle(t).address());
        cotrace::spawn(pool, std::move(t));
    }
    const events evs = recorder::snapshot();
    const auto ends = find_all(evs, COTRACE_EV_end, child);
    ASSERT_EQ(ends.size(), 1u) << describe(evs);
    EXPECT_EQ(evs[ends[0]].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_EXCEPTION));
}

TEST_F(Probes, CurrentContextCapturesATokenOnlyWhileATracerIsAttached) {
    recorder::set_active(false);
    const cotrace::context detached = cotrace::current_context();
    EXPECT_TRUE(detached.empty());
    EXPECT_TRUE(recorder::snapshot().empty()) << describe(recorder::snapshot());
    recorder::set_active(true);
    {
        cotrace::context_scope scope{cotrace::context{}};  // never captured: enters nothing
    }
    EXPECT_TRUE(recorder::snapshot().empty()) << describe(recorder::snapshot());
    {
        // Captured with no tracer: a tracer attached since learns that what
        // runs in it belongs to a span it never saw.
        cotrace::context_scope scope{detached};
    }
    {
        const events evs = recorder::snapshot();
        ASSERT_EQ(evs.size(), 2u) << describe(evs);
        expect_event(evs, 0, COTRACE_EV_context_enter, COTRACE_CONTEXT_UNSEEN, 0, 0, this_tid());
        expect_event(evs, 1, COTRACE_EV_context_exit, COTRACE_CONTEXT_UNSEEN, 0, 0, this_tid());
    }
    recorder::clear();

    const cotrace::context first = cotrace::current_context();
    const cotrace::context second = cotrace::current_context();
    EXPECT_FALSE(first.empty());
    EXPECT_FALSE(second.empty());
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    EXPECT_EQ(evs[0].kind, COTRACE_EV_context_capture);
    EXPECT_EQ(evs[1].kind, COTRACE_EV_context_capture);
    EXPECT_NE(evs[0].args[0], 0u);
    EXPECT_NE(evs[0].args[0], evs[1].args[0]);  // each capture is its own token
    EXPECT_EQ(evs[0].tid, this_tid());
}

void scoped_work_in_callback() { COTRACE_SCOPE("callback_work"); }

TEST_F(Probes, ContextScopeEntersAndExitsTheCapturedTokenOnTheOtherThread) {
    const cotrace::context ctx = cotrace::current_context();
    std::uint32_t other_tid = 0;
    std::thread other([ctx, &other_tid] {
        other_tid = this_tid();
        cotrace::context_scope scope{ctx};
        scoped_work_in_callback();
    });
    other.join();
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 5u) << describe(evs);
    const std::uint64_t token = evs[0].args[0];
    ASSERT_NE(token, 0u);
    ASSERT_NE(other_tid, this_tid());
    expect_event(evs, 0, COTRACE_EV_context_capture, token, 0, 0, this_tid());
    expect_event(evs, 1, COTRACE_EV_context_enter, token, 0, 0, other_tid);
    EXPECT_EQ(evs[2].kind, COTRACE_EV_scope_begin) << describe(evs);
    EXPECT_EQ(evs[3].kind, COTRACE_EV_end) << describe(evs);
    expect_event(evs, 4, COTRACE_EV_context_exit, token, 0, 0, other_tid);
}

void scoped_work(int& line) {
    COTRACE_SCOPE("parse_header"); line = __LINE__;
}

TEST_F(Probes, ScopeBeginsWithItsNameAndSiteAndEndsOk) {
    int line = 0;
    scoped_work(line);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    const std::uint64_t guard = evs[0].args[0];
    ASSERT_NE(guard, 0u);
    expect_event(evs, 0, COTRACE_EV_scope_begin, guard, evs[0].args[1], 0, this_tid());
    expect_event(evs, 1, COTRACE_EV_end, guard, COTRACE_STATUS_OK, 0, this_tid());
    const cotrace_site& site = site_at(evs[0].args[1]);
    EXPECT_STREQ(site.function, "parse_header");
    EXPECT_TRUE(ends_with(site.file, kThisFile)) << site.file;
    EXPECT_EQ(site.line, static_cast<std::uint32_t>(line));
}

void scoped_throw() {
    COTRACE_SCOPE("will_throw");
    throw test_error("scope failed");
}

TEST_F(Probes, ScopeLeftByAnExceptionEndsWithExceptionStatus) {
    EXPECT_THROW(scoped_throw(), test_error);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    EXPECT_EQ(evs[0].kind, COTRACE_EV_scope_begin);
    expect_event(evs, 1, COTRACE_EV_end, evs[0].args[0], COTRACE_STATUS_EXCEPTION, 0, this_tid());
}

struct cleans_up_with_a_scope {
    ~cleans_up_with_a_scope() { COTRACE_SCOPE("cleanup"); }
};

void throws_through_cleanup() {
    cleans_up_with_a_scope c;
    throw test_error("unwinding");
}

// A scope that runs entirely during unwinding (in a destructor) and leaves
// normally did not fail: only an exception that leaves the scope counts.
TEST_F(Probes, ScopeOpenedDuringUnwindingThatLeavesNormallyEndsOk) {
    EXPECT_THROW(throws_through_cleanup(), test_error);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    EXPECT_STREQ(site_at(evs[0].args[1]).function, "cleanup");
    expect_event(evs, 1, COTRACE_EV_end, evs[0].args[0], COTRACE_STATUS_OK, 0, this_tid());
}

void nested_scopes() {
    COTRACE_SCOPE("outer");
    COTRACE_SCOPE("inner");
}

TEST_F(Probes, NestedScopesAreDistinctSpansThatEndInsideOut) {
    nested_scopes();
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 4u) << describe(evs);
    const std::uint64_t outer = evs[0].args[0], inner = evs[1].args[0];
    EXPECT_NE(outer, inner);
    EXPECT_STREQ(site_at(evs[0].args[1]).function, "outer");
    EXPECT_STREQ(site_at(evs[1].args[1]).function, "inner");
    expect_event(evs, 2, COTRACE_EV_end, inner, COTRACE_STATUS_OK, 0, this_tid());
    expect_event(evs, 3, COTRACE_EV_end, outer, COTRACE_STATUS_OK, 0, this_tid());
}

TEST_F(Probes, AnnotateEmitsAnEventWithNameValueAndSite) {
    cotrace::annotate("rows", -42); const int line = __LINE__;
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 1u) << describe(evs);
    const event& e = evs[0];
    EXPECT_EQ(e.kind, COTRACE_EV_event);
    EXPECT_EQ(e.tid, this_tid());
    EXPECT_STREQ(reinterpret_cast<const char*>(static_cast<std::uintptr_t>(e.args[0])), "rows");
    EXPECT_EQ(static_cast<std::int64_t>(e.args[1]), -42);
    ASSERT_NE(e.args[2], 0u);
    const cotrace_site& site = site_at(e.args[2]);
    EXPECT_TRUE(ends_with(site.file, kThisFile)) << site.file;
    EXPECT_EQ(site.line, static_cast<std::uint32_t>(line));
}

task<int> other_leaf(int x) { co_return x + 100; }

task<int> awaits_two_kinds_twice() {
    int a = co_await leaf(1);
    int b = co_await other_leaf(1);
    int c = co_await leaf(2);
    co_return a + b + c;
}

// The recorder fills `code` like the BPF side: the first word of the frame of
// a span that begins, i.e. its resume function, the same for every call of
// one coroutine and different between coroutines.
TEST_F(Probes, BeginningEventsCarryTheFramesResumeFunctionAsCode) {
    EXPECT_EQ(sync_wait(awaits_two_kinds_twice()), 2 + 101 + 4);
    const events evs = recorder::snapshot();
    const events suspends = of_kind(evs, COTRACE_EV_suspend);
    ASSERT_EQ(suspends.size(), 3u) << describe(evs);
    for (const event& s : suspends) {
        EXPECT_TRUE(s.flags & COTRACE_EVF_CODE_VALID);
        EXPECT_NE(s.code, 0u);
    }
    EXPECT_EQ(suspends[0].code, suspends[2].code);  // leaf, twice
    EXPECT_NE(suspends[0].code, suspends[1].code);  // leaf vs other_leaf
    const events begins = of_kind(evs, COTRACE_EV_span_begin);
    ASSERT_EQ(begins.size(), 1u);
    EXPECT_TRUE(begins[0].flags & COTRACE_EVF_CODE_VALID);
    EXPECT_NE(begins[0].code, suspends[0].code);
    for (const event& e : evs)
        if (e.kind == COTRACE_EV_resume || e.kind == COTRACE_EV_end) {
            EXPECT_EQ(e.flags, 0u);
            EXPECT_EQ(e.code, 0u);
        }
}

}  // namespace
