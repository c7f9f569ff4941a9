#include "target/target_symbols.hpp"

#include <sys/uio.h>

#include <cstdio>

#include "cotrace_probes.h"
#include "target/function_name.hpp"
#include "target/mapped_file.hpp"

namespace cotrace {

bool read_process_memory(std::uint32_t pid, std::uint64_t addr, void* out, std::size_t size) {
    iovec local{out, size};
    iovec remote{reinterpret_cast<void*>(addr), size};
    return process_vm_readv(static_cast<pid_t>(pid), &local, 1, &remote, 1, 0) ==
           static_cast<ssize_t>(size);
}

void target_symbols::refresh(std::uint32_t pid) {
    auto m = read_maps(pid);
    // A process that has exited but is not yet reaped (a zombie) still has
    // a maps file, empty: keep what it had mapped, to name its last events.
    if (!m || m->empty()) return;
    maps_[pid] = std::move(*m);
    // Open the objects now: /proc/PID/root is gone once the process exits,
    // and a short-lived target may exit before its events are read.
    for (const mapping& map : maps_[pid])
        if (map.exec && !map.path.empty()) object(pid, map);
}

const elf_object* target_symbols::object(std::uint32_t pid, const mapping& m) {
    auto it = objects_.find(m.path);
    if (it == objects_.end()) {
        auto obj = elf_object::open(mapped_file_path(pid, m));
        if (!obj && m.path == mapped_file_name(m))
            obj = elf_object::open(m.path);  // the process is gone; same mount namespace
        it = objects_.emplace(m.path, std::move(obj)).first;
    }
    return it->second.get();
}

std::optional<target_symbols::located> target_symbols::locate_known(std::uint32_t pid, std::uint64_t addr) {
    auto it = maps_.find(pid);
    if (it == maps_.end()) return std::nullopt;
    for (const mapping& m : it->second) {
        if (addr < m.start || addr >= m.end || m.path.empty()) continue;
        const elf_object* obj = object(pid, m);
        if (!obj) return std::nullopt;
        auto vaddr = obj->vaddr_of_offset(addr - m.start + m.offset);
        if (!vaddr) return std::nullopt;
        return located{obj, *vaddr};
    }
    return std::nullopt;
}

std::optional<target_symbols::located> target_symbols::locate(std::uint32_t pid, std::uint64_t addr) {
    if (auto where = locate_known(pid, addr)) return where;
    refresh(pid);  // a mapping we have not seen yet
    return locate_known(pid, addr);
}

const std::vector<mapping>& target_symbols::mappings(std::uint32_t pid) {
    static const std::vector<mapping> none;
    auto it = maps_.find(pid);
    return it == maps_.end() ? none : it->second;
}

bool target_symbols::in_coroutine_resume(std::uint32_t pid, std::uint64_t addr) {
    const auto sym = symbol_name(pid, addr);
    if (!sym) return false;
    const auto ends_with = [&](const std::string& suffix) {
        return sym->size() >= suffix.size() && sym->compare(sym->size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (sym->rfind("_ZN7cotrace6detail", 0) == 0) return false;  // cotrace::detail::
    return ends_with(".actor") || ends_with(".resume") || ends_with("[clone .actor]");
}

std::optional<std::string> target_symbols::symbol_name(std::uint32_t pid, std::uint64_t addr) {
    const auto where = locate_known(pid, addr);
    if (!where) return std::nullopt;
    return where->object->symbol_at(where->vaddr);
}

std::vector<std::string> target_symbols::inlined_at(std::uint32_t pid, std::uint64_t addr, std::string_view named) {
    const auto where = locate_known(pid, addr);
    if (!where) return {};
    auto it = inlined_.find(where->object);
    if (it == inlined_.end()) it = inlined_.emplace(where->object, inlined_code::open(where->object->path())).first;
    return it->second ? it->second->at(where->vaddr, named) : std::vector<std::string>{};
}

std::optional<std::uint64_t> target_symbols::function_entry(std::uint32_t pid, std::uint64_t addr) {
    const auto where = locate_known(pid, addr);
    if (!where) return std::nullopt;
    const elf_object::symbol* sym = where->object->function_at(where->vaddr);
    if (!sym) return std::nullopt;
    return addr - (where->vaddr - sym->start);
}

std::optional<std::string> target_symbols::read_text(std::uint32_t pid, std::uint64_t addr,
                                                     const elf_object* in) {
    if (addr == 0) return std::nullopt;
    if (in)
        if (auto s = in->read_string(addr)) return s;
    if (auto where = locate(pid, addr))
        if (auto s = where->object->read_string(where->vaddr)) return s;
    std::string s;
    char chunk[64];
    while (s.size() < 4096 && read_process_memory(pid, addr + s.size(), chunk, sizeof chunk)) {
        for (char c : chunk) {
            if (c == '\0') return s;
            s.push_back(c);
        }
    }
    return std::nullopt;
}

resolved_site target_symbols::site(std::uint32_t pid, std::uint64_t addr) {
    resolved_site out;
    if (addr == 0) return out;
    cotrace_site raw{};
    if (auto where = locate(pid, addr); where && where->object->read(where->vaddr, &raw, sizeof raw)) {
        // The file holds link-time addresses: the strings are in the same object.
        out.file = read_text(pid, reinterpret_cast<std::uint64_t>(raw.file), where->object).value_or("");
        out.function = read_text(pid, reinterpret_cast<std::uint64_t>(raw.function), where->object).value_or("");
        out.line = raw.line;
    } else if (read_process_memory(pid, addr, &raw, sizeof raw)) {
        out.file = read_text(pid, reinterpret_cast<std::uint64_t>(raw.file), nullptr).value_or("");
        out.function = read_text(pid, reinterpret_cast<std::uint64_t>(raw.function), nullptr).value_or("");
        out.line = raw.line;
    }
    return out;
}

std::string target_symbols::function(std::uint32_t pid, std::uint64_t addr) {
    if (auto where = locate(pid, addr))
        if (auto sym = where->object->symbol_at(where->vaddr)) return readable_function_name(*sym);
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(addr));
    return buf;
}

std::string target_symbols::text(std::uint32_t pid, std::uint64_t addr) {
    return read_text(pid, addr, nullptr).value_or("?");
}

std::optional<std::uint64_t> target_symbols::frame_code(std::uint32_t pid, std::uint64_t frame) {
    std::uint64_t code = 0;
    if (frame == 0 || !read_process_memory(pid, frame, &code, sizeof code)) return std::nullopt;
    return code;
}

}  // namespace cotrace
