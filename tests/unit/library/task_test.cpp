// cotrace::task<T>: laziness, results, exceptions, ownership of the frame.

#include <gtest/gtest.h>

#include <cotrace/sync_wait.hpp>
#include <cotrace/task.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "support/helpers.hpp"

namespace {

using cotrace::sync_wait;
using cotrace::task;
using cotrace_test::counted;
using cotrace_test::parking_lot;

struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

task<int> set_flag_and_return(bool& started, int value) {
    started = true;
    co_return value;
}

task<int> add_one(int x) { co_return x + 1; }

task<int> add_three(int x) {
    int a = co_await add_one(x);
    int b = co_await add_one(a);
    co_return co_await add_one(b);
}

task<int> throws_int(std::string what) {
    throw test_error(what);
    co_return 0;
}

task<int> awaits_thrower(std::string what) {
    int v = co_await throws_int(std::move(what));
    co_return v + 1;  // never reached
}

task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

task<void> throws_void() {
    throw test_error("void failed");
    co_return;
}

TEST(Task, DoesNotStartUntilAwaited) {
    bool started = false;
    task<int> t = set_flag_and_return(started, 7);
    EXPECT_FALSE(started);
    EXPECT_TRUE(t.valid());
    EXPECT_EQ(sync_wait(std::move(t)), 7);
    EXPECT_TRUE(started);
}

task<bool> creates_then_awaits(bool& started) {
    task<int> child = set_flag_and_return(started, 1);
    const bool started_before_await = started;
    co_await child;
    co_return !started_before_await && started;
}

TEST(Task, StartsInsideTheAwaitingCoroutineOnlyAtTheCoAwait) {
    bool started = false;
    EXPECT_TRUE(sync_wait(creates_then_awaits(started)));
}

TEST(Task, ResultPropagatesThroughNestedAwaits) { EXPECT_EQ(sync_wait(add_three(10)), 13); }

TEST(Task, ExceptionPropagatesThroughNestedAwaitsToSyncWait) {
    try {
        sync_wait(awaits_thrower("deep failure"));
        FAIL() << "sync_wait returned instead of throwing";
    } catch (const test_error& e) {
        EXPECT_STREQ(e.what(), "deep failure");
    }
}

task<std::string> catches_child_exception() {
    try {
        co_await throws_int("caught in parent");
    } catch (const test_error& e) {
        co_return std::string("caught: ") + e.what();
    }
    co_return "not caught";
}

TEST(Task, ExceptionIsRethrownInTheAwaiterWhereItCanBeCaught) {
    EXPECT_EQ(sync_wait(catches_child_exception()), "caught: caught in parent");
}

TEST(Task, IsMoveOnly) {
    static_assert(!std::is_copy_constructible_v<task<int>>);
    static_assert(!std::is_copy_assignable_v<task<int>>);
    static_assert(std::is_nothrow_move_constructible_v<task<int>>);
    static_assert(std::is_nothrow_move_assignable_v<task<int>>);

    task<int> a = add_one(1);
    task<int> b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_TRUE(b.valid());
    task<int> c;
    EXPECT_FALSE(c.valid());
    c = std::move(b);
    EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(sync_wait(std::move(c)), 2);
}

task<int> takes_counted(counted c) { co_return c.id; }

TEST(Task, MoveAssignmentDestroysTheFrameItReplaces) {
    counted::reset();
    {
        task<int> t = takes_counted(counted{1});
        EXPECT_EQ(counted::alive(), 1);  // the parameter's copy in the frame
        t = takes_counted(counted{2});
        EXPECT_EQ(counted::alive(), 1);  // the first frame is gone, the second remains
        EXPECT_EQ(sync_wait(std::move(t)), 2);
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::copy_constructions, 0);
}

TEST(Task, VoidTaskRunsWhenAwaited) {
    bool ran = false;
    task<void> t = set_flag(ran);
    EXPECT_FALSE(ran);
    sync_wait(std::move(t));
    EXPECT_TRUE(ran);
    static_assert(std::is_void_v<decltype(sync_wait(set_flag(ran)))>);
}

TEST(Task, VoidTaskExceptionPropagates) { EXPECT_THROW(sync_wait(throws_void()), test_error); }

task<void> runs_body_flag(bool& ran, counted c) {
    ran = true;
    (void)c;
    co_return;
}

TEST(Task, DestroyedWithoutBeingAwaitedNeverRunsItsBodyAndFreesItsFrame) {
    counted::reset();
    bool ran = false;
    {
        task<void> t = runs_body_flag(ran, counted{});
        EXPECT_EQ(counted::alive(), 1);
    }
    EXPECT_FALSE(ran);
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::destructions, counted::constructions());
}

