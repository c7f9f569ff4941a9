#pragma once
// /proc/PID/maps: which file backs each address of a process.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cotrace {

struct mapping {
    std::uint64_t start = 0, end = 0, offset = 0;
    bool exec = false;
    bool read = false, write = false;
    bool stack = false;  // the main thread's [stack]
    std::string path;  // as the target sees it; empty for anonymous memory
};

// Parses a maps file's text (testable without a process).
std::vector<mapping> parse_maps(const std::string& text);
// Reads /proc/PID/maps; nullopt when the process is gone or unreadable.
std::optional<std::vector<mapping>> read_maps(std::uint32_t pid);
// The path through which the daemon opens a file the target maps: through
// /proc/PID/root, so objects inside a container's mount namespace are found.
std::string target_path(std::uint32_t pid, const std::string& path);

}  // namespace cotrace
