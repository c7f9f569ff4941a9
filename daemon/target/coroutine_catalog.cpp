#include "target/coroutine_catalog.hpp"

#include <map>
#include <memory>
#include <unordered_map>

#include "target/elf_object.hpp"
#include "target/function_name.hpp"
#include "target/mapped_file.hpp"

namespace cotrace {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<cotrace_frame_layout> layouts_of(const elf_object& obj, std::uint64_t& count) {
    std::vector<cotrace_frame_layout> out;
    for (std::uint64_t vaddr : obj.layout_records()) {
        cotrace_frame_layout l{};
        if (!obj.read(vaddr, &l, sizeof l) || !valid_layout(l)) continue;
        ++count;
        bool seen = false;
        for (const cotrace_frame_layout& o : out)
            if (o.promise_offset == l.promise_offset && o.self_handle_offset == l.self_handle_offset &&
                o.continuation_offset == l.continuation_offset && o.join_offset == l.join_offset &&
                o.join_waiter_offset == l.join_waiter_offset)
                seen = true;
        if (!seen) out.push_back(l);
    }
    return out;
}

void add_object(const elf_object& obj, const std::string& path, std::uint64_t bias, coroutine_catalog& out) {
    const std::vector<cotrace_frame_layout> layouts = layouts_of(obj, out.layout_records);
    // DWARF is read only for objects with cotrace tasks in them.
    const frame_debug_info debug = layouts.empty() ? frame_debug_info{} : read_frame_debug_info(path);
    std::unordered_map<std::string, std::uint64_t> by_name;
    for (const elf_object::symbol& s : obj.function_symbols()) by_name.emplace(s.name, s.start);
    for (const elf_object::symbol& s : obj.function_symbols()) {
        std::string base;
        if (ends_with(s.name, ".actor"))
            base = s.name.substr(0, s.name.size() - 6);
        else if (ends_with(s.name, ".resume"))
            base = s.name.substr(0, s.name.size() - 7);
        else
            continue;
        const auto destroy = by_name.find(base + ".destroy");
        if (destroy == by_name.end()) continue;
        coroutine_kind kind{s.start + bias, destroy->second + bias, layouts, std::nullopt, std::nullopt};
        if (const auto map = debug.gcc.find(frame_type_of_actor(s.name)); map != debug.gcc.end()) {
            kind.suspends = map->second;
            ++out.suspend_maps;
        }
        if (const auto clang = debug.clang.find(frame_type_of_resume(s.name)); clang != debug.clang.end())
            kind.clang_task = clang->second;
        out.kinds.push_back(std::move(kind));
        out.names.push_back(readable_function_name(s.name));
    }
}

}  // namespace

coroutine_catalog read_coroutine_catalog(std::uint32_t pid, const std::vector<mapping>& maps) {
    coroutine_catalog out;
    std::map<std::string, bool> seen;
    for (const mapping& m : maps) {
        if (m.path.empty() || seen.count(m.path)) continue;
        auto obj = elf_object::open(mapped_file_path(pid, m));
        if (!obj) {
            seen[m.path] = true;  // a data file, or gone
            continue;
        }
        const auto vaddr = obj->vaddr_of_offset(m.offset);
        if (!vaddr) continue;
        seen[m.path] = true;
        add_object(*obj, mapped_file_path(pid, m), m.start - *vaddr, out);  // unsigned: a wrap is the right bias too
    }
    return out;
}

}  // namespace cotrace
