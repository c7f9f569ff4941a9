#pragma once
// Attach-time truth: which threads of a running process are inside a span
// at the moment collecting begins. Every thread is stopped (PTRACE_SEIZE +
// PTRACE_INTERRUPT: a ptrace-stop, which job control never sees), the probes
// start reporting while all of them stand still, then each thread's
// registers and the top of its stack are copied and the thread let go, and
// each copy is unwound frame by frame (collect/thread_unwind.hpp). The
// innermost frame whose code is a coroutine's resume function is the span
// the thread runs (thread_in_span), except
// - a frame entered by a direct call: GCC's ramp runs a new frame to its
//   initial suspend point, and its destroy function runs a frame to destroy
//   it, by direct calls (resuming is an indirect call); the coroutine is
//   being created or destroyed by its caller;
// - a frame inside cotrace's await_suspend wrapper past its suspend probe
//   (in the awaiter's own await_suspend; optimised, where the wrapper is
//   inlined, a call from inside it by the object's DWARF): the coroutine
//   has suspended, and once that returns, control goes back to whatever
//   resumed it; and a frame that resumed such a one by symmetric transfer;
// for both the walk goes on further out. A thread standing in the wrapper
// itself, where the frames do not show whether the probe fired, is reported
// unknown (thread_unknown). Reaching the thread's first frame with none
// means plain code, idle as far as spans go, whatever stale words its frames
// still hold. Where the unwind stops short (no unwind info, JIT code, a
// corrupt stack), the stack above the last frame reached is scanned for a
// return address into a resume function instead. Every path detaches.
//
// Not seen this way: a synchronous scope (COTRACE_SCOPE, a context scope)
// open in plain code with no coroutine below it on the stack; and, in an
// optimised object without DWARF, a suspension in progress (the thread is
// taken to be in the coroutine).

#include <cstdint>
#include <functional>
#include <vector>

#include "cotrace_probes.h"
#include "target/target_symbols.hpp"

namespace cotrace {

struct thread_census {
    // One COTRACE_EV_thread_idle, _thread_in_span or _thread_unknown per thread,
    // stamped with the moment collecting began: they belong in the stream
    // before every probe event.
    std::vector<cotrace_event> events;
    std::uint64_t started_ns = 0;          // CLOCK_MONOTONIC, just before start() ran
    std::vector<std::uint64_t> held_ns;    // per thread stopped: how long it was held
    std::size_t not_stopped = 0;           // threads that could not be stopped (e.g. traced by a debugger)
    std::size_t scanned = 0;               // threads whose unwind stopped short: their stack was scanned
    std::uint64_t unwound_ns = 0;          // unwinding every copied stack, after the threads went again
};

// Stops every thread of pid, calls start() while they all stand still, reads
// each thread's state and lets it go. `symbols` must have read pid's
// mappings (refresh) before. start() is called even when no thread could be
// stopped (their state is then unknown and no event says otherwise).
thread_census take_thread_census(std::uint32_t pid, target_symbols& symbols, const std::function<void()>& start);

}  // namespace cotrace
