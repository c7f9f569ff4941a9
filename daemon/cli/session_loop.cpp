#include "cli/session_loop.hpp"

#include <chrono>

#include "cli/interrupts.hpp"
#include "cli/live_controls.hpp"

namespace cotrace {

namespace {
// How long a turn waits for events when there are none: a signal does not
// cut the wait short, so this bounds how late Ctrl-C is seen by a daemon
// that keeps up with its targets.
constexpr int turn_wait_ms = 5;
}  // namespace

void run_session_loop(session_source& source, trace_output& output, const session_options& options) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    bool keep_until_over = false;
    live_controls live(options.live);
    for (;;) {
        const std::size_t n = source.take(turn_wait_ms);
        if (n > 0) output.flush();
        source.after_turn(n);
        if (interrupts_received() && !keep_until_over) {
            if (interrupts_received() > 1 || !source.on_interrupt()) break;
            keep_until_over = true;
        }
        if (live.turn(output, source.last_event_ts())) break;
        if (source.over() || output.limit_reached()) break;
        if (options.duration && std::chrono::duration<double>(clock::now() - start).count() >= *options.duration)
            break;
    }
}

}  // namespace cotrace
