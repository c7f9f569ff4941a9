#pragma once
// Carrying the current trace across a callback, a queue or a foreign thread
// pool, where no co_await connects the two sides:
//
//   auto ctx = cotrace::current_context();           // in the span that hands work off
//   legacy_pool.submit([ctx] {
//       cotrace::context_scope guard{ctx};           // on the other side
//       cotrace::sync_wait(handle_it());             // a child of that span
//   });
//
// A context is a token the collector resolves to the span that was current
// where it was captured. Capturing costs something only while a tracer is
// attached; otherwise the context is empty, and a scope entering it tells a
// tracer attached since only that it carries a span begun before.

#include <atomic>
#include <cstdint>

#include "detail/probe.hpp"

namespace cotrace {

class context {
public:
    context() noexcept = default;
    // Carries no span a tracer knows: made with no tracer attached (or never captured).
    bool empty() const noexcept { return token_ == 0 || token_ == COTRACE_CONTEXT_UNSEEN; }

private:
    friend context current_context() noexcept;
    friend class context_scope;
#if COTRACE_ENABLED
    std::uint64_t token_ = 0;
#else
    static constexpr std::uint64_t token_ = 0;
#endif
};

namespace detail {
inline std::atomic<std::uint64_t> next_context_token{1};
}

inline context current_context() noexcept {
    context ctx;
#if COTRACE_ENABLED
    if (COTRACE_DETAIL_ACTIVE(context_capture)) {
        ctx.token_ = detail::next_context_token.fetch_add(1, std::memory_order_relaxed);
        COTRACE_DETAIL_PROBE(context_capture, ctx.token_);
    } else {
        // A span may be current all the same: a tracer that attaches before
        // this context is entered must not take what runs in it for a root.
        ctx.token_ = COTRACE_CONTEXT_UNSEEN;
    }
#endif
    return ctx;
}

class context_scope {
public:
    explicit context_scope(const context& ctx) noexcept
#if COTRACE_ENABLED
        : token_(ctx.token_) {
        if (token_ != 0) COTRACE_DETAIL_PROBE(context_enter, token_);
    }
#else
    {
        (void)ctx;
    }
#endif
    ~context_scope() {
#if COTRACE_ENABLED
        if (token_ != 0) COTRACE_DETAIL_PROBE(context_exit, token_);
#endif
    }
    context_scope(const context_scope&) = delete;
    context_scope& operator=(const context_scope&) = delete;

private:
#if COTRACE_ENABLED
    std::uint64_t token_;
#endif
};

}  // namespace cotrace
