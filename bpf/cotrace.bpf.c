// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * One program for every cotrace probe (probes/cotrace_probes.h), told which
 * probe fired by the site's cookie (attach_cookie.h). It stamps the event
 * with monotonic time, tgid, tid and cpu and writes the fixed-size record
 * into one BPF ring buffer shared by all CPUs, so the events of a coroutine
 * that hops threads reach the daemon in the order they happened.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

#include "attach_cookie.h"
#include "cotrace_probes.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Read-only knobs, set by the daemon between open and load. */
const volatile __u32 targ_tgid = 0;	 /* 0: every process (attach is per PID anyway) */
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the consumer past this much data */
const volatile __u32 sample_every = 1;	   /* keep one root trace in N */

/*
 * Set by the daemon once every probe is attached: probes attach one at a
 * time, and a request seen through only some of them would be assembled
 * from a subset of its events.
 */
__u32 collecting = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the daemon before load */
} events SEC(".maps");

/* Failed reservations, per CPU: drops are counted, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

/*
 * Threads that lost an event (a full ring): the thread's next event that
 * gets through carries COTRACE_EVF_AFTER_LOSS, so the daemon knows where in
 * the stream, and on which thread, its picture went wrong. Only the thread
 * itself touches its entry (its probes never nest). threads_with_losses
 * keeps the common path to one load: the map is looked up only while some
 * thread has a loss to report (an entry evicted from the LRU map leaves the
 * count high, which costs lookups, never a marker).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u8);
} lost_threads SEC(".maps");
__u64 threads_with_losses = 0;

static __always_inline void count_loss(u32 tid)
{
	u32 zero = 0;
	u8 one = 1;
	u64 *dropped = bpf_map_lookup_elem(&drops, &zero);

	if (dropped)
		*dropped += 1;
	if (!bpf_map_update_elem(&lost_threads, &tid, &one, BPF_NOEXIST))
		__sync_fetch_and_add(&threads_with_losses, 1);
}

/* After the event went out: the thread's loss is reported. */
static __always_inline void loss_reported(u32 tid)
{
	if (!bpf_map_delete_elem(&lost_threads, &tid))
		__sync_fetch_and_sub(&threads_with_losses, 1);
}

/*
 * A general-purpose register by its offset in struct pt_regs (what libbpf
 * records for "8@%rax"-style arguments), read straight from the context:
 * each case is a constant-offset load, cheaper than a helper call copying
 * the registers out.
 */
static __always_inline unsigned long reg_at(struct pt_regs *ctx, u32 off)
{
	unsigned long v = 0;

/*
 * Each load written as BPF assembly: in C, clang merges the cases into one
 * load at a computed context offset, which the verifier refuses.
 */
#define REG_CASE(field)                                                        \
	case offsetof(struct pt_regs, field):                                  \
		asm volatile("%[v] = *(u64 *)(%[ctx] + %[o])"                 \
			     : [v] "=r"(v)                                     \
			     : [ctx] "r"(ctx),                                 \
			       [o] "i"(offsetof(struct pt_regs, field)));      \
		break;
	switch (off) {
	REG_CASE(r15) REG_CASE(r14) REG_CASE(r13) REG_CASE(r12)
	REG_CASE(bp) REG_CASE(bx) REG_CASE(r11) REG_CASE(r10)
	REG_CASE(r9) REG_CASE(r8) REG_CASE(ax) REG_CASE(cx)
	REG_CASE(dx) REG_CASE(si) REG_CASE(di) REG_CASE(ip)
	REG_CASE(sp)
	}
#undef REG_CASE
	return v;
}

/*
 * All of a probe's arguments at once, as the site's cookie says
 * (attach_cookie.h): named registers read straight from the context and
 * constants held in the cookie, or,
 * for any other form, the site's libbpf spec, found once for all arguments
 * (bpf_usdt_arg() looks it up again per argument) and decoded by the same
 * rules.
 */
