#pragma once
// A tracing session: live events from the BPF collector, through the
// assembler, into one sink, until Ctrl-C, --duration or the target's exit.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "assembler.hpp"

namespace cotrace {

struct session_options {
    std::string format = "tree";
    std::string output;             // empty: stdout
    std::optional<double> duration;  // seconds
    std::size_t ring_bytes = 16u << 20;
    assembler_options limits;
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
// once the session is over. `release` is called once the probes are
// attached (run lets its child exec then). Throws cotrace::error.
// `executable`, when given, is attached instead of scanning the process's
// mappings (run: the child has not exec'd yet).
void trace_process(std::uint32_t pid, const session_options& options, target_watch& watch,
                   const std::string& executable = {}, const std::function<void()>& release = {});

}  // namespace cotrace
