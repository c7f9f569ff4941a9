#pragma once
// Requests that cross processes: W3C trace context (`traceparent`) for RPCs.
//
//   // the caller, inside a traced coroutine, before sending the request:
//   std::string h = co_await cotrace::outgoing_traceparent();
//   request.headers["traceparent"] = h;          // empty while nobody traces us
//
//   // the callee, around the start of the request's root:
//   cotrace::incoming_traceparent scope{request.headers["traceparent"]};
//   cotrace::spawn(pool, handle(request));       // joins the caller's trace
//
// The application keeps no tracing state, so the ids are made where they are
// needed: outgoing_traceparent draws a random trace id and span id and fires
// one probe telling the collector "the current span is known to other
// processes as this span of this trace"; the collector exports that span and
// its trace under those ids. incoming_traceparent fires one probe "spans
// rooted on this thread from now until the scope closes continue that trace,
// as children of that remote span"; the collector exports the root with the
// caller's trace id and the caller's span as its parent. Each side may be
// traced by its own cotrace (as on two machines), or both by one.
//
// A header from a caller that cotrace does not trace (any W3C traceparent,
// e.g. from an OpenTelemetry SDK) is honoured the same way: the callee's
// trace adopts its trace id and parent span.
//
// Detached, both cost a test of a probe semaphore: outgoing_traceparent
// returns an empty string (no allocation) and the scope is inert.

#include <coroutine>
#include <cstdint>
#include <string>
#include <string_view>

#include "detail/probe.hpp"

#if COTRACE_ENABLED
#include <sys/random.h>
#endif

namespace cotrace {

// A parsed W3C traceparent: version 00, 32 + 16 lowercase hex digits, flags.
struct traceparent_ids {
    std::uint64_t trace_hi = 0, trace_lo = 0;
    std::uint64_t span = 0;
    bool valid() const noexcept { return (trace_hi | trace_lo) != 0 && span != 0; }
};

namespace detail {

inline bool parse_hex(std::string_view s, std::uint64_t& out) noexcept {
    out = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else
            return false;
        out = (out << 4) | d;
    }
    return true;
}

inline void append_hex(std::string& out, std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0xf];
}

}  // namespace detail

// "00-<trace>-<span>-<flags>"; anything else (another version's longer form
// included, as the W3C spec allows, when its first 55 characters are valid)
// gives invalid ids.
inline traceparent_ids parse_traceparent(std::string_view h) noexcept {
    traceparent_ids ids;
    if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return {};
    if (h.substr(0, 2) == "ff" || (h.substr(0, 2) == "00" && h.size() != 55)) return {};
    if (h.size() > 55 && h[55] != '-') return {};
    std::uint64_t version = 0, flags = 0;
    if (!detail::parse_hex(h.substr(0, 2), version) || !detail::parse_hex(h.substr(3, 16), ids.trace_hi) ||
        !detail::parse_hex(h.substr(19, 16), ids.trace_lo) || !detail::parse_hex(h.substr(36, 16), ids.span) ||
        !detail::parse_hex(h.substr(53, 2), flags))
        return {};
    return ids.valid() ? ids : traceparent_ids{};
}

inline std::string format_traceparent(const traceparent_ids& ids) {
    std::string h;
    h.reserve(55);
    h += "00-";
    detail::append_hex(h, ids.trace_hi);
    detail::append_hex(h, ids.trace_lo);
    h += '-';
    detail::append_hex(h, ids.span);
    h += "-01";  // sampled: a tracer is recording this request
    return h;
}

// `co_await outgoing_traceparent()` in a traced coroutine: a traceparent
// naming the coroutine's span (its trace and its span as exported), or an
// empty string while no tracer is attached. Never suspends.
class outgoing_traceparent {
public:
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    std::string await_resume() const {
#if COTRACE_ENABLED
        if (!COTRACE_DETAIL_ACTIVE(remote_span)) return {};
        std::uint64_t words[3] = {};
        // Random ids, as W3C asks of a new trace and span; a failed read
        // (no entropy source) leaves the header empty rather than guessable.
        if (getrandom(words, sizeof words, 0) != static_cast<long>(sizeof words)) return {};
        traceparent_ids ids{words[0], words[1], words[2] | 1};  // span id never 0
        if (!ids.valid()) ids.trace_lo = 1;
        COTRACE_DETAIL_PROBE(remote_span, ids.trace_hi, ids.trace_lo, ids.span);
        return format_traceparent(ids);
#else
        return {};
#endif
    }
};

// While it lives, spans begun on this thread that would root a new trace
// (the request's root: a sync_wait, a spawn from plain code) continue the
// trace `header` names, as children of its span. An empty or malformed
// header, or no tracer attached, makes it inert.
class incoming_traceparent {
public:
    explicit incoming_traceparent(std::string_view header) noexcept {
#if COTRACE_ENABLED
        if (!COTRACE_DETAIL_ACTIVE(remote_enter)) return;
        const traceparent_ids ids = parse_traceparent(header);
        if (!ids.valid()) return;
        span_ = ids.span;
        COTRACE_DETAIL_PROBE(remote_enter, ids.trace_hi, ids.trace_lo, span_);
#else
        (void)header;
#endif
    }
    ~incoming_traceparent() {
#if COTRACE_ENABLED
        if (span_ != 0) COTRACE_DETAIL_PROBE(remote_exit, span_);
#endif
    }
    incoming_traceparent(const incoming_traceparent&) = delete;
    incoming_traceparent& operator=(const incoming_traceparent&) = delete;

private:
#if COTRACE_ENABLED
    std::uint64_t span_ = 0;
#endif
};

}  // namespace cotrace
