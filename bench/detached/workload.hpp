#pragma once
// The detached-overhead workloads: the same source (workload.cpp) is built
// twice, into two shared objects, and both link into one benchmark binary:
//
//   libcotrace_bench_traced.so     probes present, no tracer attached (COTRACE_ENABLED=1)
//   libcotrace_bench_untraced.so   every probe compiled out       (COTRACE_ENABLED=0)
//
// Each shared object is linked with a version script that exports only its
// cotrace_bench_<variant>_<scenario> entry points: every inline function and
// template of the library stays local to its own object, so the two builds of
// `cotrace::task<int>` cannot be merged by the linker (they share mangled
// names but not code) and the binary really runs two different codes.
//
// An entry point runs `iterations` round trips of its scenario, from plain
// code, on the calling thread, and returns a checksum of their results.

#include <cstdint>

// X(name, description): one workload per line.
#define COTRACE_BENCH_SCENARIOS(X)                                                       \
    X(chain7, "7 nested tasks: each awaits the next (a request: root -> ... -> leaf)")   \
    X(when_all3, "a task awaits when_all of 3 child tasks")                              \
    X(scope_annotate, "a task awaits a child that runs a COTRACE_SCOPE and 2 annotates") \
    X(sync_wait_chain7, "chain7 entered through cotrace::sync_wait instead of a driver") \
    X(context_handoff, "a task hands a callback its context, which runs it in a context_scope")

#define COTRACE_BENCH_DECLARE(variant, name) \
    extern "C" std::uint64_t cotrace_bench_##variant##_##name(std::uint64_t iterations);

#define COTRACE_BENCH_DECLARE_TRACED(name, what) COTRACE_BENCH_DECLARE(traced, name)
#define COTRACE_BENCH_DECLARE_UNTRACED(name, what) COTRACE_BENCH_DECLARE(untraced, name)
COTRACE_BENCH_SCENARIOS(COTRACE_BENCH_DECLARE_TRACED)
COTRACE_BENCH_SCENARIOS(COTRACE_BENCH_DECLARE_UNTRACED)
#undef COTRACE_BENCH_DECLARE_TRACED
#undef COTRACE_BENCH_DECLARE_UNTRACED
