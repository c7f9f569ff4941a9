// `cotrace stacks -p PID`: every coroutine suspended in a process now, read
// out of its memory (/proc/PID/maps and process_vm_readv, nothing written,
// no BPF), with the await tree of each request.

#include <sys/uio.h>

#include <dirent.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "error.hpp"
#include "sinks/stacks_output.hpp"
#include "target/await_forest.hpp"
#include "target/coroutine_catalog.hpp"
#include "target/heap_scan.hpp"
#include "target/proc_maps.hpp"
#include "target/target_symbols.hpp"

namespace cotrace {

namespace {

class process_memory : public memory_reader {
public:
    explicit process_memory(std::uint32_t pid) : pid_(pid) {}
    bool read(std::uint64_t addr, void* out, std::size_t size) override {
        iovec local{out, size};
        iovec remote{reinterpret_cast<void*>(addr), size};
        const ssize_t got = process_vm_readv(static_cast<pid_t>(pid_), &local, 1, &remote, 1, 0);
        if (got < 0) last_errno_ = errno;
        return got == static_cast<ssize_t>(size);
    }
    int last_errno() const { return last_errno_; }

private:
    std::uint32_t pid_;
    int last_errno_ = 0;
};

std::string who(std::uint32_t pid) { return "process " + std::to_string(pid); }

std::vector<mapping> maps_or_fail(std::uint32_t pid) {
    std::ifstream probe("/proc/" + std::to_string(pid) + "/maps");
    const int open_errno = errno;
    if (!probe) {
        if (open_errno == ENOENT) throw error(who(pid) + " does not exist: check the PID");
        throw error("cannot read " + who(pid) + "'s memory map (" + std::strerror(open_errno) +
                    "): run as root or as its owner, with ptrace allowed (kernel.yama.ptrace_scope)");
    }
    auto maps = read_maps(pid);
    if (!maps || maps->empty())
        throw error("cannot read " + who(pid) + "'s memory map: run as root or as its owner, with ptrace allowed "
                    "(kernel.yama.ptrace_scope)");
    return *maps;
}

// The stack pointer of every thread blocked in the kernel, from
// /proc/PID/task/TID/syscall ("NR ARGS... SP PC", or "-1 SP PC"; "running"
// gives none).
std::vector<std::uint64_t> thread_stack_pointers(std::uint32_t pid) {
    std::vector<std::uint64_t> out;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream f(dir + "/" + e->d_name + "/syscall");
        std::vector<std::string> fields;
        for (std::string w; f >> w && fields.size() < 16;) fields.push_back(w);
        if (fields.size() < 3) continue;
        try {
            out.push_back(std::stoull(fields[fields.size() - 2], nullptr, 16));
        } catch (const std::exception&) {
        }
    }
    closedir(d);
    return out;
}

// Anonymous read-write memory: the heap and malloc's other arenas, not the
// threads' stacks. A stack holds copies of frame headers (a ramp function
// inlined into its caller builds the header there) that are not frames; a
// frame elided onto a stack is missed with them.
std::vector<memory_region> regions_to_scan(std::uint32_t pid, const std::vector<mapping>& maps) {
    const std::vector<std::uint64_t> sps = thread_stack_pointers(pid);
    std::vector<memory_region> regions;
    for (const mapping& m : maps) {
        if (!m.read || !m.write || !m.path.empty() || m.stack) continue;
        if (std::any_of(sps.begin(), sps.end(), [&](std::uint64_t sp) { return sp >= m.start && sp < m.end; }))
            continue;
        regions.push_back({m.start, m.end});
    }
    return regions;
}

}  // namespace

int stacks_command(std::uint32_t pid, const std::string& format) {
    const std::vector<mapping> maps = maps_or_fail(pid);
    const std::vector<memory_region> regions = regions_to_scan(pid, maps);

    process_memory memory(pid);
    // One read up front: no permission is one clear line, not an empty snapshot.
    if (!regions.empty()) {
        unsigned char byte;
        if (!memory.read(regions.front().start, &byte, 1) && (memory.last_errno() == EPERM || memory.last_errno() == EACCES))
            throw error("cannot read " + who(pid) + "'s memory (" + std::strerror(memory.last_errno()) +
                        "): run as root or as its owner, with ptrace allowed (kernel.yama.ptrace_scope)");
        if (memory.last_errno() == ESRCH) throw error(who(pid) + " exited: check the PID");
    }

    const coroutine_catalog catalog = read_coroutine_catalog(pid, maps);
    if (catalog.kinds.empty())
        throw error(who(pid) + " has no coroutine functions in its symbol tables: run it unstripped, built with "
                    "C++20 coroutines (g++ or clang)");

    const auto began = std::chrono::steady_clock::now();
    const scan_result scan = scan_for_frames(memory, regions, catalog.kinds);
    const auto scanned = std::chrono::steady_clock::now();

    target_symbols symbols;
    symbols.refresh(pid);
    stack_snapshot snapshot = build_await_forest(scan, catalog, [&](std::uint64_t address) -> std::optional<stack_site> {
        const resolved_site s = symbols.site(pid, address);
        if (!s.known()) return std::nullopt;
        return stack_site{s.file, s.function, s.line};
    });
    snapshot.pid = pid;
    snapshot.scan_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(scanned - began).count());
    if (format == "json")
        write_stacks_json(std::cout, snapshot);
    else
        write_stacks_text(std::cout, snapshot);
    std::cout.flush();
    return exit_ok;
}

}  // namespace cotrace
