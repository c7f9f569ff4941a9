#pragma once
// `cotrace top -p PID`: the attach session with the top view (sinks/top_view.hpp)
// as its sink and redrawn on the session's timer; `q` on the terminal quits.

#include <chrono>
#include <cstdint>

namespace cotrace {

struct top_options {
    std::chrono::milliseconds interval{1000};  // between redraws
};

int top_command(std::uint32_t pid, const top_options& options);

}  // namespace cotrace
