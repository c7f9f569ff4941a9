#include "target/inlined_code.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace cotrace {

namespace {

// Bounds on one lookup: nesting deeper, or more DIEs, than any real
// program's scopes around one address.
constexpr int max_depth = 64;
constexpr std::size_t max_dies = 1u << 20;

// The declaration an inlined call stands for: through its abstract origin
// and that one's specification (the declaration in the class).
bool declaration_of(Dwarf_Die* die, Dwarf_Die* out) {
    *out = *die;
    for (int hop = 0; hop < 8; ++hop) {
        Dwarf_Attribute attr;
        Dwarf_Die next;
        if (dwarf_attr(out, DW_AT_abstract_origin, &attr) == nullptr &&
            dwarf_attr(out, DW_AT_specification, &attr) == nullptr)
            return true;
        if (dwarf_formref_die(&attr, &next) == nullptr) return false;
        *out = next;
    }
    return false;
}

// "ns::type<...>::function<...>": the names of the declaration and of the
// namespaces and types around it. (Inlined members of templates and of
// anonymous namespaces carry no linkage name to go by.)
std::string qualified_name(Dwarf_Die& decl) {
    Dwarf_Die* scopes = nullptr;
    const int n = dwarf_getscopes_die(&decl, &scopes);
    std::string name;
    for (int i = n - 1; i >= 0; --i) {  // outermost first; scopes[0] is the declaration
        const int tag = dwarf_tag(&scopes[i]);
        if (i != 0 && tag != DW_TAG_namespace && tag != DW_TAG_class_type && tag != DW_TAG_structure_type) continue;
        const char* part = dwarf_diename(&scopes[i]);
        if (!name.empty()) name += "::";
        name += part ? part : "(anonymous namespace)";
    }
    std::free(scopes);
    if (n <= 0) {
        const char* part = dwarf_diename(&decl);
        name = part ? part : "";
    }
    return name;
}

struct scope_walk {
    Dwarf_Addr pc = 0;
    std::string_view named;
    std::size_t dies_left = max_dies;
    std::vector<std::string> inlined;

    // Descends through the children of `parent` that contain pc (and the
    // namespaces, which hold functions without ranges of their own).
    void walk(Dwarf_Die* parent, int depth) {
        if (depth >= max_depth) return;
        Dwarf_Die child;
        if (dwarf_child(parent, &child) != 0) return;
        do {
            if (dies_left == 0) return;
            --dies_left;
            const int tag = dwarf_tag(&child);
            if (tag == DW_TAG_namespace) {
                walk(&child, depth + 1);
                continue;
            }
            if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
                continue;
            if (dwarf_haspc(&child, pc) != 1) continue;
            Dwarf_Die decl;
            if (tag == DW_TAG_inlined_subroutine && declaration_of(&child, &decl)) {
                const char* own = dwarf_diename(&decl);
                if (own && std::string_view(own).starts_with(named)) inlined.push_back(qualified_name(decl));
            }
            walk(&child, depth + 1);
            return;  // scopes nest: no sibling contains pc as well
        } while (dwarf_siblingof(&child, &child) == 0);
    }
};

}  // namespace

std::unique_ptr<inlined_code> inlined_code::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return nullptr;
    struct stat st{};
    Dwarf* dw = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? dwarf_begin(fd, DWARF_C_READ) : nullptr;
    if (!dw) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<inlined_code>(new inlined_code(fd, dw));
}

inlined_code::~inlined_code() {
    dwarf_end(static_cast<Dwarf*>(dwarf_));
    ::close(fd_);
}

std::vector<std::string> inlined_code::at(std::uint64_t vaddr, std::string_view named) const {
    Dwarf_Die cu;
    if (!dwarf_addrdie(static_cast<Dwarf*>(dwarf_), vaddr, &cu)) return {};
    scope_walk w;
    w.pc = vaddr;
    w.named = named;
    w.walk(&cu, 0);
    return std::move(w.inlined);
}

}  // namespace cotrace
