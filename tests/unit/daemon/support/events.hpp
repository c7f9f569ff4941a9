#pragma once
// Synthetic probe events for the assembler tests: each helper builds one
// struct cotrace_event the way the BPF side would write it, named and ordered
// like the probe contract (probes/cotrace_probes.h), so a test reads as the
// sequence of probes a workload fires:
//
//   span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT)
//   resume(T1, ROOT)
//   suspend(T1, ROOT, AWAIT_SITE, CHILD).code(CODE_CHILD)
//   end(T1, ROOT, COTRACE_STATUS_OK)
//
// Timestamps are left at 0 and stamped by the harness (support/harness.hpp)
// unless a test sets one with .at(ns); pid defaults to test_pid.

#include <cstdint>
#include <cstring>
#include <string_view>

#include "cotrace_probes.h"

namespace cotrace_test {

inline constexpr std::uint32_t test_pid = 4242;

// One event under construction; converts to the raw record.
struct event {
    cotrace_event raw{};

    // The timestamp (CLOCK_MONOTONIC ns); 0 = let the harness stamp it.
    event& at(std::uint64_t ts_ns) {
        raw.ts_ns = ts_ns;
        return *this;
    }
    event& in(std::uint32_t pid) {
        raw.pid = pid;
        return *this;
    }
    // The first word of the frame this event begins (what the BPF side reads
    // into `code` for suspend's awaited, span_begin's span, a spawn's child).
    event& code(std::uint64_t resume_fn) {
        raw.code = resume_fn;
        raw.flags |= COTRACE_EVF_CODE_VALID;
        return *this;
    }
    // The collector lost events of this thread just before this one.
    event& after_loss() {
        raw.flags |= COTRACE_EVF_AFTER_LOSS;
        return *this;
    }
    event& on_cpu(std::uint16_t cpu) {
        raw.cpu = cpu;
        return *this;
    }
    operator const cotrace_event&() const { return raw; }
};

inline event make_event(cotrace_event_kind kind, std::uint32_t tid, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                        std::uint64_t a2 = 0) {
    event e;
    e.raw.pid = test_pid;
    e.raw.tid = tid;
    e.raw.kind = static_cast<std::uint16_t>(kind);
    e.raw.args[0] = a0;
    e.raw.args[1] = a1;
    e.raw.args[2] = a2;
    return e;
}

// suspend(span, site, awaited): `frame` stops running at the co_await at
// `site`; awaited != 0 names the child frame it now waits for.
inline event suspend(std::uint32_t tid, std::uint64_t frame, std::uint64_t site, std::uint64_t awaited = 0) {
    return make_event(COTRACE_EV_suspend, tid, frame, site, awaited);
}
// resume(span): `frame` runs on `tid` from now on.
inline event resume(std::uint32_t tid, std::uint64_t frame) { return make_event(COTRACE_EV_resume, tid, frame); }
// end(span, status)
inline event end(std::uint32_t tid, std::uint64_t frame, std::uint64_t status = COTRACE_STATUS_OK) {
    return make_event(COTRACE_EV_end, tid, frame, status);
}
// span_begin(span, parent, site): parent 0 = the span current on `tid`.
inline event span_begin(std::uint32_t tid, std::uint64_t frame, std::uint64_t parent, std::uint64_t site = 0) {
    return make_event(COTRACE_EV_span_begin, tid, frame, parent, site);
}
// link(from, to, kind): from 0 = the span current on `tid`.
inline event link(std::uint32_t tid, std::uint64_t from, std::uint64_t to, cotrace_link_kind kind) {
    return make_event(COTRACE_EV_link, tid, from, to, kind);
}
inline event spawn(std::uint32_t tid, std::uint64_t child) { return link(tid, 0, child, COTRACE_LINK_SPAWN); }
inline event join(std::uint32_t tid, std::uint64_t child, std::uint64_t waiter) {
    return link(tid, child, waiter, COTRACE_LINK_JOIN);
}
// scope_begin(scope, site): a synchronous span, ended by end(scope, status).
inline event scope_begin(std::uint32_t tid, std::uint64_t scope, std::uint64_t site) {
    return make_event(COTRACE_EV_scope_begin, tid, scope, site);
}
// event(name, value, site): an annotation in the span current on `tid`.
inline event annotation(std::uint32_t tid, std::uint64_t name, std::int64_t value, std::uint64_t site = 0) {
    return make_event(COTRACE_EV_event, tid, name, static_cast<std::uint64_t>(value), site);
}
inline event context_capture(std::uint32_t tid, std::uint64_t token) {
    return make_event(COTRACE_EV_context_capture, tid, token);
}
inline event context_enter(std::uint32_t tid, std::uint64_t token) {
    return make_event(COTRACE_EV_context_enter, tid, token);
}
inline event context_exit(std::uint32_t tid, std::uint64_t token) {
    return make_event(COTRACE_EV_context_exit, tid, token);
}

// ---- collector events (records the daemon writes into the stream) ----

// At attach: `tid` was inside no span.
inline event thread_idle(std::uint32_t tid) { return make_event(static_cast<cotrace_event_kind>(COTRACE_EV_thread_idle), tid); }
// At attach: `tid` was inside a span begun before; `code` is in the innermost
// coroutine function on its stack (0: unknown).
inline event thread_in_span(std::uint32_t tid, std::uint64_t code) {
    return make_event(static_cast<cotrace_event_kind>(COTRACE_EV_thread_in_span), tid, code, COTRACE_CENSUS_SCANNED);
}
// The same, found on the thread's live frames: it is that coroutine.
inline event thread_in_span_unwound(std::uint32_t tid, std::uint64_t code) {
    return make_event(static_cast<cotrace_event_kind>(COTRACE_EV_thread_in_span), tid, code, COTRACE_CENSUS_UNWOUND);
}
// At attach: what `tid` ran could not be told (it stood in a co_await of the
// coroutine whose resume function holds `code`).
inline event thread_unknown(std::uint32_t tid, std::uint64_t code) {
    return make_event(static_cast<cotrace_event_kind>(COTRACE_EV_thread_unknown), tid, code);
}
// Probes may have fired unseen from `from_ns` to this event's timestamp.
inline event objects_gap(std::uint64_t from_ns) {
    return make_event(static_cast<cotrace_event_kind>(COTRACE_EV_objects_gap), 0, from_ns);
}
// A name packed NUL-padded into the arguments, as the collector does.
inline event named(cotrace_collector_event_kind kind, std::uint32_t tid, std::string_view name) {
    event e = make_event(static_cast<cotrace_event_kind>(kind), tid);
    std::memcpy(e.raw.args, name.data(), name.size() < sizeof e.raw.args ? name.size() : sizeof e.raw.args);
    return e;
}
inline event thread_name(std::uint32_t tid, std::string_view name) { return named(COTRACE_EV_thread_name, tid, name); }
inline event process_name(std::string_view name) { return named(COTRACE_EV_process_name, 0, name); }

}  // namespace cotrace_test
