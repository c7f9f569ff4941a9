#pragma once
// What the daemon needs from an ELF file, through libelf: its cotrace USDT
// notes, its function symbols, and its static data by virtual address.
//
// The file is untrusted (the target chose it, and can change it): it is
// opened only when it is a regular file, without blocking (a FIFO or device
// mounted over a mapped path is refused, never waited on), and read lazily:
// the headers, the notes and the symbol table at open, then only the bytes a
// caller asks for. A 4 GiB data file costs a header read, not 4 GiB. Every
// address and length taken from the file is checked without overflow.

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

// Why open() gave no object.
struct elf_open_error {
    enum kind_t {
        unreadable,   // cannot be opened or read (missing, no permission, I/O error)
        not_regular,  // a directory, FIFO, device or socket
        not_elf,      // a regular file that is not ELF (a data file): not a failure
        damaged,      // looks like ELF but its headers are inconsistent
    } kind = unreadable;
    std::string message;  // e.g. "is a directory, not a regular file"
};

class elf_object {
public:
    // nullptr when the file cannot be opened or is not ELF; `why` (when
    // given) says which. Never throws.
    static std::unique_ptr<elf_object> open(const std::string& path, elf_open_error* why = nullptr);
    ~elf_object();
    elf_object(const elf_object&) = delete;
    elf_object& operator=(const elf_object&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<usdt_note>& notes() const { return notes_; }

    // File offset -> link-time virtual address, through the PT_LOAD headers.
    std::optional<std::uint64_t> vaddr_of_offset(std::uint64_t offset) const;
    // Link-time virtual address -> file offset: through the PT_LOAD headers
    // for code, through the section headers for data such as semaphores
    // (which live in .probes, possibly outside any file-backed segment part).
    std::optional<std::uint64_t> offset_of_vaddr(std::uint64_t vaddr) const;

    // Bytes of the file at vaddr (initialised data only, wholly inside one
    // PT_LOAD segment's file part; x86-64 ld stores the link-time value of
    // relative relocations in place). False for any other range.
    bool read(std::uint64_t vaddr, void* out, std::size_t size) const;
    // The NUL-terminated string at vaddr, at most `max` bytes before the NUL.
    std::optional<std::string> read_string(std::uint64_t vaddr, std::size_t max = 4096) const;

    struct symbol {
        std::uint64_t start, size;
        std::string name;
    };
    // The function symbol containing vaddr (name as in the symbol table).
    std::optional<std::string> symbol_at(std::uint64_t vaddr) const;
    const symbol* function_at(std::uint64_t vaddr) const;  // the same, null if none
    // Every function symbol, sorted by start.
    const std::vector<symbol>& function_symbols() const { return symbols_; }
    // Link-time addresses of the frame layout records the object carries
    // (probes/cotrace_layout.h), found by their symbols; unchecked.
    const std::vector<std::uint64_t>& layout_records() const { return layout_records_; }

private:
    elf_object() = default;
    struct segment {
        std::uint64_t vaddr, offset, filesz, memsz;
    };
    struct section {
        std::uint64_t addr, offset, size;
    };
    bool load(elf_open_error& why);
    // The longest prefix of [vaddr, vaddr + size) inside one segment's file
    // part, as a file offset and length (length 0: none).
    std::pair<std::uint64_t, std::size_t> file_range(std::uint64_t vaddr, std::size_t size) const;

    std::string path_;
    int fd_ = -1;               // kept open: the object stays readable after the target exits
    std::uint64_t file_size_ = 0;  // at open; reads past it fail
    std::vector<segment> segments_;
    std::vector<section> sections_;  // allocated sections
    std::vector<symbol> symbols_;  // functions, sorted by start
    std::vector<usdt_note> notes_;
    std::vector<std::uint64_t> layout_records_;
};

}  // namespace cotrace