task<counted> make_counted(int id) { co_return counted{id}; }

TEST(Task, ResultIsMovedOutAndDestroyedExactlyOnce) {
    counted::reset();
    {
        counted result = sync_wait(make_counted(5));
        EXPECT_EQ(result.id, 5);
        EXPECT_EQ(counted::alive(), 1);  // only `result`: the frame's moved-from copy is gone
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::copy_constructions, 0);
    EXPECT_EQ(counted::destructions, counted::constructions());
}

task<int> awaits_and_checks_frame_lifetime(int& alive_after_await, int& alive_after_reset) {
    task<int> child = takes_counted(counted{9});
    int v = co_await child;
    alive_after_await = counted::alive();  // the finished child's frame still holds its parameter
    child = task<int>{};
    alive_after_reset = counted::alive();
    co_return v;
}

TEST(Task, FrameLivesUntilTheTaskIsDestroyedAndIsDestroyedOnce) {
    counted::reset();
    int alive_after_await = -1, alive_after_reset = -1;
    EXPECT_EQ(sync_wait(awaits_and_checks_frame_lifetime(alive_after_await, alive_after_reset)), 9);
    EXPECT_EQ(alive_after_await, 1);
    EXPECT_EQ(alive_after_reset, 0);
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::destructions, counted::constructions());
    EXPECT_EQ(counted::copy_constructions, 0);
}

task<int> parks(parking_lot& lot, counted c) {
    co_await lot;
    co_return c.id;
}

TEST(Task, DestroyedWhileSuspendedDestroysItsFrameOnce) {
    counted::reset();
    parking_lot lot;
    {
        task<int> t = parks(lot, counted{3});
        // Start it by hand: the task awaiter's await_suspend returns the frame to run.
        auto awaiter = t.operator co_await();
        awaiter.await_suspend(std::noop_coroutine()).resume();
        ASSERT_TRUE(lot.parked);
        EXPECT_EQ(counted::alive(), 1);
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::destructions, counted::constructions());
}

TEST(Task, ResumedAfterParkingCompletesWithItsResult) {
    parking_lot lot;
    task<int> t = parks(lot, counted{4});
    auto awaiter = std::move(t).operator co_await();
    awaiter.await_suspend(std::noop_coroutine()).resume();
    ASSERT_TRUE(lot.parked);
    EXPECT_FALSE(awaiter.await_ready());
    lot.release();
    EXPECT_TRUE(awaiter.await_ready());
    EXPECT_EQ(awaiter.await_resume(), 4);
}

// The address of a local in a fresh stack frame: how deep the stack is here.
[[gnu::noinline]] std::uintptr_t stack_depth_marker() {
    volatile char marker = 0;
    return reinterpret_cast<std::uintptr_t>(&marker);
}

struct stack_extent {
    std::uintptr_t lowest = UINTPTR_MAX, highest = 0;
    void note() {
        const std::uintptr_t here = stack_depth_marker();
        lowest = std::min(lowest, here);
        highest = std::max(highest, here);
    }
};

task<int> one_noting_stack(stack_extent& extent) {
    extent.note();
    co_return 1;
}

[[maybe_unused]] task<int> many_synchronous_awaits(int n, stack_extent& extent) {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await one_noting_stack(extent);
    co_return sum;
}

// A completing task resumes its awaiter by symmetric transfer, so a loop of
// synchronously completing awaits runs at a constant stack depth instead of
// nesting one resume per iteration (which would overflow the stack).
// g++ 12 makes the transfer a real tail call only with sibling-call
// optimisation (-O2, -O3, -Os: CMake's optimised configurations) and not
// under the address or thread sanitizer: the test exists in those builds only.
#if defined(COTRACE_TEST_OPTIMIZED_BUILD) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(Task, SynchronousCompletionsInALoopDoNotGrowTheStack) {
    stack_extent extent;
    const int n = 10'000;
    EXPECT_EQ(sync_wait(many_synchronous_awaits(n, extent)), n);
    // Nested resumes would take at least n frames (hundreds of KiB).
    EXPECT_LT(extent.highest - extent.lowest, 4096u);
}
#endif

TEST(Task, MoveOnlyResultType) {
    auto make = []() -> task<std::unique_ptr<int>> { co_return std::make_unique<int>(11); };
    std::unique_ptr<int> p = sync_wait(make());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 11);
}

}  // namespace
