// Built with -DCOTRACE_ENABLED=0 (and without the test sink): every probe and
// every extra field is gone, and the library still works. The ELF test checks
// the other half: this executable has no probe notes and no semaphores.

#include <gtest/gtest.h>

#include <cotrace/cotrace.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <variant>

#if COTRACE_ENABLED
#error "compiled_out_test.cpp must be built with COTRACE_ENABLED=0"
#endif
#ifdef COTRACE_TEST_SINK
#error "compiled_out_test.cpp must be built without COTRACE_TEST_SINK"
#endif

namespace {

using cotrace::sync_wait;
using cotrace::task;

// What a promise with the same members and no tracing at all looks like.
struct untraced_twin_promise {
    std::coroutine_handle<> continuation;
    cotrace::detail::join_state* join;
    std::variant<std::monostate, int, std::exception_ptr> result;
};

struct untraced_twin_void_promise {
    std::coroutine_handle<> continuation;
    cotrace::detail::join_state* join;
    std::exception_ptr exception;
};

TEST(CompiledOut, TaskPromiseIsTheSizeOfAnUntracedTwinWithTheSameMembers) {
    EXPECT_EQ(sizeof(cotrace::detail::task_promise<int>), sizeof(untraced_twin_promise));
    EXPECT_EQ(alignof(cotrace::detail::task_promise<int>), alignof(untraced_twin_promise));
    EXPECT_EQ(sizeof(cotrace::detail::task_promise<void>), sizeof(untraced_twin_void_promise));
}

struct some_promise;
TEST(CompiledOut, TracedPromiseMixinIsEmpty) {
    EXPECT_TRUE(std::is_empty_v<cotrace::traced_promise<some_promise>>);
}

TEST(CompiledOut, ContextScopeAndContextAreEmpty) {
    EXPECT_TRUE(std::is_empty_v<cotrace::context_scope>);
    EXPECT_EQ(sizeof(cotrace::context_scope), 1u);
    EXPECT_TRUE(std::is_empty_v<cotrace::context>);
}

TEST(CompiledOut, AdapterCallsCompileToNothingAndAParentScopeIsEmpty) {
    static_assert(std::is_empty_v<cotrace::adapter::parent_scope>);
    int span = 0;
    cotrace::adapter::parent_scope scope{&span};
    cotrace::adapter::begin(&span, cotrace::adapter::no_parent, nullptr);
    cotrace::adapter::suspend(&span, nullptr, nullptr);
    cotrace::adapter::resume(&span);
    cotrace::adapter::spawn(nullptr, &span);
    cotrace::adapter::link(&span, &span, cotrace::adapter::link_kind::wake);
    cotrace::adapter::end(&span, cotrace::status::ok);
    SUCCEED();
}

TEST(CompiledOut, ProbesAreNeverActiveAndContextsAreAlwaysEmpty) {
    static_assert(!COTRACE_DETAIL_ACTIVE(suspend));
    static_assert(!COTRACE_DETAIL_ACTIVE(context_capture));
    EXPECT_TRUE(cotrace::current_context().empty());
}

task<int> leaf(int x) {
    COTRACE_SCOPE("leaf");
    cotrace::annotate("x", x);
    co_return x * 2;
}

task<int> chain(cotrace::thread_pool& pool, int x) {
    int a = co_await leaf(x);
    co_await pool.schedule();
    auto [b, c] = co_await cotrace::when_all(leaf(a), leaf(a + 1));
    co_return b + c;
}

task<void> spawned(std::atomic<int>& ran) {
    ran.fetch_add(1);
    co_return;
}

TEST(CompiledOut, LibraryStillWorks) {
    std::atomic<int> ran{0};
    {
        cotrace::thread_pool pool{2};
        EXPECT_EQ(sync_wait(chain(pool, 5)), 20 + 22);  // leaf(5) = 10; leaf(10) + leaf(11)
        const cotrace::context ctx = cotrace::current_context();
        cotrace::context_scope scope{ctx};
        cotrace::spawn(pool, spawned(ran));
    }
    EXPECT_EQ(ran.load(), 1);
}

task<int> fails() {
    throw std::runtime_error("compiled out, still thrown");
    co_return 0;
}

TEST(CompiledOut, ExceptionsStillPropagate) { EXPECT_THROW(sync_wait(fails()), std::runtime_error); }

}  // namespace
