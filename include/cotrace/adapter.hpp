#pragma once
// cotrace::adapter: the cotrace probes as functions, for authors of coroutine
// libraries that trace their own task types (probes/PROTOCOL.md says when to
// call each). cotrace's own task, when_all, spawn and sync_wait use them too.
//
//   begin(span, parent, site)     span begins and runs now on this thread
//                                 (sync_wait-like starts, when_all branches);
//                                 parent nullptr: the span current on this
//                                 thread (or the parent_scope's); no_parent:
//                                 a new trace
//   suspend(span, site, awaited)  span stops at a co_await; awaited = the
//                                 traced child it starts and waits for, or
//                                 nullptr for anything else
//   resume(span)                  span runs on this thread from now on
//   end(span, status)             span finished
//   spawn(parent, child)          child begins detached (a spawn link);
//                                 parent nullptr: as for begin
//   link(from, to, kind)          causality that is not an await
//   parent_scope                  spans begun with parent nullptr on this
//                                 thread while it lives are children of its
//                                 parent (a combinator that starts branches
//                                 from untraced helper coroutines)
//
// A span is any address unique while the span lives: a coroutine frame
// (handle.address()), whose first word then names the coroutine. A site is a
// pointer to static `struct cotrace_site` data, e.g. __builtin_source_location().
//
// Each call is one USDT probe: a nop whose arguments are already in
// registers, until a tracer attaches. With COTRACE_ENABLED=0 each is nothing.

#include <cstdint>

#include "detail/probe.hpp"

namespace cotrace {

// How a span finished (end).
enum class status : int {
    ok = COTRACE_STATUS_OK,
    exception = COTRACE_STATUS_EXCEPTION,
    cancelled = COTRACE_STATUS_CANCELLED,  // destroyed before it completed
    error = COTRACE_STATUS_ERROR,          // completed with an error (e.g. an I/O error code)
};

namespace adapter {

enum class link_kind : int {
    spawn = COTRACE_LINK_SPAWN,  // `from` started `to` detached (prefer spawn())
    wake = COTRACE_LINK_WAKE,    // `from` made `to` runnable (often on another thread)
    join = COTRACE_LINK_JOIN,    // `from` finishing completed the join `to` waits on
    continues = COTRACE_LINK_CONTINUES,  // `to`, about to begin as a new trace, is the next part of `from`'s
};

// The parent that means "none": begin(span, no_parent, site) roots a new trace.
struct no_parent_t {
    operator void*() const noexcept { return reinterpret_cast<void*>(~std::uintptr_t{0}); }
};
inline constexpr no_parent_t no_parent{};

namespace detail {
#if COTRACE_ENABLED
// The innermost parent_scope's parent on this thread (nullptr: none). Plain
// thread-local data, constant-initialised: no guard, no wrapper call.
inline thread_local void* scope_parent = nullptr;
#endif
}  // namespace detail

#if COTRACE_ENABLED

// nullptr stands for the parent_scope's parent, if any (else for "current").
// The thread-local is read only while a tracer is attached: in a shared
// object it is a call to __tls_get_addr, which would add more than the probe
// costs to a detached sync_wait. A scope opened before the tracer came is
// still seen: its constructor writes it whatever the semaphores say.
[[gnu::always_inline]] inline void begin(void* span, void* parent, const void* site) noexcept {
    if (parent == nullptr && COTRACE_DETAIL_ACTIVE(span_begin)) parent = detail::scope_parent;
    COTRACE_DETAIL_PROBE(span_begin, span, parent, site);
}

[[gnu::always_inline]] inline void suspend(void* span, const void* site, void* awaited) noexcept {
    COTRACE_DETAIL_PROBE(suspend, span, site, awaited);
}

[[gnu::always_inline]] inline void resume(void* span) noexcept { COTRACE_DETAIL_PROBE(resume, span); }

[[gnu::always_inline]] inline void end(void* span, status s) noexcept {
    COTRACE_DETAIL_PROBE(end, span, static_cast<int>(s));
}

[[gnu::always_inline]] inline void link(void* from, void* to, link_kind kind) noexcept {
    COTRACE_DETAIL_PROBE(link, from, to, static_cast<int>(kind));
}

[[gnu::always_inline]] inline void spawn(void* parent, void* child) noexcept {
    if (parent == nullptr && COTRACE_DETAIL_ACTIVE(link)) parent = detail::scope_parent;  // as in begin
    COTRACE_DETAIL_PROBE(link, parent, child, COTRACE_LINK_SPAWN);
}

class parent_scope {
public:
    explicit parent_scope(void* parent) noexcept : outer_(detail::scope_parent) { detail::scope_parent = parent; }
    ~parent_scope() { detail::scope_parent = outer_; }
    parent_scope(const parent_scope&) = delete;
    parent_scope& operator=(const parent_scope&) = delete;

private:
    void* outer_;
};

#else  // every call compiles to nothing

inline void begin(void*, void*, const void*) noexcept {}
inline void suspend(void*, const void*, void*) noexcept {}
inline void resume(void*) noexcept {}
inline void end(void*, status) noexcept {}
inline void link(void*, void*, link_kind) noexcept {}
inline void spawn(void*, void*) noexcept {}

class parent_scope {
public:
    explicit parent_scope(void*) noexcept {}
    parent_scope(const parent_scope&) = delete;
    parent_scope& operator=(const parent_scope&) = delete;
};

#endif

}  // namespace adapter
}  // namespace cotrace
