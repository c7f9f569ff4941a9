#pragma once
// The USDT semaphores of a running traced process, read from outside.
//
// Each cotrace probe has a semaphore (a 16-bit counter in the target's
// .probes section). The kernel raises it while a uprobe with that ref-counter
// is attached and lowers it when the last one goes, also when the tracer is
// SIGKILLed (its perf fds close). So "all the target's cotrace semaphores are
// 0" means no tracer is attached to it, and "all are non-zero" means every
// probe is. This is read independently of cotrace: addresses come from
// `readelf -n` on the running binary (/proc/PID/exe), the load base from
// /proc/PID/maps (the executables are PIE) and the values from the target's
// memory (process_vm_readv).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "process.hpp"

namespace e2e {

struct probe_semaphore {
    std::string probe;      // first probe name using it (one semaphore per probe name)
    std::uint64_t address;  // link-time address, from the ELF note
};

// Every provider-"cotrace" note of an ELF file (one per probe site), via readelf.
std::vector<probe_semaphore> cotrace_notes_of(const std::string& elf_path);
// The distinct semaphores among them.
std::vector<probe_semaphore> cotrace_semaphores_of(const std::string& elf_path);

class target_semaphores {
public:
    // Reads the notes of the executable `pid` runs. Throws if it has none.
    explicit target_semaphores(pid_t pid);

    struct value {
        std::string probe;
        std::uint16_t count;
    };
    // Current values; throws if the memory cannot be read (e.g. the process is gone).
    std::vector<value> read() const;

    bool all_zero() const;
    bool all_nonzero() const;
    // The kernel updates them on its own schedule and tells nobody, so this
    // polls (every 5 ms) until the condition holds or the timeout passes.
    bool wait_all_zero(std::chrono::milliseconds timeout = deadline) const;
    bool wait_all_nonzero(std::chrono::milliseconds timeout = deadline) const;

    std::string describe() const;  // "suspend=1 resume=1 ..." for messages
    std::size_t size() const { return semaphores_.size(); }

private:
    pid_t pid_;
    std::uint64_t load_base_ = 0;
    std::vector<probe_semaphore> semaphores_;
};

}  // namespace e2e
