#pragma once
// symbol_source for a process on this machine: addresses are mapped to the
// ELF object behind them (via /proc/PID/maps, opened through /proc/PID/root)
// and read from the file image, which keeps working after the process has
// exited; the process's memory is read only for live coroutine frames.

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "target/elf_object.hpp"
#include "target/inlined_code.hpp"
#include "target/proc_maps.hpp"
#include "model/symbols.hpp"

namespace cotrace {

class target_symbols : public symbol_source {
public:
    resolved_site site(std::uint32_t pid, std::uint64_t addr) override;
    std::string function(std::uint32_t pid, std::uint64_t addr) override;
    std::string text(std::uint32_t pid, std::uint64_t addr) override;
    std::optional<std::uint64_t> frame_code(std::uint32_t pid, std::uint64_t frame) override;

    // Takes a fresh look at the process's mappings (at attach, and when an
    // address falls outside every known mapping, e.g. after dlopen), and
    // opens every object mapped, so names and sites stay readable after the
    // process is gone. Call it while the process is alive: at exec, at
    // attach, at each change of its objects.
    void refresh(std::uint32_t pid);

    // True when addr lies in a coroutine's resume function (GCC's
    // `[clone .actor]`, Clang's `.resume`), by the mappings last read.
    // cotrace's own plumbing (namespace cotrace::detail: sync_wait's driver)
    // is a coroutine that never begins a span, so it is not counted.
    bool in_coroutine_resume(std::uint32_t pid, std::uint64_t addr);
    // The symbol-table name (mangled) of the function holding addr, by the
    // mappings last read.
    std::optional<std::string> symbol_name(std::uint32_t pid, std::uint64_t addr);
    // The qualified names ("ns::type<args>::function<args>") of the
    // functions inlined at addr whose own name begins with `named`,
    // outermost first, from its object's DWARF (none without), by the
    // mappings last read.
    std::vector<std::string> inlined_at(std::uint32_t pid, std::uint64_t addr, std::string_view named);
    // Where the function symbol holding addr starts, in the process.
    std::optional<std::uint64_t> function_entry(std::uint32_t pid, std::uint64_t addr);
    // The mappings last read for pid (empty if none).
    const std::vector<mapping>& mappings(std::uint32_t pid);

private:
    struct located {
        const elf_object* object;
        std::uint64_t vaddr;  // link-time address in that object
    };
    std::optional<located> locate(std::uint32_t pid, std::uint64_t addr);
    std::optional<located> locate_known(std::uint32_t pid, std::uint64_t addr);
    const elf_object* object(std::uint32_t pid, const mapping& m);
    std::optional<std::string> read_text(std::uint32_t pid, std::uint64_t addr, const elf_object* in);

    std::unordered_map<std::uint32_t, std::vector<mapping>> maps_;
    std::map<std::string, std::unique_ptr<elf_object>> objects_;  // by path in the target (as maps shows it)
    std::map<const elf_object*, std::unique_ptr<inlined_code>> inlined_;  // null: no DWARF
};

// Reads the target's memory (process_vm_readv); false when it cannot.
bool read_process_memory(std::uint32_t pid, std::uint64_t addr, void* out, std::size_t size);

}  // namespace cotrace
