#pragma once
// The loop every live session turns (one -p, several -p, --binary, run):
// take a bounded batch of events into the output, write what they finished,
// show what --stuck, SIGUSR1 and the keys ask for, and end on Ctrl-C or
// SIGTERM, --duration, --limit, or when every target has exited. Each turn
// takes at most a batch and waits at most a few milliseconds, so every
// stop condition is seen within that however fast the targets write.

#include <cstddef>
#include <cstdint>

#include "cli/session.hpp"
#include "sinks/trace_output.hpp"

namespace cotrace {

// Where a session's events come from: one collector, or several merged.
class session_source {
public:
    virtual ~session_source() = default;
    // Delivers at most a batch of events to the output, and the drops so
    // far; waits up to wait_ms when there are none. Returns how many.
    virtual std::size_t take(int wait_ms) = 0;
    // True once there is nothing more to trace (every target has exited).
    virtual bool over() = 0;
    // CLOCK_MONOTONIC timestamp of the latest event delivered (0: none yet).
    virtual std::uint64_t last_event_ts() const = 0;
    // The first Ctrl-C/SIGTERM: true to go on until over() (run forwards
    // the signal to its child), false to stop now.
    virtual bool on_interrupt() { return false; }
    // After each turn's events are written (a recording flushed, a rescan).
    virtual void after_turn(std::size_t /*taken*/) {}
};

// Turns until a stop condition holds. The caller then ends the collection.
void run_session_loop(session_source& source, trace_output& output, const session_options& options);

}  // namespace cotrace
