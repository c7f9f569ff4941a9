#pragma once
// The dynamic linker's debug hook: glibc's ld.so calls _dl_debug_state (the
// function whose address it publishes as r_debug.r_brk, where debuggers put
// a breakpoint) each time the set of loaded objects is about to change and
// again once it is consistent: before main for the libraries it maps at
// start, and in every dlopen and dlclose, each time before any code of a
// newly mapped object has run. A uprobe there tells the daemon when to look
// at the process's mappings.

#include <cstdint>
#include <optional>
#include <string>

namespace cotrace {

struct loader_hook_site {
    std::string path;         // the dynamic linker, as the daemon (and the kernel) open it
    std::uint64_t offset = 0;  // file offset of its debug hook
};

// The dynamic linker `executable` names (PT_INTERP), opened as
// root_prefix + that path, and its hook. nullopt for a static executable or
// a linker without the hook. Reads only regular files and checks every size.
std::optional<loader_hook_site> find_loader_hook(const std::string& executable,
                                                 const std::string& root_prefix = {});

}  // namespace cotrace
