#pragma once
// Sessions over several processes at once, into one output: `attach -p A -p B`
// and `attach --binary PATH`. Traces carry their pid; a request that crosses
// from one traced process to another (<cotrace/propagation.hpp>) is shown
// joined (the callee's root names the caller's trace and span).
//
// -p: each process gets its own collector, exactly as a single `attach`
// (probes attached to that PID only, its threads' states taken at attach),
// and their events are merged in time order.
// --binary: one collector whose probes are attached to the file for every
// process (uprobes with no PID), so each process running it, and each one
// started later, is traced until Ctrl-C or --duration. A process that
// starts while the session runs has every thread idle at its start: its
// requests are complete traces from the first. Processes already running
// at attach are traced from then on, their threads' states unknown (work
// begun before attach is marked partial). Probes of the executable are
// attached; those of its shared libraries are not.
// Both turn the loop of every session (cli/session_loop.hpp): --stuck,
// SIGUSR1 and the keys show what is in flight in every process traced.

#include <cstdint>
#include <string>
#include <vector>

#include "cli/session.hpp"

namespace cotrace {

// Throws cotrace::error (exit_usage for bad input: a missing PID, a PATH that
// is not an ELF executable with cotrace probes).
void trace_processes(const std::vector<std::uint32_t>& pids, const session_options& options);
void trace_binary(const std::string& path, const session_options& options);

}  // namespace cotrace
