#pragma once
// The probe macros every traced construct goes through: one USDT site per
// probe in the probes/ contract (a single nop until a tracer attaches), or
// nothing at all with COTRACE_ENABLED=0.
//
//   COTRACE_DETAIL_PROBE(name, args...)   fire probe `name` (args cast to 64 bits)
//   COTRACE_DETAIL_ACTIVE(name)           true while a tracer is attached to
//                                          `name`: guard work that costs something
//
// Unit tests define COTRACE_TEST_SINK to route every probe to an in-process
// recorder (`cotrace_test_sink`, defined by the test) instead of USDT.

#ifndef COTRACE_ENABLED
#define COTRACE_ENABLED 1
#endif

#include <cstdint>

#include "cotrace_probes.h"

#if COTRACE_ENABLED

#define COTRACE_DETAIL_U64(x) ((std::uint64_t)(x))
#define COTRACE_DETAIL_NARGS(...) COTRACE_DETAIL_NARGS_(__VA_ARGS__, 3, 2, 1, 0)
#define COTRACE_DETAIL_NARGS_(a, b, c, n, ...) n
#define COTRACE_DETAIL_CAT(a, b) COTRACE_DETAIL_CAT_(a, b)
#define COTRACE_DETAIL_CAT_(a, b) a##b

#if defined(COTRACE_TEST_SINK)

extern "C" void cotrace_test_sink(int kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2);
extern "C" bool cotrace_test_sink_active;

#define COTRACE_DETAIL_ARGS_1(a) COTRACE_DETAIL_U64(a), 0, 0
#define COTRACE_DETAIL_ARGS_2(a, b) COTRACE_DETAIL_U64(a), COTRACE_DETAIL_U64(b), 0
#define COTRACE_DETAIL_ARGS_3(a, b, c) COTRACE_DETAIL_U64(a), COTRACE_DETAIL_U64(b), COTRACE_DETAIL_U64(c)
#define COTRACE_DETAIL_PROBE(name, ...)                                                       \
    ::cotrace_test_sink(COTRACE_EV_##name,                                                    \
                        COTRACE_DETAIL_CAT(COTRACE_DETAIL_ARGS_, COTRACE_DETAIL_NARGS(__VA_ARGS__))( \
                            __VA_ARGS__))
#define COTRACE_DETAIL_ACTIVE(name) (::cotrace_test_sink_active)

#else  // real USDT probes

// Semaphores: the kernel raises cotrace_<probe>_semaphore while a uprobe is
// attached to that probe (and lowers it when the tracer goes, even on SIGKILL).
// Hidden visibility gives each executable or shared library its own copy, the
// one its probe notes name. Weak, so every translation unit may define them.
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#include <sys/sdt.h>

extern "C" {
#define COTRACE_DETAIL_SEMAPHORE(name, nargs)                                                  \
    __attribute__((weak, visibility("hidden"), section(".probes"))) unsigned short              \
        cotrace_##name##_semaphore;
COTRACE_PROBE_LIST(COTRACE_DETAIL_SEMAPHORE)
#undef COTRACE_DETAIL_SEMAPHORE
}

// <sys/sdt.h> has no *_ENABLED(); read through volatile so a check inside a
// loop is not hoisted out of it (and a tracer attached mid-loop is seen).
#define COTRACE_DETAIL_ACTIVE(name)                                                            \
    (__builtin_expect(*(volatile unsigned short*)&cotrace_##name##_semaphore != 0, 0))

// sdt.h's STAP_PROBE, but as `asm volatile inline`: the probe is ~70 lines of
// note directives that assemble to one nop, and GCC sizes a plain asm by its
// lines, which stopped it inlining every small function holding a probe
// (awaiters, final_suspend): out-of-line calls on the hot path, measured at
// +20% per round trip. `inline` tells it the asm is as small as it is.
#define COTRACE_DETAIL_SDT(name, n, arglist)                                                   \
    do {                                                                                       \
        _SDT_NOTE_SEMAPHORE_USE(cotrace, name);                                                \
        __asm__ __volatile__ inline(_SDT_ASM_BODY(cotrace, name, _SDT_ASM_ARGS, (n))           \
                                    :: COTRACE_DETAIL_OPERANDS_##n arglist);                   \
        __asm__ __volatile__ inline(_SDT_ASM_BASE);                                            \
    } while (0)

// sdt.h's operands with the constraint "nr" instead of its "nor": every
// argument is an immediate ($5) or a register (%rax), never a memory operand.
// A value the compiler keeps in memory would otherwise be named where it lies
// (a global as `sym(%rip)`, a thread-local as `%fs:sym@tpoff`), forms a
// tracer cannot read from a uprobe. The size/type operand is sdt.h's own
// (the first half of its _SDT_ARG), so it matches the header's encoding.
#define COTRACE_DETAIL_FIRST(...) COTRACE_DETAIL_FIRST_(__VA_ARGS__)
#define COTRACE_DETAIL_FIRST_(first, ...) first
#define COTRACE_DETAIL_OPERAND(n, x) COTRACE_DETAIL_FIRST(_SDT_ARG(n, x)), [_SDT_A##n] "nr"(x)
#define COTRACE_DETAIL_OPERANDS_1(a) COTRACE_DETAIL_OPERAND(1, a)
#define COTRACE_DETAIL_OPERANDS_2(a, b) COTRACE_DETAIL_OPERAND(1, a), COTRACE_DETAIL_OPERAND(2, b)
#define COTRACE_DETAIL_OPERANDS_3(a, b, c)                                                     \
    COTRACE_DETAIL_OPERAND(1, a), COTRACE_DETAIL_OPERAND(2, b), COTRACE_DETAIL_OPERAND(3, c)
#define COTRACE_DETAIL_PROBE_1(name, a) COTRACE_DETAIL_SDT(name, 1, (COTRACE_DETAIL_U64(a)))
#define COTRACE_DETAIL_PROBE_2(name, a, b)                                                     \
    COTRACE_DETAIL_SDT(name, 2, (COTRACE_DETAIL_U64(a), COTRACE_DETAIL_U64(b)))
#define COTRACE_DETAIL_PROBE_3(name, a, b, c)                                                  \
    COTRACE_DETAIL_SDT(name, 3, (COTRACE_DETAIL_U64(a), COTRACE_DETAIL_U64(b), COTRACE_DETAIL_U64(c)))
#define COTRACE_DETAIL_PROBE(name, ...)                                                        \
    COTRACE_DETAIL_CAT(COTRACE_DETAIL_PROBE_, COTRACE_DETAIL_NARGS(__VA_ARGS__))(name, __VA_ARGS__)

#endif  // COTRACE_TEST_SINK

#else  // !COTRACE_ENABLED

#define COTRACE_DETAIL_PROBE(name, ...) ((void)0)
#define COTRACE_DETAIL_ACTIVE(name) false

#endif  // COTRACE_ENABLED
