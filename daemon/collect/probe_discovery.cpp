#include "collect/probe_discovery.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <set>

#include "cotrace_probes.h"
#include "error.hpp"
#include "target/proc_maps.hpp"

namespace cotrace {

namespace {
std::vector<usdt_note> cotrace_notes(const elf_object& obj) {
    std::vector<usdt_note> out;
    for (const usdt_note& n : obj.notes())
        if (n.provider == COTRACE_PROVIDER) out.push_back(n);
    return out;
}
}  // namespace

std::vector<probe_object> find_probe_objects(std::uint32_t pid) {
    auto maps = read_maps(pid);
    if (!maps) {
        const std::string dir = "/proc/" + std::to_string(pid);
        if (access(dir.c_str(), F_OK) != 0)
            throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                        std::to_string(pid) + "`)");
        throw error("cannot read " + dir + "/maps: not enough privilege; run as root or grant "
                    "CAP_SYS_PTRACE (and CAP_BPF, CAP_PERFMON to trace)");
    }
    std::vector<probe_object> out;
    std::set<std::string> seen;
    for (const mapping& m : *maps) {
        // Probes live in code: only executable mappings are read (a mapped
        // data file, however large, is never opened).
        if (!m.exec || m.path.empty() || !seen.insert(m.path).second) continue;
        const std::string open_path = target_path(pid, m.path);
        elf_open_error why;
        auto obj = elf_object::open(open_path, &why);
        if (!obj) {
            // One unreadable object costs its probes, not the session.
            if (why.kind != elf_open_error::not_elf)
                spdlog::warn("{} {}; its probes, if any, are not traced", m.path, why.message);
            continue;
        }
        auto notes = cotrace_notes(*obj);
        if (!notes.empty()) out.push_back({m.path, open_path, std::move(notes)});
    }
    return out;
}

probe_object probe_object_of_file(const std::string& path) {
    elf_open_error why;
    auto obj = elf_object::open(path, &why);
    if (!obj)
        throw error(path + " " + why.message + " (give an executable or shared library)");
    return {path, path, cotrace_notes(*obj)};
}

}  // namespace cotrace
