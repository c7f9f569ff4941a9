#pragma once
// The promise behind cotrace::task<T>: result storage, the continuation, and
// the final awaiter that reports end(frame, status) and hands control back.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "../traced_promise.hpp"
#include "../adapter.hpp"
#include "cotrace_layout.h"

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

    friend struct frame_layout_of_task;
};

#if COTRACE_ENABLED
// The record of probes/cotrace_layout.h for task_promise<T>. GCC lays a
// frame out as resume pointer, destroy pointer, promise (at the promise's
// alignment), then the frame's own handle; task_promise_base is the
// promise's first base, so its fields sit at the promise's start.
struct frame_layout_of_task {
    static constexpr std::uint32_t round_up(std::size_t n, std::size_t align) {
        return static_cast<std::uint32_t>((n + align - 1) / align * align);
    }
    template <class Promise>
    static constexpr cotrace_frame_layout of() {
        constexpr std::uint32_t promise_at = round_up(2 * sizeof(void*), alignof(Promise));
        return {COTRACE_LAYOUT_MAGIC,
                COTRACE_LAYOUT_VERSION,
                sizeof(cotrace_frame_layout),
                promise_at,
                sizeof(Promise),
                round_up(promise_at + sizeof(Promise), alignof(void*)),
                offsetof(task_promise_base, continuation_),
                offsetof(task_promise_base, join_),
                offsetof(join_state, waiter)};
    }
};

// Static data only, kept by compiler and linker though the program never
// reads it; the collector finds it by its symbol.
template <class Promise>
struct frame_layout_record {
    [[gnu::used, gnu::retain]] static constexpr cotrace_frame_layout value = frame_layout_of_task::of<Promise>();
};
// Naming the record instantiates it; the expression itself compiles to nothing.
#define COTRACE_DETAIL_PUBLISH_LAYOUT(Promise) static_cast<void>(&frame_layout_record<Promise>::value)
#else
#define COTRACE_DETAIL_PUBLISH_LAYOUT(Promise) static_cast<void>(0)
#endif

template <class T>
class task_promise : public task_promise_base, public traced_promise<task_promise<T>> {
public:
    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept {
        COTRACE_DETAIL_PUBLISH_LAYOUT(task_promise);
        return {};
    }
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
    std::suspend_always initial_suspend() noexcept {
        COTRACE_DETAIL_PUBLISH_LAYOUT(task_promise);
        return {};
    }
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
