#pragma once
// cotrace::task<T>: a lazy, move-only coroutine result. It starts when first
// awaited, resumes its awaiter by symmetric transfer when it completes, and
// rethrows its exception in the awaiter. Every task is a traced span.

#include <coroutine>
#include <exception>
#include <utility>

#include "detail/task_promise.hpp"

namespace cotrace {

template <class T = void>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    // The awaiter also names the child frame, so a traced awaiting coroutine
    // reports it as the child it waits for.
    struct awaiter {
        std::coroutine_handle<promise_type> h;
        bool await_ready() const noexcept { return !h || h.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            h.promise().set_continuation(awaiting);
            return h;
        }
        T await_resume() { return h.promise().take_result(); }
        void* traced_child() const noexcept { return h.address(); }
    };
    awaiter operator co_await() && noexcept { return awaiter{h_}; }
    awaiter operator co_await() & noexcept { return awaiter{h_}; }

    bool valid() const noexcept { return static_cast<bool>(h_); }

private:
    friend struct detail::task_access;

    void destroy() noexcept {
        if (!h_) return;
        if (!h_.done()) h_.promise().trace_end(status::cancelled);  // destroyed before it completed
        h_.destroy();
        h_ = {};
    }

    std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

// What when_all, sync_wait and spawn need of a task, kept off its public face.
struct task_access {
    template <class T>
    static std::coroutine_handle<task_promise<T>> handle(const task<T>& t) noexcept {
        return t.h_;
    }
    template <class T>
    static std::coroutine_handle<task_promise<T>> release(task<T>& t) noexcept {
        return std::exchange(t.h_, {});
    }
};

}  // namespace detail
}  // namespace cotrace

namespace cotrace::detail {
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace cotrace::detail
