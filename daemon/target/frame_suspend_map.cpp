#include "target/frame_suspend_map.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

namespace cotrace {

namespace {

constexpr std::uint32_t max_frame_size = 1u << 16;  // larger frames are not read
constexpr int max_die_depth = 64;                    // a hostile file's nesting stops here

// Digits from s[at], at least one; advances at.
std::optional<std::uint64_t> number_at(const std::string& s, std::size_t& at) {
    std::size_t begin = at;
    std::uint64_t v = 0;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])) && at - begin < 9) v = v * 10 + (s[at++] - '0');
    if (at == begin) return std::nullopt;
    return v;
}

struct await_name {
    enum class kind { initial, await, final } what;
    std::uint64_t n = 0, block = 0;
};

// Is_<d>_<b>, Fs_<d>_<b>, Aw<n>_<d>_<b>, Yd<n>_<d>_<b>; nullopt for any other member.
std::optional<await_name> parse_await_name(const std::string& s) {
    await_name out{};
    std::size_t at = 2;
    if (s.rfind("Is_", 0) == 0 || s.rfind("Fs_", 0) == 0) {
        out.what = s[0] == 'I' ? await_name::kind::initial : await_name::kind::final;
    } else if (s.rfind("Aw", 0) == 0 || s.rfind("Yd", 0) == 0) {  // co_await, co_yield: one count
        out.what = await_name::kind::await;
        const auto n = number_at(s, at);
        if (!n) return std::nullopt;
        out.n = *n;
    } else {
        return std::nullopt;
    }
    if (at >= s.size() || s[at++] != '_' || !number_at(s, at)) return std::nullopt;
    if (at >= s.size() || s[at++] != '_') return std::nullopt;
    const auto block = number_at(s, at);
    if (!block || at != s.size()) return std::nullopt;
    out.block = *block;
    return out;
}

}  // namespace

std::optional<frame_suspend_map> suspend_map_of(const std::vector<frame_field>& fields, std::uint32_t frame_size) {
    if (frame_size == 0 || frame_size > max_frame_size) return std::nullopt;
    frame_suspend_map map;
    map.frame_size = frame_size;
    bool have_index = false;
    std::optional<await_name> initial, final;
    std::map<std::pair<std::uint64_t, std::uint64_t>, const frame_field*> awaits;  // (block, n)
    for (const frame_field& f : fields) {
        if (f.offset > frame_size || f.size > frame_size - f.offset) return std::nullopt;
        if (f.name == "_Coro_resume_index") {
            if (have_index || f.size != 2) return std::nullopt;
            have_index = true;
            map.resume_index_offset = f.offset;
            continue;
        }
        const auto name = parse_await_name(f.name);
        if (!name) continue;  // a parameter, a local, a temporary
        switch (name->what) {
            case await_name::kind::initial:
                if (initial) return std::nullopt;
                initial = name;
                break;
            case await_name::kind::final:
                if (final) return std::nullopt;
                final = name;
                break;
            case await_name::kind::await:
                // Every co_await of a task goes through its await_transform:
                // an awaiter of another type is not a frame this rule knows.
                if (!f.site_member || *f.site_member > f.size - 8 || f.size < 8) return std::nullopt;
                if (!awaits.emplace(std::make_pair(name->block, name->n), &f).second) return std::nullopt;
                break;
        }
    }
    if (!have_index || !initial || !final) return std::nullopt;
    map.points.push_back({suspend_point::kind::initial, 0});
    std::uint64_t block = initial->block, expected_n = 0;
    bool first_in_block = true;
    for (const auto& [key, field] : awaits) {
        if (key.first <= initial->block || key.first >= final->block) return std::nullopt;
        if (key.first != block) {
            block = key.first;
            first_in_block = true;
        }
        if (!first_in_block && key.second != expected_n) return std::nullopt;  // a lambda restarted n here
        expected_n = key.second + 1;
        first_in_block = false;
        map.points.push_back({suspend_point::kind::at_await, field->offset + *field->site_member});
    }
    map.points.push_back({suspend_point::kind::final, 0});
    return map;
}

std::string frame_type_of_actor(const std::string& symbol) {
    static const std::string actor = ".actor", frame = ".Frame";
    if (symbol.size() < actor.size() + frame.size() || symbol.compare(symbol.size() - actor.size(), actor.size(), actor))
        return "";
    const std::string s = symbol.substr(0, symbol.size() - actor.size());
    if (s.compare(s.size() - frame.size(), frame.size(), frame)) return "";
    // The last name is <length><_Z...Frame>.
    for (std::size_t p = s.size() - frame.size(); p-- > 1;) {
        if (s.compare(p, 2, "_Z") != 0) continue;
        std::size_t d = p;
        while (d > 0 && std::isdigit(static_cast<unsigned char>(s[d - 1]))) --d;
        if (d == p) continue;
        std::size_t at = d;
        const auto length = number_at(s, at);
        if (length && at == p && *length == s.size() - p) return s.substr(p);
    }
    return "";
}

