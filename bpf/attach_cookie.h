/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the daemon puts in each probe site's BPF cookie (one per site in a
 * uprobe_multi link) and cotrace.bpf.c reads back: how to find the probe's
 * arguments. Plain C, shared by the BPF program and the daemon.
 *
 * Nearly every cotrace site passes its arguments in full 64-bit registers
 * ("8@%rdi 8@%rax"). For those the cookie names the registers themselves,
 * so the program reads them straight from the context, with no lookup of a
 * spec; any other site's cookie is the id of its spec in libbpf's
 * __bpf_usdt_specs map, decoded the general way.
 */
#pragma once

/* Set: the cookie names the argument registers. Clear: it is a spec id. */
#define COTRACE_COOKIE_DIRECT (1ull << 63)
/*
 * Direct cookies, byte i (i < 3): argument i's register as
 * offsetof(struct pt_regs, reg) / 8 + 1; 0 when the site has no argument i
 * (it reads as 0).
 */
#define COTRACE_COOKIE_ARG_SHIFT(i) ((i) * 8)
#define COTRACE_COOKIE_MAX_ARGS 3
