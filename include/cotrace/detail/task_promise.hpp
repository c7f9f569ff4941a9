#pragma once
// The promise behind cotrace::task<T>: result storage, the continuation, and
// the final awaiter that reports end(frame, status) and hands control back.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "../traced_promise.hpp"
#include "../adapter.hpp"

namespace cotrace {
template <class T>
class task;
}

namespace cotrace::detail {

struct task_access;

// Shared by the branches of one when_all: the last branch to finish resumes
// the waiting coroutine.
struct join_state {
    std::atomic<std::size_t> remaining{0};
    std::coroutine_handle<> waiter;
};

class task_promise_base {
public:
    void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }
    void set_join(join_state* j) noexcept { join_ = j; }

protected:
    template <class Promise>
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
            Promise& p = h.promise();
            p.trace_end(p.failed() ? status::exception : status::ok);
            if (join_state* j = p.join_) {
                if (j->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1)
                    return std::noop_coroutine();
                // This branch completes the join and makes the waiter runnable
                // here, perhaps on another thread than the one it suspended on.
                adapter::link(h.address(), j->waiter.address(), adapter::link_kind::join);
                adapter::link(h.address(), j->waiter.address(), adapter::link_kind::wake);
                return j->waiter;
            }
            if (p.continuation_) return p.continuation_;
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    std::coroutine_handle<> continuation_;
    join_state* join_ = nullptr;
};

template <class T>
class task_promise : public task_promise_base, public traced_promise<task_promise<T>> {
public:
    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept { return {}; }
    final_awaiter<task_promise> final_suspend() noexcept { return {}; }

    template <class U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        result_.template emplace<1>(std::forward<U>(value));
    }
    void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }

    bool failed() const noexcept { return result_.index() == 2; }
    T take_result() {
        if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
        return std::move(std::get<1>(result_));
    }

private:
    std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
class task_promise<void> : public task_promise_base, public traced_promise<task_promise<void>> {
public:
    task<void> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept { return {}; }
    final_awaiter<task_promise> final_suspend() noexcept { return {}; }

    void return_void() noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    bool failed() const noexcept { return static_cast<bool>(exception_); }
    void take_result() {
        if (exception_) std::rethrow_exception(exception_);
    }

private:
    std::exception_ptr exception_;
};

}  // namespace cotrace::detail
