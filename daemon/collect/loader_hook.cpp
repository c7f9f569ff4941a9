#include "collect/loader_hook.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

namespace cotrace {

namespace {

constexpr const char* hook_symbol = "_dl_debug_state";
constexpr std::size_t max_interp_length = 4096;

// An ELF file opened read-only through libelf, which bounds-checks every
// header and section access against the file's size.
class elf_file {
public:
    explicit elf_file(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd_ < 0) return;
        struct stat st;
        if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return;  // never a FIFO or a device
        if (elf_version(EV_CURRENT) == EV_NONE) return;
        elf_ = elf_begin(fd_, ELF_C_READ, nullptr);
        if (elf_ && elf_kind(elf_) != ELF_K_ELF) {
            elf_end(elf_);
            elf_ = nullptr;
        }
    }
    ~elf_file() {
        if (elf_) elf_end(elf_);
        if (fd_ >= 0) ::close(fd_);
    }
    elf_file(const elf_file&) = delete;
    elf_file& operator=(const elf_file&) = delete;

    Elf* get() const { return elf_; }

    std::vector<GElf_Phdr> program_headers() const {
        std::vector<GElf_Phdr> out;
        std::size_t n = 0;
        if (!elf_ || elf_getphdrnum(elf_, &n) != 0) return out;
        for (std::size_t i = 0; i < n; ++i) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf_, static_cast<int>(i), &ph)) out.push_back(ph);
        }
        return out;
    }

private:
    int fd_ = -1;
    Elf* elf_ = nullptr;
};

std::optional<std::string> interpreter_of(const elf_file& exe) {
    for (const GElf_Phdr& ph : exe.program_headers()) {
        if (ph.p_type != PT_INTERP) continue;
        if (ph.p_filesz == 0 || ph.p_filesz > max_interp_length) return std::nullopt;
        Elf_Data* d = elf_getdata_rawchunk(exe.get(), static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_BYTE);
        if (!d || !d->d_buf || d->d_size != ph.p_filesz) return std::nullopt;
        const char* text = static_cast<const char*>(d->d_buf);
        const std::size_t length = strnlen(text, d->d_size);
        if (length == 0 || text[0] != '/') return std::nullopt;
        return std::string(text, length);
    }
    return std::nullopt;
}

std::optional<std::uint64_t> function_address(const elf_file& f, const char* name) {
    for (Elf_Scn* scn = elf_nextscn(f.get(), nullptr); scn; scn = elf_nextscn(f.get(), scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)) continue;
        Elf_Data* d = elf_getdata(scn, nullptr);
        if (!d || sh.sh_entsize == 0) continue;
        const std::size_t count = d->d_size / gelf_fsize(f.get(), ELF_T_SYM, 1, EV_CURRENT);
        for (std::size_t i = 0; i < count; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(d, static_cast<int>(i), &sym)) break;
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0) continue;
            const char* s = elf_strptr(f.get(), sh.sh_link, sym.st_name);
            if (s && std::strcmp(s, name) == 0) return sym.st_value;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> file_offset_of(const elf_file& f, std::uint64_t vaddr) {
    for (const GElf_Phdr& ph : f.program_headers()) {
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) return ph.p_offset + (vaddr - ph.p_vaddr);
    }
    return std::nullopt;
}

}  // namespace

std::optional<loader_hook_site> find_loader_hook(const std::string& executable, const std::string& root_prefix) {
    std::optional<std::string> interp;
    {
        elf_file exe(executable);
        if (!exe.get()) return std::nullopt;
        interp = interpreter_of(exe);
    }
    if (!interp) return std::nullopt;
    loader_hook_site site;
    site.path = root_prefix + *interp;
    elf_file linker(site.path);
    if (!linker.get()) return std::nullopt;
    const auto vaddr = function_address(linker, hook_symbol);
    if (!vaddr) return std::nullopt;
    const auto offset = file_offset_of(linker, *vaddr);
    if (!offset) return std::nullopt;
    site.offset = *offset;
    return site;
}

}  // namespace cotrace
