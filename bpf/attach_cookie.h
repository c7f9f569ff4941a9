/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the daemon puts in each probe site's BPF cookie (one per site in a
 * uprobe_multi link) and cotrace.bpf.c reads back: which probe the site is
 * and how to find its arguments. Plain C, shared by the BPF program and the
 * daemon.
 *
 * One program serves every probe, attached by one link per object over all
 * of the object's sites: each link's close waits for the kernel to retire
 * its uprobes (an RCU grace period, and the removals of all links one after
 * another), so fewer links end a session sooner. The program learns the
 * probe from the cookie's kind.
 *
 * Nearly every cotrace site passes its arguments in full 64-bit registers
 * or as small constants ("8@%rdi 8@$2"). For those the cookie names the
 * registers and holds the constants themselves,
 * so the program reads them straight from the context, with no lookup of a
 * spec; any other site's cookie is the id of its spec in libbpf's
 * __bpf_usdt_specs map, decoded the general way.
 */
#pragma once

/* Set: the cookie names the argument registers. Clear: it is a spec id. */
#define COTRACE_COOKIE_DIRECT (1ull << 63)
/*
 * Direct cookies, byte i (i < 3), argument i: with COTRACE_COOKIE_CONST set,
 * a constant 0..127 in the low bits ("8@$2": statuses, link kinds);
 * otherwise its register as offsetof(struct pt_regs, reg) / 8 + 1, or 0
 * when the site has no argument i (it reads as 0).
 */
#define COTRACE_COOKIE_ARG_SHIFT(i) ((i) * 8)
#define COTRACE_COOKIE_CONST 0x80
#define COTRACE_COOKIE_VALUE 0x7f
#define COTRACE_COOKIE_MAX_ARGS 3
/*
 * Both forms, bits 40..47: the probe's kind (enum cotrace_event_kind in
 * cotrace_probes.h). A spec id uses the low 32 bits only.
 */
#define COTRACE_COOKIE_KIND_SHIFT 40
#define COTRACE_COOKIE_KIND_MASK 0xffull
#define COTRACE_COOKIE_KIND(cookie) \
	((unsigned int)(((cookie) >> COTRACE_COOKIE_KIND_SHIFT) & COTRACE_COOKIE_KIND_MASK))
