#pragma once
// traced_promise<Promise>: the mixin that makes any coroutine type emit the
// cotrace probes. cotrace::task uses it; another library's task can too:
//
//   struct my_promise : cotrace::traced_promise<my_promise> {
//       auto initial_suspend() noexcept { return cotrace::traced_initial_suspend{this->frame()}; }
//       auto final_suspend() noexcept {
//           this->trace_end(exception_ ? cotrace::status::exception : cotrace::status::ok);
//           ...  // then transfer to the continuation as before
//       }
//       // and in the task's destructor, when destroying a frame that is not done:
//       //     promise.trace_end(cotrace::status::cancelled);
//   };
//
// What each part gives the collector:
//   await_transform       every co_await becomes suspend(frame, site, awaited) +
//                         resume(frame); `site` is the co_await's file:line.
//                         An awaiter with `void* traced_child() const noexcept`
//                         names the traced child it waits for (its parent link).
//   traced_initial_suspend  a lazy coroutine's first resume(frame).
//   trace_end             end(frame, status).
// A promise that already has an await_transform can call
// wrap_await(awaitable, site) from it instead.
//
// With COTRACE_ENABLED=0 the mixin is empty and adds nothing: co_await goes
// straight to the user's awaiter.

#include <coroutine>
#include <source_location>  // __builtin_source_location() needs std::source_location::__impl
#include <utility>

#include "detail/probe.hpp"
#include "detail/traced_awaiter.hpp"

namespace cotrace {

enum class status : int {
    ok = COTRACE_STATUS_OK,
    exception = COTRACE_STATUS_EXCEPTION,
    cancelled = COTRACE_STATUS_CANCELLED,
};

// initial_suspend() awaiter of a lazy traced coroutine.
#if COTRACE_ENABLED
struct traced_initial_suspend {
    void* frame;
    constexpr bool await_ready() const noexcept { return false; }
    constexpr void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept { COTRACE_DETAIL_PROBE(resume, frame); }
};
#else
struct traced_initial_suspend : std::suspend_always {
    constexpr explicit traced_initial_suspend(void*) noexcept {}
};
#endif

#if COTRACE_ENABLED

template <class Promise>
class traced_promise {
public:
    // `site` defaults to the location of the co_await expression: a pointer to
    // static {file, function, line, column} data, so passing it costs nothing.
    template <class Awaitable>
    auto await_transform(Awaitable&& awaitable,
                         const void* site = __builtin_source_location()) noexcept(
        noexcept(detail::get_awaiter(std::forward<Awaitable>(awaitable)))) {
        return wrap_await(std::forward<Awaitable>(awaitable), site);
    }

    template <class Awaitable>
    auto wrap_await(Awaitable&& awaitable, const void* site) noexcept(
        noexcept(detail::get_awaiter(std::forward<Awaitable>(awaitable)))) {
        using inner_t = decltype(detail::get_awaiter(std::forward<Awaitable>(awaitable)));
        return detail::traced_awaiter<inner_t>{
            detail::get_awaiter(std::forward<Awaitable>(awaitable)), frame(), site};
    }

    void trace_end(status s) noexcept { COTRACE_DETAIL_PROBE(end, frame(), static_cast<int>(s)); }

    // The span id: the frame's address (unique while the frame lives).
    void* frame() noexcept {
        return std::coroutine_handle<Promise>::from_promise(static_cast<Promise&>(*this)).address();
    }
};

#else

template <class Promise>
class traced_promise {
public:
    template <class Awaitable>
    Awaitable&& wrap_await(Awaitable&& awaitable, const void*) noexcept {
        return std::forward<Awaitable>(awaitable);
    }
    void trace_end(status) noexcept {}
    void* frame() noexcept {
        return std::coroutine_handle<Promise>::from_promise(static_cast<Promise&>(*this)).address();
    }
};

#endif

}  // namespace cotrace
