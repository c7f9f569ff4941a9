#pragma once
// The cotrace USDT semaphores of a running process, read from outside:
// addresses from `readelf -n` on /proc/PID/exe, the load base from
// /proc/PID/maps (the executables are PIE), values with process_vm_readv.
// The kernel raises a semaphore while a uprobe is attached to its probe and
// lowers it when the tracer goes (also on SIGKILL): all 0 means no tracer.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "process.hpp"

namespace e2e_asio {

struct probe_note {
    std::string probe;
    std::uint64_t semaphore;  // link-time address
};

// Every provider-"cotrace" note of an ELF file (one per probe site).
std::vector<probe_note> cotrace_notes_of(const std::string& elf_path);

class target_semaphores {
public:
    explicit target_semaphores(pid_t pid);  // throws if the executable has no cotrace probes

    struct value {
        std::string probe;
        std::uint16_t count;
    };
    std::vector<value> read() const;
    bool all_zero() const;
    bool all_nonzero() const;
    // The kernel changes them on its own schedule and tells nobody: polls.
    bool wait_all_zero(std::chrono::milliseconds timeout = deadline) const;
    std::string describe() const;  // "async_begin=1 resume=1 ..."

private:
    pid_t pid_;
    std::uint64_t load_base_ = 0;
    std::vector<probe_note> semaphores_;  // distinct
};

}  // namespace e2e_asio
