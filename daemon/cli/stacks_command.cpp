// `cotrace stacks -p PID`: every coroutine suspended in a process now, read
// out of its memory (/proc/PID/maps and process_vm_readv, nothing written,
// no BPF), with the await tree of each request.

#include <sys/uio.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>

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

// Resident (or swapped) kB of each mapping, by start, from /proc/PID/smaps.
std::map<std::uint64_t, std::uint64_t> resident_kib(std::uint32_t pid) {
    std::map<std::uint64_t, std::uint64_t> out;
    std::ifstream f("/proc/" + std::to_string(pid) + "/smaps");
    std::string line;
    std::uint64_t current = 0;
    bool have = false;
    while (std::getline(f, line)) {
        const auto dash = line.find('-');
        const auto space = line.find(' ');
        if (dash != std::string::npos && space != std::string::npos && dash < space &&
            line.find_first_not_of("0123456789abcdef") == dash) {
            current = std::strtoull(line.c_str(), nullptr, 16);
            out[current] = 0;
            have = true;
        } else if (have && (line.rfind("Rss:", 0) == 0 || line.rfind("Swap:", 0) == 0)) {
            out[current] += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
        }
    }
    return out;
}

// The runs of resident or swapped pages of [start, end), from /proc/PID/pagemap.
void present_runs(int pagemap, std::uint64_t start, std::uint64_t end, std::vector<memory_region>& out) {
    constexpr std::uint64_t page = 4096, batch = 4096;
    std::vector<std::uint64_t> entries(batch);
    std::uint64_t run_start = 0;
    bool in_run = false;
    for (std::uint64_t at = start; at < end;) {
        const std::uint64_t pages = std::min<std::uint64_t>(batch, (end - at) / page);
        if (pages == 0) break;
        const ssize_t got = pread(pagemap, entries.data(), pages * 8, static_cast<off_t>(at / page * 8));
        if (got != static_cast<ssize_t>(pages * 8)) {  // unreadable: take the rest whole
            if (!in_run) run_start = at;
            in_run = true;
            at = end;
            break;
        }
        for (std::uint64_t i = 0; i < pages; ++i, at += page) {
            const bool present = (entries[i] >> 62) & 3;  // bit 63 present, bit 62 swapped
            if (present && !in_run) run_start = at;
            if (!present && in_run) out.push_back({run_start, at});
            in_run = present;
        }
    }
    if (in_run) out.push_back({run_start, end});
}

// Anonymous read-write memory: the heap and malloc's other arenas, not the
// threads' stacks. A stack holds copies of frame headers (a ramp function
// inlined into its caller builds the header there) that are not frames; a
// frame elided onto a stack is missed with them. Mappings with nothing
// resident are skipped; sparse ones (malloc's reserved arenas, a sanitizer's
// shadow) are read only where pages are present; reservations past
// max_sparse are skipped whole and counted.
constexpr std::uint64_t max_sparse = 64ull << 30;

std::vector<memory_region> regions_to_scan(std::uint32_t pid, const std::vector<mapping>& maps,
                                           std::uint64_t& skipped) {
    const std::vector<std::uint64_t> sps = thread_stack_pointers(pid);
    const std::map<std::uint64_t, std::uint64_t> resident = resident_kib(pid);
    const int pagemap = ::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<memory_region> regions;
    for (const mapping& m : maps) {
        if (!m.read || !m.write || !m.path.empty() || m.stack) continue;
        if (std::any_of(sps.begin(), sps.end(), [&](std::uint64_t sp) { return sp >= m.start && sp < m.end; }))
            continue;
        const auto r = resident.find(m.start);
        const std::uint64_t size = m.end - m.start;
        const std::uint64_t in_memory = r == resident.end() ? size : r->second * 1024;
        if (in_memory == 0) continue;
        if (size <= 2 * in_memory + (1u << 20) || pagemap < 0) {
            regions.push_back({m.start, m.end});
        } else if (size > max_sparse) {
            skipped += size;
        } else {
            present_runs(pagemap, m.start, m.end, regions);
        }
    }
    if (pagemap >= 0) ::close(pagemap);
    return regions;
}

// One pass over the target's anonymous memory.
struct one_scan {
    scan_result frames;
    std::uint64_t skipped = 0;
    std::uint64_t scan_ns = 0;
};

one_scan scan_once(std::uint32_t pid, const std::vector<mapping>& maps, const coroutine_catalog& catalog,
                   process_memory& memory) {
    one_scan out;
    const std::vector<memory_region> regions = regions_to_scan(pid, maps, out.skipped);
    const auto began = std::chrono::steady_clock::now();
    out.frames = scan_for_frames(memory, regions, catalog.kinds);
    out.scan_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - began).count());
    return out;
}

}  // namespace

int stacks_command(std::uint32_t pid, const std::string& format, std::optional<std::uint64_t> interval_ns) {
    const std::vector<mapping> maps = maps_or_fail(pid);
    process_memory memory(pid);
    // One read up front: no permission is one clear line, not an empty snapshot.
    {
        std::uint64_t ignored = 0;
        const std::vector<memory_region> regions = regions_to_scan(pid, maps, ignored);
        unsigned char byte;
        if (!regions.empty() && !memory.read(regions.front().start, &byte, 1) &&
            (memory.last_errno() == EPERM || memory.last_errno() == EACCES))
            throw error("cannot read " + who(pid) + "'s memory (" + std::strerror(memory.last_errno()) +
                        "): run as root or as its owner, with ptrace allowed (kernel.yama.ptrace_scope)");
        if (memory.last_errno() == ESRCH) throw error(who(pid) + " exited: check the PID");
    }

    const coroutine_catalog catalog = read_coroutine_catalog(pid, maps);
    if (catalog.kinds.empty())
        throw error(who(pid) + " has no coroutine functions in its symbol tables: run it unstripped, built with "
                    "C++20 coroutines (g++ or clang)");

    // With --interval: a first scan, the interval, and the snapshot from the
    // second; a frame at the same suspend point in both has waited at least
    // the interval (or left and came back to it: a scan cannot tell).
    std::optional<one_scan> earlier;
    if (interval_ns) {
        earlier = scan_once(pid, maps, catalog, memory);
        std::fprintf(stderr, "cotrace: scanned once (%zu frames); scanning again in %.3g s\n",
                     earlier->frames.frames.size(), static_cast<double>(*interval_ns) / 1e9);
        std::this_thread::sleep_for(std::chrono::nanoseconds(*interval_ns));
        if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) throw error(who(pid) + " exited during the interval");
    }
    const std::vector<mapping> maps_now = interval_ns ? maps_or_fail(pid) : maps;
    const one_scan now = scan_once(pid, maps_now, catalog, memory);

    target_symbols symbols;
    symbols.refresh(pid);
    const site_resolver resolve = [&](std::uint64_t address) -> std::optional<stack_site> {
        const resolved_site s = symbols.site(pid, address);
        if (!s.known()) return std::nullopt;
        return stack_site{s.file, s.function, s.line};
    };
    stack_snapshot snapshot =
        earlier ? build_await_forest(now.frames, catalog, resolve, earlier_scan{&earlier->frames, *interval_ns})
                : build_await_forest(now.frames, catalog, resolve);
    snapshot.pid = pid;
    snapshot.bytes_skipped = now.skipped;
    snapshot.scan_ns = now.scan_ns;
    if (format == "json")
        write_stacks_json(std::cout, snapshot);
    else
        write_stacks_text(std::cout, snapshot);
    std::cout.flush();
    return exit_ok;
}

}  // namespace cotrace
