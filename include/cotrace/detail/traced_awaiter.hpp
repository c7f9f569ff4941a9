#pragma once
// The wrapper every co_await in a traced coroutine goes through (built by
// traced_promise::await_transform). It adds two nops around the awaiter the
// user wrote: suspend(frame, site, awaited) before the coroutine suspends and
// resume(frame) when it runs again, on whatever thread that is. The wrapper
// lives in the coroutine frame until the co_await resumes, so its `site` is
// where `cotrace stacks` reads what a suspended frame waits at (the member
// is named in daemon/target/frame_suspend_map.cpp: keep the names).

#include <coroutine>
#include <type_traits>
#include <utility>

#include "../adapter.hpp"

namespace cotrace::detail {

// Awaiters of traced children (task's awaiter) name the child's frame, so
// the collector learns parent and child from the parent's suspend probe.
template <class A>
concept awaits_traced_child = requires(const A& a) {
    { a.traced_child() } noexcept -> std::same_as<void*>;
};

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };
template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

// What `co_await a` would use as its awaiter: operator co_await's result, or
// `a` itself (kept by reference: it lives until the end of the co_await's
// full-expression, which spans the suspension).
template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>)
        return static_cast<A&&>(a).operator co_await();
    else if constexpr (has_free_co_await<A>)
        return operator co_await(static_cast<A&&>(a));
    else
        return static_cast<A&&>(a);
}

// Awaiting anything but a traced child: suspend(frame, site, 0) before the
// coroutine suspends and resume(frame) when it runs again, on whatever thread.
template <class Inner>  // a value, or a reference to the user's awaiter
struct traced_awaiter {
    Inner inner;
    void* frame;
    const void* site;

    bool await_ready() noexcept(noexcept(inner.await_ready())) { return inner.await_ready(); }

    template <class Promise>
    auto await_suspend(std::coroutine_handle<Promise> h) noexcept(noexcept(inner.await_suspend(h))) {
        adapter::suspend(frame, site, nullptr);
        return inner.await_suspend(h);
    }

    decltype(auto) await_resume() noexcept(noexcept(inner.await_resume())) {
        adapter::resume(frame);
        return inner.await_resume();
    }
};

// Awaiting a traced child: one probe, suspend(frame, site, child). By the
// protocol the child runs at once on this thread, and the awaiting span runs
// again where the child ends; the collector derives both, so the hot path of
// a task await carries a single nop.
template <class Inner>
struct traced_child_awaiter {
    Inner inner;
    const void* site;

    bool await_ready() noexcept(noexcept(inner.await_ready())) { return inner.await_ready(); }

    template <class Promise>
    auto await_suspend(std::coroutine_handle<Promise> h) noexcept(noexcept(inner.await_suspend(h))) {
        adapter::suspend(h.address(), site, inner.traced_child());
        return inner.await_suspend(h);
    }

    decltype(auto) await_resume() noexcept(noexcept(inner.await_resume())) { return inner.await_resume(); }
};

}  // namespace cotrace::detail
