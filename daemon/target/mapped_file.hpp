#pragma once
// How the daemon opens the file behind a mapping of a live process. The
// target's path, through /proc/PID/root, when it still names the mapped
// file; otherwise (the file was deleted or replaced after the process
// mapped it, e.g. a binary rebuilt while it runs) the kernel's own handle
// on the mapped file, /proc/PID/map_files/START-END.

#include <cstdint>
#include <string>

#include "target/proc_maps.hpp"

namespace cotrace {

std::string mapped_file_path(std::uint32_t pid, const mapping& m);

// The path as the target knows it, without the kernel's " (deleted)" mark.
std::string mapped_file_name(const mapping& m);

}  // namespace cotrace
