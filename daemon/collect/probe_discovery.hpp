#pragma once
// Finds the ELF objects of a process (or a file) that carry cotrace probes.

#include <cstdint>
#include <set>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "target/elf_object.hpp"

namespace cotrace {

struct probe_object {
    std::string path;       // as the target maps it (or as given)
    std::string open_path;  // how the daemon opens it (through /proc/PID/root)
    std::vector<usdt_note> probes;  // provider "cotrace" only
};

// Every object mapped into pid with cotrace probes (main binary and shared
// libraries). Throws cotrace::error when the process does not exist.
// `examined`, when given, collects the files read (see below).
std::vector<probe_object> find_probe_objects(std::uint32_t pid, std::set<std::pair<dev_t, ino_t>>* examined = nullptr);
// The same, skipping files already in `examined` (known by device and inode)
// and adding the ones it reads: cheap enough to call at every dlopen.
// Empty when the process is gone.
std::vector<probe_object> find_new_probe_objects(std::uint32_t pid, std::set<std::pair<dev_t, ino_t>>& examined);
// The cotrace probes of one ELF file. Throws when it is not a readable ELF file.
probe_object probe_object_of_file(const std::string& path);

}  // namespace cotrace
