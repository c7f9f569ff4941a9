/* SPDX-License-Identifier: MIT */
/*
 * The cotrace probe protocol: the one contract between a traced application
 * and the collector. Plain C with fixed-width fields only, so it compiles as
 * C++ (daemon, application library) and as BPF C (bpf/). PROTOCOL.md beside
 * this file explains each probe for authors of other coroutine libraries.
 *
 * Nothing else in the project defines probe names, event kinds, status codes,
 * link kinds or the event record again.
 */
#ifndef COTRACE_PROBES_H
#define COTRACE_PROBES_H

#ifdef __bpf__
/* BPF programs include vmlinux.h first, which provides the fixed-width types. */
#else
#include <stdint.h>
#endif

/* Bumped whenever a probe, an argument or the event record changes meaning. */
#define COTRACE_PROTOCOL_VERSION 1

/* USDT provider of every probe. */
#define COTRACE_PROVIDER "cotrace"

/*
 * The probe list, as X(name, argument count). Every argument is a 64-bit
 * integer. Order here is the event kind's value (1-based).
 *
 *  suspend(span, site, awaited)   span stops running at the co_await at site;
 *                                 awaited != 0: the traced child it now waits
 *                                 for, which begins here (as a child of span)
 *                                 if it has not begun yet, and runs at once on
 *                                 this thread; when it ends (not cancelled),
 *                                 span runs again on the thread of that end.
 *  resume(span)                   span runs on this thread from now on (after
 *                                 any suspension not implied above).
 *  end(span, status)              span finished (enum cotrace_status).
 *  span_begin(span, parent, site) span begins without a suspending awaiter
 *                                 (sync_wait, when_all branches) and runs at
 *                                 once on this thread; parent 0 = the span
 *                                 current on this thread, if any; ~0 = none
 *                                 (a new trace).
 *  link(from, to, kind)           causality (enum cotrace_link_kind); from 0 =
 *                                 the span current on this thread. A spawn
 *                                 link also begins `to` as a child of from;
 *                                 a continues link announces that `to`, about
 *                                 to begin as a new trace, is the next part
 *                                 of from's.
 *  scope_begin(scope, site)       a synchronous span on this thread (ends with
 *                                 end(scope, status)); child of the current span.
 *  event(name, value, site)       a point annotation in the current span.
 *  context_capture(token)         token now stands for the current span.
 *  context_enter(token)           until the matching context_exit, the span
 *  context_exit(token)            the token stands for is current on this thread.
 *  async_begin(span, parent, name) span begins as pending asynchronous work
 *                                 (an I/O operation, a queued handler) that
 *                                 runs later (resume ... end); parent 0 = the
 *                                 span current on this thread, ~0 = none (a
 *                                 new trace); name: a static C string.
 *  remote_span(trace_hi, trace_lo, span_id)
 *                                 the span current on this thread is known to
 *                                 other processes as span span_id of the W3C
 *                                 trace (trace_hi, trace_lo): it sent them a
 *                                 traceparent naming it.
 *  remote_enter(trace_hi, trace_lo, span_id)
 *                                 until the matching remote_exit, a span begun
 *                                 on this thread that would root a new trace
 *                                 continues the W3C trace (trace_hi, trace_lo)
 *                                 as a child of the remote span span_id.
 *  remote_exit(span_id)           closes the remote_enter naming span_id.
 *
 * New probes are appended, so the kinds of existing ones never change.
 */
#define COTRACE_PROBE_LIST(X)                                                  \
	X(suspend, 3)                                                          \
	X(resume, 1)                                                           \
	X(end, 2)                                                              \
	X(span_begin, 3)                                                       \
	X(link, 3)                                                             \
	X(scope_begin, 2)                                                      \
	X(event, 3)                                                            \
	X(context_capture, 1)                                                  \
	X(context_enter, 1)                                                    \
	X(context_exit, 1)                                                     \
	X(async_begin, 3)                                                      \
	X(remote_span, 3)                                                      \
	X(remote_enter, 3)                                                     \
	X(remote_exit, 1)

enum cotrace_event_kind {
	COTRACE_EV_NONE = 0,
#define COTRACE_X_KIND(name, nargs) COTRACE_EV_##name,
	COTRACE_PROBE_LIST(COTRACE_X_KIND)
#undef COTRACE_X_KIND
	COTRACE_EV_COUNT
};

