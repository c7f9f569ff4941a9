#pragma once
// A live tracing session: events from the BPF collector, through the shared
// output stage (assembler → filter → sink), and optionally into a recording,
// until Ctrl-C, --duration, --limit or the target's exit.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cli/live_controls.hpp"
#include "sinks/trace_output.hpp"

namespace cotrace {

struct session_options {
    output_options output;
    std::optional<double> duration;  // seconds
    std::size_t ring_bytes = 16u << 20;
    std::string save;           // recording path; empty: none
    std::uint32_t sample = 1;   // keep one root trace in N (decided in BPF)
    live_options live;          // --stuck, keys, a periodic view (live_controls.hpp)
};

// How a session learns that its target has ended.
class target_watch {
public:
    virtual ~target_watch() = default;
    // True once the target has exited.
    virtual bool exited() = 0;
    // Called on the first Ctrl-C/SIGTERM: true to keep tracing until the
    // target exits (run forwards the signal to its child), false to stop now.
    virtual bool on_interrupt() { return false; }
};

// Traces pid (already running, or held before exec by `run`) and returns
// once the session is over. Throws cotrace::error.
// `executable`, when given, is attached instead of scanning the process's
// mappings (run: the child has not exec'd yet), and `release` is called once
// the probes are attached (run lets its child exec then).
void trace_process(std::uint32_t pid, const session_options& options, target_watch& watch,
                   const std::string& executable = {}, const std::function<void()>& release = {});

// `cotrace report`: replays a recording through the same output stage.
void replay_file(const std::string& path, const output_options& options);

}  // namespace cotrace
