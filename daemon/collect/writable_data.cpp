#include "collect/writable_data.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cotrace {

writable_data writable_data::of_file(const std::string& path) {
    writable_data result;
    // Never block on whatever sits at the path (a FIFO, a device).
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return result;
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || elf_version(EV_CURRENT) == EV_NONE) {
        ::close(fd);
        return result;
    }
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    std::size_t count = 0;
    if (elf && elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &count) == 0) {
        for (std::size_t i = 0; i < count; ++i) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, static_cast<int>(i), &ph)) continue;
            if (ph.p_memsz > UINT64_MAX - ph.p_vaddr) continue;  // wraps: not a real segment
            // RELRO is writable in the file's segments, read-only once the
            // loader has relocated it.
            if (ph.p_type == PT_GNU_RELRO) result.read_only_.push_back({ph.p_vaddr, ph.p_vaddr + ph.p_memsz});
            if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W)) continue;
            result.ranges_.push_back({ph.p_vaddr, ph.p_vaddr + ph.p_memsz});
        }
    }
    if (elf) elf_end(elf);
    ::close(fd);
    return result;
}

bool writable_data::contains(std::uint64_t vaddr, std::uint64_t size) const {
    if (size > UINT64_MAX - vaddr) return false;
    const std::uint64_t end = vaddr + size;
    for (const range& r : read_only_)
        if (vaddr < r.end && end > r.begin) return false;
    for (const range& r : ranges_)
        if (vaddr >= r.begin && end <= r.end) return true;
    return false;
}

}  // namespace cotrace
