#pragma once
// cotrace::when_all: run tasks concurrently, as children of the awaiting
// span, and complete when all have. Results come back in argument order;
// the first failed task's exception (in argument order) is rethrown.
//
//   auto [a, b] = co_await when_all(f(), g());             // task<std::tuple<A, B>>
//   std::vector<int> v = co_await when_all(std::move(ts));  // task<std::vector<int>>
// A task<void> contributes std::monostate.

#include <array>
#include <coroutine>
#include <span>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "adapter.hpp"
#include "task.hpp"

namespace cotrace {
namespace detail {

struct when_all_branch {
    task_promise_base* promise;
    std::coroutine_handle<> handle;
};

template <class T>
when_all_branch branch_of(task<T>& t) {
    auto h = task_access::handle(t);
    return {&h.promise(), h};
}

// Starts every branch on this thread (each runs until its first suspension)
// and suspends the awaiting coroutine until the last one finishes.
class when_all_awaiter {
public:
    explicit when_all_awaiter(std::span<const when_all_branch> branches) noexcept : branches_(branches) {}

    bool await_ready() const noexcept { return branches_.empty(); }
    bool await_suspend(std::coroutine_handle<> waiter) noexcept {
        // One count per branch plus one for this loop, so no branch can resume
        // the waiter before every branch has been started.
        join_.remaining.store(branches_.size() + 1, std::memory_order_relaxed);
        join_.waiter = waiter;
        // A frame is never null: tells the compiler begin's "nullptr means the
        // scope's parent" test is dead here (one instruction less per branch).
        void* parent = waiter.address();
        if (parent == nullptr) __builtin_unreachable();
        for (const when_all_branch& b : branches_) {
            b.promise->set_join(&join_);
            adapter::begin(b.handle.address(), parent, nullptr);
            b.handle.resume();
        }
        return join_.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1;
    }
    void await_resume() const noexcept {}

private:
    std::span<const when_all_branch> branches_;
    join_state join_;
};

template <class T>
using when_all_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
when_all_value_t<T> take_value(task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        task_access::handle(t).promise().take_result();
        return {};
    } else {
        return task_access::handle(t).promise().take_result();
    }
}

}  // namespace detail

template <class... Ts>
task<std::tuple<detail::when_all_value_t<Ts>...>> when_all(task<Ts>... tasks) {
    const std::array<detail::when_all_branch, sizeof...(Ts)> branches{detail::branch_of(tasks)...};
    co_await detail::when_all_awaiter{branches};
    // Braced initialisation evaluates left to right: argument order.
    co_return std::tuple<detail::when_all_value_t<Ts>...>{detail::take_value(tasks)...};
}

template <class T>
task<std::vector<detail::when_all_value_t<T>>> when_all(std::vector<task<T>> tasks) {
    std::vector<detail::when_all_branch> branches;
    branches.reserve(tasks.size());
    for (auto& t : tasks) branches.push_back(detail::branch_of(t));
    co_await detail::when_all_awaiter{branches};
    std::vector<detail::when_all_value_t<T>> results;
    results.reserve(tasks.size());
    for (auto& t : tasks) results.push_back(detail::take_value(t));
    co_return results;
}

}  // namespace cotrace
