#pragma once
// What the daemon needs from an ELF file, through libelf: its cotrace USDT
// notes, its function symbols, and its static data by virtual address.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cotrace {

struct usdt_note {
    std::string provider;
    std::string name;
    std::uint64_t address = 0;    // link-time virtual address of the probe
    std::uint64_t semaphore = 0;  // link-time virtual address of its semaphore, 0 if none
    std::string arguments;        // e.g. "8@%rbx 8@%rdx 8@%rax"
};

class elf_object {
public:
    // nullptr when the file cannot be opened or is not ELF.
    static std::unique_ptr<elf_object> open(const std::string& path);
    ~elf_object();

    const std::string& path() const { return path_; }
    const std::vector<usdt_note>& notes() const { return notes_; }

    // File offset -> link-time virtual address, through the PT_LOAD headers.
    std::optional<std::uint64_t> vaddr_of_offset(std::uint64_t offset) const;
    // Link-time virtual address -> file offset: through the PT_LOAD headers
    // for code, through the section headers for data such as semaphores
    // (which live in .probes, possibly outside any file-backed segment part).
    std::optional<std::uint64_t> offset_of_vaddr(std::uint64_t vaddr) const;
    // The function symbol containing vaddr (name as in the symbol table).
    std::optional<std::string> symbol_at(std::uint64_t vaddr) const;
    // Bytes of the file image at vaddr (initialised data only; x86-64 ld
    // stores the link-time value of relative relocations in place).
    bool read(std::uint64_t vaddr, void* out, std::size_t size) const;
    std::optional<std::string> read_string(std::uint64_t vaddr, std::size_t max = 4096) const;

private:
    elf_object() = default;
    struct segment {
        std::uint64_t vaddr, offset, filesz, memsz;
    };
    struct section {
        std::uint64_t addr, offset, size;
    };
    struct symbol {
        std::uint64_t start, size;
        std::string name;
    };
    std::string path_;
    std::vector<char> image_;  // the whole file
    std::vector<segment> segments_;
    std::vector<section> sections_;  // allocated sections
    std::vector<symbol> symbols_;  // functions, sorted by start
    std::vector<usdt_note> notes_;
};

}  // namespace cotrace