std::string frame_type_of_resume(const std::string& symbol) {
    static const std::string resume = ".resume";
    if (symbol.size() <= resume.size() + 2 || symbol.compare(symbol.size() - resume.size(), resume.size(), resume) ||
        symbol.compare(0, 2, "_Z") != 0)
        return "";
    return symbol.substr(0, symbol.size() - resume.size()) + ".coro_frame_ty";
}

namespace {

// The next sibling, forward only: a hostile DW_AT_sibling that points back
// would make any walk over a DIE's children loop forever.
bool next_sibling(Dwarf_Die* die) {
    const Dwarf_Off here = dwarf_dieoffset(die);
    return dwarf_siblingof(die, die) == 0 && dwarf_dieoffset(die) > here;
}

std::optional<std::uint64_t> udata(Dwarf_Die* die, unsigned name) {
    Dwarf_Attribute a;
    Dwarf_Word v;
    if (!dwarf_attr(die, name, &a) || dwarf_formudata(&a, &v) != 0) return std::nullopt;
    return v;
}

// The awaiter's `site` offset when the member's type is a cotrace traced awaiter.
std::optional<std::uint32_t> traced_site_member(Dwarf_Die* member) {
    Dwarf_Attribute a;
    Dwarf_Die type, peeled;
    if (!dwarf_attr_integrate(member, DW_AT_type, &a) || !dwarf_formref_die(&a, &type)) return std::nullopt;
    if (dwarf_peel_type(&type, &peeled) != 0) return std::nullopt;
    const int tag = dwarf_tag(&peeled);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_class_type) return std::nullopt;
    const char* name = dwarf_diename(&peeled);
    if (!name || (std::strncmp(name, "traced_awaiter<", 15) != 0 && std::strncmp(name, "traced_child_awaiter<", 21) != 0))
        return std::nullopt;
    Dwarf_Die child;
    if (dwarf_child(&peeled, &child) != 0) return std::nullopt;
    do {
        const char* n = dwarf_diename(&child);
        if (dwarf_tag(&child) == DW_TAG_member && n && std::strcmp(n, "site") == 0) {
            const auto off = udata(&child, DW_AT_data_member_location);
            if (off && *off < max_frame_size) return static_cast<std::uint32_t>(*off);
            return std::nullopt;
        }
    } while (next_sibling(&child));
    return std::nullopt;
}

// The structure type a member's type names, typedefs and qualifiers peeled.
bool member_struct(Dwarf_Die* member, Dwarf_Die* out) {
    Dwarf_Attribute a;
    Dwarf_Die type;
    if (!dwarf_attr_integrate(member, DW_AT_type, &a) || !dwarf_formref_die(&a, &type)) return false;
    if (dwarf_peel_type(&type, out) != 0) return false;
    const int tag = dwarf_tag(out);
    return tag == DW_TAG_structure_type || tag == DW_TAG_class_type;
}

struct walker {
    std::unordered_map<std::string, frame_suspend_map>& out;
    std::set<std::string>& conflicting;
    std::unordered_map<std::string, clang_task_frame>& clang_out;
    std::set<std::string>& clang_conflicting;
    bool gcc12 = false;
    // DIEs the walk may still visit. A sound file has each DIE visited once
    // and each takes at least a byte of it, so the file's size bounds the
    // walk; a forward DW_AT_sibling into a subtree already walked (a DAG, not
    // a tree) could otherwise multiply the work at each level.
    std::uint64_t steps_left = 0;

    // A Clang frame: its `__promise` member, when that is a cotrace task promise.
    void clang_frame_type(Dwarf_Die* die, const std::string& name) {
        std::optional<clang_task_frame> frame;
        Dwarf_Die child, promise;
        if (dwarf_child(die, &child) == 0) {
            do {
                const char* n = dwarf_diename(&child);
                if (dwarf_tag(&child) != DW_TAG_member || !n || std::strcmp(n, "__promise") != 0) continue;
                const auto off = udata(&child, DW_AT_data_member_location);
                const char* type = member_struct(&child, &promise) ? dwarf_diename(&promise) : nullptr;
                Dwarf_Word size = 0;
                if (off && *off < max_frame_size && type && std::strncmp(type, "task_promise<", 13) == 0 &&
                    dwarf_aggregate_size(&promise, &size) == 0 && size < max_frame_size)
                    frame = clang_task_frame{static_cast<std::uint32_t>(*off), static_cast<std::uint32_t>(size)};
                break;
            } while (next_sibling(&child));
        }
        if (!frame || clang_conflicting.count(name)) return;
        const auto [it, added] = clang_out.emplace(name, *frame);
        if (!added && (it->second.promise_offset != frame->promise_offset || it->second.promise_size != frame->promise_size)) {
            clang_out.erase(it);
            clang_conflicting.insert(name);
        }
    }

