#pragma once
// The target's own names for its threads and itself, captured while it runs
// and put into the event stream as collector events (probes/cotrace_probes.h:
// COTRACE_EV_thread_name, COTRACE_EV_process_name), so that the live output
// and a replay of the recording both name them.
//
// Ahead of the first event of the session: the process's name. Ahead of the
// first event of each thread: that thread's comm, read from
// /proc/PID/task/TID/comm at once (a thread that already exited keeps no
// name, and sinks show "thread N"). One small read per thread, never per event.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "cotrace_probes.h"

namespace cotrace {

class thread_names {
public:
    using emit_fn = std::function<void(const cotrace_event&)>;

    // process_name: what the process is called (run: the command's base name).
    thread_names(std::uint32_t pid, std::string process_name) : pid_(pid), process_name_(std::move(process_name)) {}

    // Call with every event before passing it on: emits the name events it
    // needs first.
    void before(const cotrace_event& e, const emit_fn& emit);

    // The name `attach` gives a running process: its command line's first
    // word, without the directory (the comm when that cannot be read).
    static std::string process_name_of(std::uint32_t pid);
    // Base name of a path ("/usr/bin/pipeline" -> "pipeline").
    static std::string base_name(const std::string& path);

    // The collector events, for tests and for anyone who writes them.
    static cotrace_event thread_name_event(std::uint32_t pid, std::uint32_t tid, std::uint64_t ts_ns,
                                           const std::string& name);
    static cotrace_event process_name_event(std::uint32_t pid, std::uint64_t ts_ns, const std::string& name);

private:
    std::uint32_t pid_;
    std::string process_name_;
    bool process_named_ = false;
    std::unordered_set<std::uint32_t> seen_;
};

}  // namespace cotrace