static __always_inline void usdt_args(struct pt_regs *ctx, u64 cookie, int nargs,
				      u64 *out)
{
	struct __bpf_usdt_spec *spec;
	int spec_id, i;

	if (cookie & COTRACE_COOKIE_DIRECT) {
		for (i = 0; i < COTRACE_COOKIE_MAX_ARGS; i++) {
			u32 arg = (cookie >> COTRACE_COOKIE_ARG_SHIFT(i)) & 0xff;

			if (i >= nargs)
				break;
			if (arg & COTRACE_COOKIE_CONST)
				out[i] = arg & COTRACE_COOKIE_VALUE;
			else if (arg)
				out[i] = reg_at(ctx, (arg - 1) * 8);
		}
		return;
	}

	spec_id = (int)cookie;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return;

	for (i = 0; i < 3; i++) {
		struct __bpf_usdt_arg_spec *arg = &spec->args[i];
		unsigned long val = 0;
		u32 off;

		if (i >= nargs || i >= spec->arg_cnt)
			break;
		off = (u32)(s32)arg->reg_off;
		switch (arg->arg_type) {
		case BPF_USDT_ARG_CONST:
			val = arg->val_off;
			break;
		case BPF_USDT_ARG_REG:
		case BPF_USDT_ARG_REG_DEREF:
			val = reg_at(ctx, off);
			if (arg->arg_type == BPF_USDT_ARG_REG_DEREF &&
			    bpf_probe_read_user(&val, sizeof(val),
						(void *)val + arg->val_off))
				val = 0;
			break;
		}
		/* 1-, 2- and 4-byte arguments: clear or sign-extend */
		val <<= arg->arg_bitshift;
		if (arg->arg_signed)
			val = ((long)val) >> arg->arg_bitshift;
		else
			val = val >> arg->arg_bitshift;
		out[i] = val;
	}
}

/*
 * Sampling (--sample N): one root trace in N is kept, decided here so the
 * others cost no ring-buffer space and no daemon work. Every span of a
 * trace follows its root's decision, so the state below tracks, for live
 * frames, the decision of their trace, and for each thread how deep it is
 * in running spans and the decision of what runs there. All of it is
 * compiled out (sample_every is read-only) unless sampling is on.
 */
struct frame_state {
	u8 keep;
	u8 awaited;   /* began by a traced await: its end resumes the awaiter */
	u8 continues; /* not begun yet: the next part of a kept-or-dropped trace */
};

