#pragma once
// Attach-time truth: which threads of a running process are inside a span
// at the moment collecting begins. Every thread is stopped (PTRACE_SEIZE +
// PTRACE_INTERRUPT: a ptrace-stop, which job control never sees), the probes
// start reporting while all of them stand still, and each thread's stack is
// then read for the return address of a coroutine's resume function: one
// there means the thread was running a coroutine (a span begun before
// attach), none means it was in plain code, idle as far as spans go. Each
// thread goes again as soon as its stack is read; every path detaches.
//
// Not seen this way: a synchronous scope (COTRACE_SCOPE, a context scope)
// open in plain code with no coroutine below it on the stack.

#include <cstdint>
#include <functional>
#include <vector>

#include "cotrace_probes.h"
#include "target/target_symbols.hpp"

namespace cotrace {

struct thread_census {
    // One COTRACE_EV_thread_idle or COTRACE_EV_thread_in_span per thread,
    // stamped with the moment collecting began: they belong in the stream
    // before every probe event.
    std::vector<cotrace_event> events;
    std::uint64_t started_ns = 0;          // CLOCK_MONOTONIC, just before start() ran
    std::vector<std::uint64_t> held_ns;    // per thread stopped: how long it was held
    std::size_t not_stopped = 0;           // threads that could not be stopped (e.g. traced by a debugger)
};

// Stops every thread of pid, calls start() while they all stand still, reads
// each thread's state and lets it go. `symbols` must have read pid's
// mappings (refresh) before. start() is called even when no thread could be
// stopped (their state is then unknown and no event says otherwise).
thread_census take_thread_census(std::uint32_t pid, target_symbols& symbols, const std::function<void()>& start);

}  // namespace cotrace
