#include "collect/probe_discovery.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <set>

#include "cotrace_probes.h"
#include "error.hpp"
#include "target/mapped_file.hpp"
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

namespace {
std::vector<probe_object> probe_objects_of(std::uint32_t pid, const std::vector<mapping>& maps,
                                           std::set<std::pair<dev_t, ino_t>>* examined);
}  // namespace

std::vector<probe_object> find_new_probe_objects(std::uint32_t pid, std::set<std::pair<dev_t, ino_t>>& examined) {
    auto maps = read_maps(pid);
    if (!maps) return {};
    return probe_objects_of(pid, *maps, &examined);
}

std::vector<probe_object> find_probe_objects(std::uint32_t pid, std::set<std::pair<dev_t, ino_t>>* examined) {
    auto maps = read_maps(pid);
    if (!maps) {
        const std::string dir = "/proc/" + std::to_string(pid);
        if (access(dir.c_str(), F_OK) != 0)
            throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                        std::to_string(pid) + "`)");
        throw error("cannot read " + dir + "/maps: not enough privilege; run as root or grant "
                    "CAP_SYS_PTRACE (and CAP_BPF, CAP_PERFMON to trace)");
    }
    return probe_objects_of(pid, *maps, examined);
}

namespace {
std::vector<probe_object> probe_objects_of(std::uint32_t pid, const std::vector<mapping>& maps,
                                           std::set<std::pair<dev_t, ino_t>>* examined) {
    std::vector<probe_object> out;
    std::set<std::string> seen;
    for (const mapping& m : maps) {
        // Probes live in code: only executable mappings are read (a mapped
        // data file, however large, is never opened).
        if (!m.exec || m.path.empty() || !seen.insert(m.path).second) continue;
        if (examined) {
            struct stat st;
            if (::stat(mapped_file_path(pid, m).c_str(), &st) != 0) continue;
            if (!examined->insert({st.st_dev, st.st_ino}).second) continue;
        }
        // A file deleted or replaced since it was mapped is read (and its
        // probes attached) through the kernel's handle on the mapping.
        const std::string open_path = mapped_file_path(pid, m);
        elf_open_error why;
        auto obj = elf_object::open(open_path, &why);
        if (!obj) {
            // One unreadable object costs its probes, not the session.
            if (mapped_file_name(m) != m.path)
                spdlog::warn("{} was deleted and its mapping cannot be read ({}); its probes are not traced",
                             mapped_file_name(m), open_path);
            else if (why.kind != elf_open_error::not_elf)
                spdlog::warn("{} {}; its probes, if any, are not traced", m.path, why.message);
            continue;
        }
        auto notes = cotrace_notes(*obj);
        if (!notes.empty()) out.push_back({mapped_file_name(m), open_path, std::move(notes)});
    }
    return out;
}
}  // namespace

probe_object probe_object_of_file(const std::string& path) {
    elf_open_error why;
    auto obj = elf_object::open(path, &why);
    if (!obj)
        throw error(path + " " + why.message + " (give an executable or shared library)");
    return {path, path, cotrace_notes(*obj)};
}

}  // namespace cotrace