/*
 * Collector events: records the daemon itself puts into the event stream (and
 * so into recordings), never emitted by a probe, so that a replay sees exactly
 * what the live session knew. Their kinds lie above every probe's.
 *
 *  thread_idle      at attach: thread `tid` was inside no span.
 *  thread_in_span   at attach: thread `tid` was inside a span begun before
 *                   the collector attached; args[0] = a code address of the
 *                   innermost coroutine function found running there (0 if
 *                   unknown), which names it; args[1] = how it was found:
 *                   COTRACE_CENSUS_UNWOUND (from the live frames: it is that
 *                   coroutine) or COTRACE_CENSUS_SCANNED (a word on the stack,
 *                   possibly stale).
 *  objects_gap      probes of an object loaded while tracing may have fired
 *                   unseen between args[0] and ts_ns (CLOCK_MONOTONIC ns):
 *                   traces open in that window may lack events.
 *  thread_name      thread `tid` is called args[0..1] (up to 16 bytes, NUL
 *                   padded: the kernel's comm).
 *  process_name     process `pid` is called args[0..2] (up to 24 bytes, NUL
 *                   padded: its command's base name).
 *  thread_unknown   at attach: what thread `tid` ran cannot be told. It
 *                   stood in a co_await of a coroutine begun before attach
 *                   (args[0] = an address in its resume function), at a point
 *                   where its frames do not show whether the coroutine's
 *                   suspend probe had fired.
 *  objects_changed  written by BPF, consumed by the daemon (never recorded):
 *                   the dynamic linker's debug hook (_dl_debug_state) ran on
 *                   thread `tid`, so objects were or are about to be mapped
 *                   or unmapped; the daemon looks at the mappings at once.
 */
enum cotrace_collector_event_kind {
	COTRACE_EV_COLLECTOR_FIRST = 0x100,
	COTRACE_EV_thread_idle = COTRACE_EV_COLLECTOR_FIRST,
	COTRACE_EV_thread_in_span,
	COTRACE_EV_objects_gap,
	COTRACE_EV_thread_name,
	COTRACE_EV_process_name,
	COTRACE_EV_objects_changed,
	COTRACE_EV_thread_unknown,
	COTRACE_EV_COLLECTOR_END
};

/* thread_in_span's args[1] */
#define COTRACE_CENSUS_SCANNED 0
#define COTRACE_CENSUS_UNWOUND 1

/* end(span, status) */
enum cotrace_status {
	COTRACE_STATUS_OK = 0,
	COTRACE_STATUS_EXCEPTION = 1, /* the body exited with an exception */
	COTRACE_STATUS_CANCELLED = 2, /* destroyed before it completed */
	COTRACE_STATUS_ERROR = 3,     /* completed with an error (e.g. an I/O error code) */
};

/* link(from, to, kind) */
enum cotrace_link_kind {
	COTRACE_LINK_SPAWN = 1, /* `from` started `to` as a detached child */
	COTRACE_LINK_WAKE = 2,  /* `from` made `to` runnable (often across threads) */
	COTRACE_LINK_JOIN = 3,  /* `from` finishing completed the join `to` waited on */
	/*
	 * `to`, which has not begun, is the next part of `from`'s work (a long
	 * session cut into traces): emitted just before `to` begins as a new
	 * trace, so a sampling collector keeps or drops it with `from`.
	 * Collectors draw nothing for it (its `to` names no span yet).
	 */
	COTRACE_LINK_CONTINUES = 4,
};

/*
 * A site: a pointer to static data in the traced binary with exactly this
 * layout, which is also the layout of std::source_location's implementation
 * record (what __builtin_source_location() points to in GCC and Clang).
 * The collector reads it once per process, never per event.
 */
struct cotrace_site {
	const char *file;
	const char *function;
	uint32_t line;
	uint32_t column;
};

/*
 * The event record the BPF side writes into the ring buffer and the daemon
 * reads (also the record of recordings). 56 bytes, no padding holes.
 *
 * args[] holds the probe's arguments in probe order (unused ones are 0).
 * code is the first word of the coroutine frame named by a beginning span
 * (suspend's `awaited`, span_begin's `span`, a spawn link's `to`): GCC and
 * Clang store the frame's resume function there, and its symbol names the
 * coroutine. 0 when not read or not a coroutine.
 */
struct cotrace_event {
	uint64_t ts_ns;   /* CLOCK_MONOTONIC, bpf_ktime_get_ns() */
	uint32_t pid;     /* tgid */
	uint32_t tid;
	uint16_t kind;    /* enum cotrace_event_kind */
	uint16_t cpu;
	uint32_t flags;   /* COTRACE_EVF_* */
	uint64_t args[3];
	uint64_t code;
};

/* span_begin's and async_begin's parent (and a spawn link's from) meaning
 * "none: this work roots a new trace" */
#define COTRACE_PARENT_NONE (~(uint64_t)0)

/* context_enter's and context_exit's token for a context captured while no
 * collector was attached (no context_capture names it): it carries a span
 * the collector may never have seen, so work begun in it is no root */
#define COTRACE_CONTEXT_UNSEEN (~(uint64_t)0)

/* flags */
#define COTRACE_EVF_CODE_VALID 0x1 /* code was read successfully */
/*
 * Events of this thread were lost (ring buffer or daemon queue full) just
 * before this one: what the thread was running is no longer known. Set by
 * the collector on the thread's next event that gets through.
 */
#define COTRACE_EVF_AFTER_LOSS 0x2

#endif /* COTRACE_PROBES_H */
