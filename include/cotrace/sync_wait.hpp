#pragma once
// cotrace::sync_wait(task): run a task to completion from plain code, blocking
// the calling thread, and return its result (or rethrow its exception).
// The task is a root span, or a child of the span current on this thread
// (or of an adapter::parent_scope's parent).

#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <source_location>

#include "adapter.hpp"
#include "task.hpp"

namespace cotrace {
namespace detail {

// Set by the untraced driver coroutine below; lives on sync_wait's stack and
// is signalled under its mutex, so sync_wait cannot return (and free it)
// while the completing thread still touches it.
struct completion_latch {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;

    void signal() {
        std::lock_guard lock(mutex);
        done = true;
        cv.notify_one();
    }
    void wait() {
        std::unique_lock lock(mutex);
        cv.wait(lock, [this] { return done; });
    }
};

// A minimal coroutine (not a span) that awaits the task and signals the latch.
struct sync_wait_driver {
    struct promise_type {
        completion_latch* latch = nullptr;
        sync_wait_driver get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        auto final_suspend() noexcept {
            struct signal_latch {
                bool await_ready() const noexcept { return false; }
                void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                    h.promise().latch->signal();
                }
                void await_resume() const noexcept {}
            };
            return signal_latch{};
        }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }  // cannot happen: see below
    };
    std::coroutine_handle<promise_type> h;
};

// Awaits completion only; the result (or exception) is taken by sync_wait.
template <class T>
struct completion_awaiter {
    std::coroutine_handle<task_promise<T>> h;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().set_continuation(awaiting);
        return h;
    }
    void await_resume() const noexcept {}
};

template <class T>
sync_wait_driver drive(std::coroutine_handle<task_promise<T>> h) {
    co_await completion_awaiter<T>{h};
}

}  // namespace detail

template <class T>
T sync_wait(task<T> t, [[maybe_unused]] const void* site = __builtin_source_location()) {
    auto h = detail::task_access::handle(t);
    detail::completion_latch latch;
    auto driver = detail::drive(h);
    driver.h.promise().latch = &latch;
    adapter::begin(h.address(), nullptr, site);
    driver.h.resume();
    latch.wait();
    driver.h.destroy();
    return h.promise().take_result();
}

}  // namespace cotrace
