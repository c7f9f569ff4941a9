// cotrace::when_all: results in argument order, exceptions, concurrency.

#include <gtest/gtest.h>

#include <cotrace/sync_wait.hpp>
#include <cotrace/task.hpp>
#include <cotrace/thread_pool.hpp>
#include <cotrace/when_all.hpp>

#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "support/helpers.hpp"

namespace {

using cotrace::sync_wait;
using cotrace::task;
using cotrace::thread_pool;
using cotrace::when_all;
using cotrace_test::counted;
using cotrace_test::rendezvous;
using cotrace_test::single_event;

struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

static_assert(std::is_same_v<decltype(when_all(std::declval<task<int>>(), std::declval<task<void>>(),
                                               std::declval<task<std::string>>())),
                             task<std::tuple<int, std::monostate, std::string>>>);
static_assert(std::is_same_v<decltype(when_all(std::declval<std::vector<task<void>>>())),
                             task<std::vector<std::monostate>>>);

// Completes once `ev` is set, recording the order of completion.
task<int> int_after(single_event& ev, std::vector<int>& finished, int value) {
    co_await ev;
    finished.push_back(0);
    co_return value;
}

task<std::string> string_after(single_event& ev, std::vector<int>& finished, std::string value) {
    co_await ev;
    finished.push_back(1);
    co_return value;
}

task<void> sets_both(single_event& first, single_event& second, std::vector<int>& finished) {
    second.set();  // the second child finishes now...
    first.set();   // ...then the first
    finished.push_back(2);
    co_return;
}

task<std::tuple<int, std::string, std::monostate>> mixed(std::vector<int>& finished) {
    single_event a, b;
    co_return co_await when_all(int_after(a, finished, 7), string_after(b, finished, "seven"),
                                sets_both(a, b, finished));
}

TEST(WhenAll, ResultsComeBackInArgumentOrderWhateverTheCompletionOrder) {
    std::vector<int> finished;
    auto [i, s, v] = sync_wait(mixed(finished));
    EXPECT_EQ(i, 7);
    EXPECT_EQ(s, "seven");
    (void)v;
    EXPECT_EQ(finished, (std::vector<int>{1, 0, 2}));  // not argument order
}

task<int> square_after(single_event& ev, int x) {
    co_await ev;
    co_return x * x;
}

task<void> set_in_reverse(std::vector<single_event>& evs) {
    for (auto it = evs.rbegin(); it != evs.rend(); ++it) it->set();
    co_return;
}

task<std::vector<int>> squares(int n) {
    std::vector<single_event> evs(static_cast<std::size_t>(n));
    std::vector<task<int>> children;
    for (int i = 0; i < n; ++i) children.push_back(square_after(evs[static_cast<std::size_t>(i)], i));
    // Children finish last-first once the setter runs.
    auto [results, unused] = co_await when_all(when_all(std::move(children)), set_in_reverse(evs));
    (void)unused;
    co_return results;
}

TEST(WhenAll, VectorFormReturnsResultsInVectorOrder) {
    EXPECT_EQ(sync_wait(squares(5)), (std::vector<int>{0, 1, 4, 9, 16}));
}

task<std::vector<std::monostate>> empty_vector() { co_return co_await when_all(std::vector<task<void>>{}); }

TEST(WhenAll, EmptyVectorCompletesAtOnceWithNoResults) { EXPECT_TRUE(sync_wait(empty_vector()).empty()); }

task<void> mark(int& count) {
    ++count;
    co_return;
}

task<std::size_t> void_children(int& count) {
    std::vector<task<void>> children;
    for (int i = 0; i < 3; ++i) children.push_back(mark(count));
    co_return (co_await when_all(std::move(children))).size();
}

TEST(WhenAll, VectorOfVoidTasksRunsEachOnce) {
    int count = 0;
    EXPECT_EQ(sync_wait(void_children(count)), 3u);
    EXPECT_EQ(count, 3);
}

task<int> ok_after(single_event& ev, bool& finished, int v) {
    co_await ev;
    finished = true;
    co_return v;
}

task<int> throws_now(std::string what) {
    throw test_error(what);
    co_return 0;
}

task<int> throws_after(single_event& ev, std::string what) {
    co_await ev;
    throw test_error(what);
    co_return 0;
}

task<int> sets(single_event& ev) {
    ev.set();
    co_return 3;
}

task<std::string> one_child_throws(bool& other_finished) {
    single_event ev;
    try {
        // The thrower finishes first; when_all still waits for the others.
        co_await when_all(ok_after(ev, other_finished, 1), throws_now("boom"), sets(ev));
    } catch (const test_error& e) {
        co_return e.what();
    }
    co_return "no exception";
}

TEST(WhenAll, ExceptionOfOneChildPropagatesAfterAllChildrenFinished) {
    bool other_finished = false;
    EXPECT_EQ(sync_wait(one_child_throws(other_finished)), "boom");
    EXPECT_TRUE(other_finished);
}

task<std::string> two_children_throw() {
    single_event ev;
    try {
        // "second" is thrown first in time; "first" comes first in argument order.
        co_await when_all(throws_after(ev, "first"), throws_now("second"), sets(ev));
    } catch (const test_error& e) {
        co_return e.what();
    }
    co_return "no exception";
}

TEST(WhenAll, FirstExceptionInArgumentOrderWins) { EXPECT_EQ(sync_wait(two_children_throw()), "first"); }

TEST(WhenAll, ExceptionPropagatesFromTheVectorForm) {
    auto body = []() -> task<std::vector<int>> {
        std::vector<task<int>> children;
        children.push_back(throws_now("vector boom"));
        co_return co_await when_all(std::move(children));
    };
    try {
        sync_wait(body());
        FAIL() << "no exception";
    } catch (const test_error& e) {
        EXPECT_STREQ(e.what(), "vector boom");
    }
}

// Each child hops to the pool and then waits until all have arrived: this can
// only finish if when_all runs them at the same time.
task<bool> meets_the_others(thread_pool& pool, rendezvous& r) {
    co_await pool.schedule();
    co_return r.arrive_and_wait();
}

task<std::tuple<bool, bool, bool>> three_meet(thread_pool& pool, rendezvous& r) {
    co_return co_await when_all(meets_the_others(pool, r), meets_the_others(pool, r), meets_the_others(pool, r));
}

TEST(WhenAll, RunsAllChildrenConcurrently) {
    thread_pool pool{3};
    rendezvous r{3};
    auto [a, b, c] = sync_wait(three_meet(pool, r));
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_TRUE(c);
}

task<std::vector<bool>> n_meet(thread_pool& pool, rendezvous& r, int n) {
    std::vector<task<bool>> children;
    for (int i = 0; i < n; ++i) children.push_back(meets_the_others(pool, r));
    co_return co_await when_all(std::move(children));
}

TEST(WhenAll, VectorFormRunsAllChildrenConcurrently) {
    thread_pool pool{4};
    rendezvous r{4};
    EXPECT_EQ(sync_wait(n_meet(pool, r, 4)), (std::vector<bool>(4, true)));
}

task<counted> counted_child(int id) { co_return counted{id}; }

task<int> counted_when_all() {
    auto [a, b] = co_await when_all(counted_child(1), counted_child(2));
    co_return a.id * 10 + b.id;
}

TEST(WhenAll, ResultsAreMovedNotCopiedAndEveryFrameIsDestroyedOnce) {
    counted::reset();
    EXPECT_EQ(sync_wait(counted_when_all()), 12);
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::copy_constructions, 0);
}

// Many rounds of children finishing on different threads: the last one to
// finish (on any thread) resumes the waiter exactly once.
task<int> hop_and_return(thread_pool& pool, int v) {
    co_await pool.schedule();
    co_return v;
}

task<long> many_rounds(thread_pool& pool, int rounds) {
    long sum = 0;
    for (int i = 0; i < rounds; ++i) {
        auto [a, b, c] = co_await when_all(hop_and_return(pool, 1), hop_and_return(pool, 2), hop_and_return(pool, 3));
        sum += a + b + c;
    }
    co_return sum;
}

TEST(WhenAll, ManyRoundsAcrossThreadsEachResumeTheWaiterOnce) {
    thread_pool pool{2};
    EXPECT_EQ(sync_wait(many_rounds(pool, 2000)), 2000L * 6);
}

}  // namespace
