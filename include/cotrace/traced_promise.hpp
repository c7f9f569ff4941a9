#pragma once
// traced_promise<Promise>: the mixin that makes any coroutine type emit the
// cotrace probes. cotrace::task uses it; another library's task can too:
//
//   struct my_promise : cotrace::traced_promise<my_promise> {
//       std::suspend_always initial_suspend() noexcept { return {}; }  // lazy
//       auto final_suspend() noexcept {
//           this->trace_end(exception_ ? cotrace::status::exception : cotrace::status::ok);
//           ...  // then transfer to the continuation as before
//       }
//       // and in the task's destructor, when destroying a frame that is not done:
//       //     promise.trace_end(cotrace::status::cancelled);
//   };
//   // and the task's awaiter names the child it starts:
//   //     void* traced_child() const noexcept { return handle.address(); }
//
// What each part gives the collector:
//   await_transform       every co_await becomes suspend(frame, site, awaited);
//                         `site` is the co_await's file:line. Awaiting anything
//                         but a traced child adds resume(frame) where it resumes.
//   traced_child()        on a task's awaiter: the awaiting coroutine's span is
//                         the child's parent. The awaiter must start the child at
//                         once on this thread (symmetric transfer) and the child's
//                         completion must resume the awaiter on the thread where
//                         the child ended: the collector infers both.
//   trace_end             end(frame, status).
// A task started from plain code (not awaited) says so with
// cotrace::adapter::begin (adapter.hpp); see sync_wait.hpp and PROTOCOL.md.
// A promise that already has an await_transform can call
// wrap_await(awaitable, site) from it instead.
//
// With COTRACE_ENABLED=0 the mixin is empty and adds nothing: co_await goes
// straight to the user's awaiter.

#include <coroutine>
#include <source_location>  // __builtin_source_location() needs std::source_location::__impl
#include <utility>

#include "adapter.hpp"
#include "detail/probe.hpp"
#include "detail/traced_awaiter.hpp"

namespace cotrace {

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
        if constexpr (detail::awaits_traced_child<std::remove_cvref_t<inner_t>>)
            return detail::traced_child_awaiter<inner_t>{
                detail::get_awaiter(std::forward<Awaitable>(awaitable)), site};
        else
            return detail::traced_awaiter<inner_t>{
                detail::get_awaiter(std::forward<Awaitable>(awaitable)), frame(), site};
    }

    void trace_end(status s) noexcept { adapter::end(frame(), s); }

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