struct thread_state {
	s32 depth; /* spans running (nested) on this thread */
	u8 keep;   /* the decision of what runs here, while depth > 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, u64);
	__type(value, struct frame_state);
} sample_frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, u32);
	__type(value, struct thread_state);
} sample_threads SEC(".maps");

/*
 * Roots of pending work (async_begin) are counted per name: a server's
 * roots come in a fixed rhythm (an accept, then the connection it accepted,
 * then the next accept), and one counter for all of them would keep every
 * accept and no connection. Other roots share roots_seen.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u64);
} sample_names SEC(".maps");

__u64 roots_seen = 0;

/* A frame's decision; frames begun before we attached are kept (partial). */
static __always_inline u8 frame_keep(u64 frame)
{
	struct frame_state *f = bpf_map_lookup_elem(&sample_frames, &frame);

	return f ? f->keep : 1;
}

static __always_inline void set_frame(u64 frame, u8 keep, u8 awaited)
{
	struct frame_state f = { .keep = keep, .awaited = awaited };

	bpf_map_update_elem(&sample_frames, &frame, &f, BPF_ANY);
}

/* The decision for a new root trace: the next of its name's count (0: none). */
static __always_inline u8 decide(u64 name)
{
	u64 zero = 0, *seen = &roots_seen;

	if (name) {
		seen = bpf_map_lookup_elem(&sample_names, &name);
		if (!seen) {
			bpf_map_update_elem(&sample_names, &name, &zero, BPF_NOEXIST);
			seen = bpf_map_lookup_elem(&sample_names, &name);
			if (!seen)
				seen = &roots_seen;
		}
	}
	return __sync_fetch_and_add(seen, 1) % sample_every == 0;
}

/*
 * A span that begins as a new trace: the decision of the trace it
 * continues, when a COTRACE_LINK_CONTINUES link announced one, else a new one.
 */
static __always_inline u8 root_keep(u64 span, u64 name)
{
	struct frame_state *f = bpf_map_lookup_elem(&sample_frames, &span);

	if (f && f->continues)
		return f->keep;
	return decide(name);
}

/* The decision for a span beginning on this thread with no explicit parent. */
static __always_inline u8 inherit_or_decide(struct thread_state *t, u64 span,
					    u64 name)
{
	if (t->depth > 0)
		return t->keep;
	return root_keep(span, name);
}

static __always_inline void enter(struct thread_state *t, u8 keep)
{
	t->depth++;
	t->keep = keep;
}

static __always_inline void leave(struct thread_state *t)
{
	if (t->depth > 0)
		t->depth--;
}

/* Updates the sampling state for this event; returns whether to emit it. */
static __always_inline bool sampled(u16 kind, u64 *args, u32 tid)
{
	struct thread_state zero = {}, *t;
	struct frame_state *f;
	u8 keep = 1;

	t = bpf_map_lookup_elem(&sample_threads, &tid);
	if (!t) {
		bpf_map_update_elem(&sample_threads, &tid, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&sample_threads, &tid);
		if (!t)
			return true;
	}

	switch (kind) {
	case COTRACE_EV_suspend:
		keep = frame_keep(args[0]);
		if (args[2]) { /* control passes to the child, same depth */
			set_frame(args[2], keep, 1);
			t->keep = keep;
		} else {
			leave(t);
		}
		break;
	case COTRACE_EV_resume:
		keep = frame_keep(args[0]);
		enter(t, keep);
		break;
	case COTRACE_EV_end:
		f = bpf_map_lookup_elem(&sample_frames, &args[0]);
		keep = f ? f->keep : 1;
		if (args[1] != COTRACE_STATUS_CANCELLED) {
			/* an awaited child returns to its awaiter: same depth */
			if (!f || !f->awaited)
				leave(t);
		}
		bpf_map_delete_elem(&sample_frames, &args[0]);
		break;
	case COTRACE_EV_span_begin:
		if (args[1] == COTRACE_PARENT_NONE)
			keep = root_keep(args[0], 0);
		else
			keep = args[1] ? frame_keep(args[1]) :
					 inherit_or_decide(t, args[0], 0);
		set_frame(args[0], keep, 0);
		enter(t, keep);
		break;
	case COTRACE_EV_scope_begin:
		keep = inherit_or_decide(t, args[0], 0);
		set_frame(args[0], keep, 0);
		enter(t, keep);
		break;
	case COTRACE_EV_link:
		if (args[2] == COTRACE_LINK_SPAWN) {
			if (args[0] == COTRACE_PARENT_NONE)
				keep = root_keep(args[1], 0);
			else
				keep = args[0] ? frame_keep(args[0]) :
						 inherit_or_decide(t, args[1], 0);
			set_frame(args[1], keep, 0);
		} else if (args[2] == COTRACE_LINK_CONTINUES) {
			/* `to` has not begun: it will take `from`'s decision */
			struct frame_state next = { .keep = frame_keep(args[0]),
						    .continues = 1 };

			keep = next.keep;
			bpf_map_update_elem(&sample_frames, &args[1], &next,
					    BPF_ANY);
		} else {
			keep = frame_keep(args[1]);
		}
		break;
	case COTRACE_EV_async_begin:
		if (args[1] == COTRACE_PARENT_NONE)
			keep = root_keep(args[0], args[2]);
		else
			keep = args[1] ? frame_keep(args[1]) :
					 inherit_or_decide(t, args[0], args[2]);
		set_frame(args[0], keep, 0);
		break;
	case COTRACE_EV_event:
	case COTRACE_EV_context_capture:
		keep = t->depth > 0 ? t->keep : 1;
		if (kind == COTRACE_EV_context_capture)
			set_frame(args[0] | (1ull << 63), keep, 0);
		break;
	case COTRACE_EV_context_enter:
		keep = frame_keep(args[0] | (1ull << 63));
		enter(t, keep);
		break;
	case COTRACE_EV_context_exit:
		keep = t->depth > 0 ? t->keep : 1;
		leave(t);
		break;
	}
	return keep;
}

/*
 * code_arg: which argument names a coroutine frame that begins here, whose
 * first word (the resume function) names the coroutine; -1 for none. It is
 * read now, while the frame surely exists.
 */
static __always_inline int emit(struct pt_regs *ctx, u64 id, u64 cookie,
				u16 kind, int nargs, int code_arg)
{
	struct cotrace_event e = {};
	u64 wake;

	usdt_args(ctx, cookie, nargs, e.args);
	/* Decided before writing: unsampled traces take no ring space. */
	if (sample_every > 1 && !sampled(kind, e.args, (u32)id))
		return 0;

	e.ts_ns = bpf_ktime_get_ns();
	e.pid = id >> 32;
	e.tid = (u32)id;
	e.kind = kind;
	e.cpu = bpf_get_smp_processor_id();
	if (threads_with_losses && bpf_map_lookup_elem(&lost_threads, &e.tid))
		e.flags |= COTRACE_EVF_AFTER_LOSS;
	if (kind == COTRACE_EV_link && e.args[2] != COTRACE_LINK_SPAWN)
		code_arg = -1;
	if (code_arg >= 0 && e.args[code_arg] &&
	    !bpf_probe_read_user(&e.code, sizeof(e.code),
				 (void *)e.args[code_arg]))
		e.flags |= COTRACE_EVF_CODE_VALID;

	/*
	 * A wake-up per event costs more than the event itself: the consumer
	 * polls on a short timeout, and is woken early only when data piles
	 * up. Asking how much is queued is itself a helper call, so only one
	 * event in 64 asks (the clock's low bits choose which, at no cost).
	 */
	wake = (e.ts_ns & 63) == 0 &&
			       bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
				       wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
	/*
	 * One helper call that reserves, copies and commits (reserve and
	 * submit are two); the record is built on the stack meanwhile.
	 */
	if (bpf_ringbuf_output(&events, &e, sizeof(e), wake))
		count_loss(e.tid);
	else if (e.flags & COTRACE_EVF_AFTER_LOSS)
		loss_reported(e.tid);
	return 0;
}

/* The frame argument that begins a span, per probe (see emit()). */
#define CODE_ARG_suspend 2
#define CODE_ARG_resume -1
#define CODE_ARG_end -1
#define CODE_ARG_span_begin 0
#define CODE_ARG_link 1
#define CODE_ARG_scope_begin -1
#define CODE_ARG_event -1
#define CODE_ARG_async_begin -1
#define CODE_ARG_context_capture -1
#define CODE_ARG_context_enter -1
#define CODE_ARG_context_exit -1
#define CODE_ARG_remote_span -1
#define CODE_ARG_remote_enter -1
#define CODE_ARG_remote_exit -1

/*
 * Every probe site, whatever its probe: one case per kind, each emit()
 * inlined with its own constants (argument count, frame argument, and the
 * sampling rules of that kind alone), so an event runs the code a program
 * of its own would, past one branch on the kind.
 */
SEC("usdt")
int handle_probe(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 cookie;

	if (!collecting || (targ_tgid && (id >> 32) != targ_tgid))
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	switch (COTRACE_COOKIE_KIND(cookie)) {
#define COTRACE_CASE(name, nargs)                                              \
	case COTRACE_EV_##name:                                                \
		return emit(ctx, id, cookie, COTRACE_EV_##name, nargs,         \
			    CODE_ARG_##name);
	COTRACE_PROBE_LIST(COTRACE_CASE)
#undef COTRACE_CASE
	}
	return 0;
}

/*
 * The dynamic linker's debug hook (_dl_debug_state, r_debug.r_brk): ld.so
 * calls it around every change to the set of loaded objects, before any
 * code of a new object runs. The event makes the daemon look at the
 * mappings at once (a forced wake-up). With hold_on_load (`run`: the target
 * is cotrace's own child) the process is also stopped until the daemon has
 * attached the new objects' probes and continues it; without (attach), the
 * target is never stopped and the daemon accounts for the time it needed.
 */
const volatile __u32 hold_on_load = 0;

SEC("uprobe")
int on_loader_debug_state(struct pt_regs *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct cotrace_event *e;
	u32 tid = (u32)id;
	u32 flags = 0;

	if (targ_tgid && (id >> 32) != targ_tgid)
		return 0;
	if (threads_with_losses && bpf_map_lookup_elem(&lost_threads, &tid))
		flags = COTRACE_EVF_AFTER_LOSS;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_loss(tid);
		return 0; /* never stop a process nobody will continue */
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->kind = COTRACE_EV_objects_changed;
	e->cpu = bpf_get_smp_processor_id();
	e->flags = flags;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	if (flags)
		loss_reported(tid);
	if (hold_on_load)
		bpf_send_signal(19 /* SIGSTOP */);
	return 0;
}