    void frame_type(Dwarf_Die* die, const std::string& name) {
        const auto size = udata(die, DW_AT_byte_size);
        std::vector<frame_field> fields;
        Dwarf_Die child;
        if (dwarf_child(die, &child) == 0) {
            do {
                if (dwarf_tag(&child) != DW_TAG_member) continue;
                const char* n = dwarf_diename(&child);
                const auto off = udata(&child, DW_AT_data_member_location);
                if (!n || !off || *off >= max_frame_size) continue;
                frame_field f{n, static_cast<std::uint32_t>(*off), 0, std::nullopt};
                Dwarf_Attribute a;
                Dwarf_Die type;
                if (dwarf_attr_integrate(&child, DW_AT_type, &a) && dwarf_formref_die(&a, &type)) {
                    Dwarf_Word bytes = 0;
                    if (dwarf_aggregate_size(&type, &bytes) == 0 && bytes < max_frame_size)
                        f.size = static_cast<std::uint32_t>(bytes);
                }
                f.site_member = traced_site_member(&child);
                fields.push_back(std::move(f));
            } while (next_sibling(&child));
        }
        auto map = size && *size < max_frame_size ? suspend_map_of(fields, static_cast<std::uint32_t>(*size))
                                                  : std::nullopt;
        if (conflicting.count(name)) return;
        const auto it = out.find(name);
        if (!map) {
            if (it != out.end()) out.erase(it);
            conflicting.insert(name);
            return;
        }
        if (it == out.end()) {
            out.emplace(name, std::move(*map));
            return;
        }
        const frame_suspend_map& seen = it->second;
        bool same = seen.resume_index_offset == map->resume_index_offset && seen.frame_size == map->frame_size &&
                    seen.points.size() == map->points.size();
        for (std::size_t i = 0; same && i < seen.points.size(); ++i)
            same = seen.points[i].what == map->points[i].what && seen.points[i].site_offset == map->points[i].site_offset;
        if (!same) {
            out.erase(it);
            conflicting.insert(name);
        }
    }

    void walk(Dwarf_Die* die, int depth) {
        if (depth > max_die_depth) return;
        Dwarf_Die child;
        if (dwarf_child(die, &child) != 0) return;
        do {
            if (steps_left == 0) return;
            --steps_left;
            const int tag = dwarf_tag(&child);
            if (tag == DW_TAG_structure_type && !dwarf_hasattr(&child, DW_AT_declaration)) {
                const char* n = dwarf_diename(&child);
                const std::size_t len = n ? std::strlen(n) : 0;
                if (gcc12 && len > 6 && std::strcmp(n + len - 6, ".Frame") == 0) {
                    frame_type(&child, n);
                    continue;
                }
                if (!gcc12 && len > 14 && std::strcmp(n + len - 14, ".coro_frame_ty") == 0) {
                    clang_frame_type(&child, n);
                    continue;
                }
            }
            // A frame type is declared in its ramp function (or a block of
            // it), a function in a namespace, at the top, or in a class (a
            // member, a lambda's call operator): nothing else is walked.
            if (tag == DW_TAG_namespace || tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
                tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type)
                walk(&child, depth + 1);
        } while (next_sibling(&child));
    }
};

const char* producer_of(Dwarf_Die* cu) {
    Dwarf_Attribute a;
    return dwarf_attr(cu, DW_AT_producer, &a) ? dwarf_formstring(&a) : nullptr;
}

// GCC 12's C++ front end: the only lowering the rule above was checked against.
bool compiled_by_gcc12(const char* producer) {
    if (!producer || std::strncmp(producer, "GNU C++", 7) != 0) return false;
    const char* version = std::strchr(producer, ' ');
    version = version ? std::strchr(version + 1, ' ') : nullptr;
    return version && std::strncmp(version, " 12.", 4) == 0;
}

bool compiled_by_clang(const char* producer) { return producer && std::strstr(producer, "clang version ") != nullptr; }

}  // namespace

frame_debug_info read_frame_debug_info(const std::string& path) {
    frame_debug_info out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return out;
    struct stat st{};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return out;
    }
    Dwarf* dw = dwarf_begin(fd, DWARF_C_READ);
    if (dw) {
        std::set<std::string> conflicting, clang_conflicting;
        walker w{out.gcc, conflicting, out.clang, clang_conflicting};
        w.steps_left = static_cast<std::uint64_t>(st.st_size);
        Dwarf_Off off = 0, next = 0;
        std::size_t header = 0;
        while (dwarf_nextcu(dw, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
            Dwarf_Die cu;
            if (dwarf_offdie(dw, off + header, &cu)) {
                const char* producer = producer_of(&cu);
                w.gcc12 = compiled_by_gcc12(producer);
                if (w.gcc12 || compiled_by_clang(producer)) w.walk(&cu, 0);
            }
            if (next <= off) break;
            off = next;
        }
        dwarf_end(dw);
        if (w.steps_left == 0) out = {};  // a file that exhausts the walk is not one to trust
    }
    ::close(fd);
    return out;
}

}  // namespace cotrace
