#include "target/elf_object.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "cotrace_layout.h"

namespace cotrace {

namespace {
constexpr unsigned NT_STAPSDT = 3;
// Larger sections than these mean a damaged or hostile file: real note
// sections are kilobytes, real symbol tables tens of megabytes.
constexpr std::uint64_t max_note_section = 64u << 20;
constexpr std::uint64_t max_symbol_table = 512u << 20;

struct elf_handle {
    Elf* elf = nullptr;
    ~elf_handle() {
        if (elf) elf_end(elf);
    }
};

// [start, start + length) holds x, written so that nothing wraps.
bool inside(std::uint64_t x, std::uint64_t start, std::uint64_t length) {
    return x >= start && x - start < length;
}

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "is a directory";
    if (S_ISFIFO(mode)) return "is a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device";
    if (S_ISSOCK(mode)) return "is a socket";
    return "is not a regular file";
}

bool fail(elf_open_error& why, elf_open_error::kind_t kind, std::string message) {
    why.kind = kind;
    why.message = std::move(message);
    return false;
}

// Section data, only when the section lies inside the file and is not huge
// (libelf reads it whole into memory).
Elf_Data* bounded_data(Elf_Scn* scn, const GElf_Shdr& sh, std::uint64_t file_size, std::uint64_t limit) {
    if (sh.sh_type == SHT_NOBITS || sh.sh_size > limit || sh.sh_offset > file_size ||
        sh.sh_size > file_size - sh.sh_offset)
        return nullptr;
    return elf_getdata(scn, nullptr);
}
}  // namespace

elf_object::~elf_object() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<elf_object> elf_object::open(const std::string& path, elf_open_error* why) {
    elf_open_error ignored;
    elf_open_error& out = why ? *why : ignored;
    try {
        // stat first: a FIFO or device is refused without being opened at all.
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
            fail(out, elf_open_error::unreadable, std::string("cannot be opened: ") + std::strerror(errno));
            return nullptr;
        }
        if (!S_ISREG(st.st_mode)) {
            fail(out, elf_open_error::not_regular, kind_of(st.st_mode) + ", not a regular file");
            return nullptr;
        }
        std::unique_ptr<elf_object> obj(new elf_object);
        obj->path_ = path;
        // O_NONBLOCK: should the path be swapped for a FIFO after the stat,
        // the open still returns at once, and the fstat below refuses it.
        obj->fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (obj->fd_ < 0) {
            fail(out, elf_open_error::unreadable, std::string("cannot be opened: ") + std::strerror(errno));
            return nullptr;
        }
        if (::fstat(obj->fd_, &st) != 0) {
            fail(out, elf_open_error::unreadable, std::string("cannot be opened: ") + std::strerror(errno));
            return nullptr;
        }
        if (!S_ISREG(st.st_mode)) {
            fail(out, elf_open_error::not_regular, kind_of(st.st_mode) + ", not a regular file");
            return nullptr;
        }
        obj->file_size_ = static_cast<std::uint64_t>(st.st_size);
        if (!obj->load(out)) return nullptr;
        return obj;
    } catch (const std::bad_alloc&) {
        fail(out, elf_open_error::damaged, "needs more memory than there is (a damaged or hostile file)");
    } catch (const std::exception& e) {
        fail(out, elf_open_error::damaged, e.what());
    }
    return nullptr;
}

bool elf_object::load(elf_open_error& why) {
    unsigned char ident[EI_NIDENT];
    if (file_size_ < sizeof ident || ::pread(fd_, ident, sizeof ident, 0) != static_cast<ssize_t>(sizeof ident) ||
        std::memcmp(ident, ELFMAG, SELFMAG) != 0)
        return fail(why, elf_open_error::not_elf, "is not an ELF file");

    if (elf_version(EV_CURRENT) == EV_NONE) return fail(why, elf_open_error::damaged, "libelf is unusable");
    elf_handle h;
    // ELF_C_READ: libelf reads each header table and section on demand
    // (pread), never the whole file, and bounds every one by the file size.
    h.elf = elf_begin(fd_, ELF_C_READ, nullptr);
    if (!h.elf || elf_kind(h.elf) != ELF_K_ELF)
        return fail(why, elf_open_error::damaged, std::string("has a damaged ELF header (") + elf_errmsg(-1) + ")");

    size_t nphdr = 0;
    if (elf_getphdrnum(h.elf, &nphdr) != 0)
        return fail(why, elf_open_error::damaged, "has damaged program headers");
    for (size_t i = 0; i < nphdr; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(h.elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            segments_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    }

    size_t shstrndx = 0;
    if (elf_getshdrstrndx(h.elf, &shstrndx) != 0)
        return fail(why, elf_open_error::damaged, "has damaged section headers");
    std::optional<std::uint64_t> stapsdt_base;
    Elf_Scn* symtab = nullptr;
    Elf_Scn* dynsym = nullptr;
    std::vector<Elf_Scn*> note_sections;
    for (Elf_Scn* scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        const char* name = elf_strptr(h.elf, shstrndx, sh.sh_name);
        if (!name) continue;
        if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS)
            sections_.push_back({sh.sh_addr, sh.sh_offset, sh.sh_size});
        if (sh.sh_type == SHT_SYMTAB) symtab = scn;
        if (sh.sh_type == SHT_DYNSYM) dynsym = scn;
        if (sh.sh_type == SHT_NOTE && std::strcmp(name, ".note.stapsdt") == 0) note_sections.push_back(scn);
        if (std::strcmp(name, ".stapsdt.base") == 0) stapsdt_base = sh.sh_addr;
    }

    for (Elf_Scn* scn : note_sections) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        Elf_Data* data = bounded_data(scn, sh, file_size_, max_note_section);
        if (!data || !data->d_buf) continue;
        const char* bytes = static_cast<const char*>(data->d_buf);
        const std::size_t size = data->d_size;
        size_t off = 0, name_off = 0, desc_off = 0;
        GElf_Nhdr nh;
        while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
            // gelf_getnote keeps name and desc inside the data; check again,
            // since what follows indexes them by the sizes the file claims.
            if (name_off > size || nh.n_namesz > size - name_off || desc_off > size ||
                nh.n_descsz > size - desc_off)
                break;
            if (nh.n_type != NT_STAPSDT || nh.n_namesz != sizeof "stapsdt" ||
                std::memcmp(bytes + name_off, "stapsdt", sizeof "stapsdt") != 0 || nh.n_descsz < 24)
                continue;
            const char* desc = bytes + desc_off;
            const char* end = desc + nh.n_descsz;
            usdt_note n;
            std::uint64_t base = 0;
            std::memcpy(&n.address, desc, 8);
            std::memcpy(&base, desc + 8, 8);
            std::memcpy(&n.semaphore, desc + 16, 8);
            const char* p = desc + 24;
            auto next = [&](std::string& s) {
                const char* z = static_cast<const char*>(std::memchr(p, 0, static_cast<size_t>(end - p)));
                if (!z) return false;
                s.assign(p, z);
                p = z + 1;
                return true;
            };
            if (!next(n.provider) || !next(n.name)) continue;
            if (p < end) next(n.arguments);
            // Prelinked objects move .stapsdt.base; the note records where it
            // was. (Unsigned arithmetic: a hostile base wraps, it cannot trap.)
            if (stapsdt_base && base != 0) {
                n.address += *stapsdt_base - base;
                if (n.semaphore) n.semaphore += *stapsdt_base - base;
            }
            notes_.push_back(std::move(n));
        }
    }

    if (Elf_Scn* scn = symtab ? symtab : dynsym) {
        GElf_Shdr sh;
        Elf_Data* data = gelf_getshdr(scn, &sh) ? bounded_data(scn, sh, file_size_, max_symbol_table) : nullptr;
        const size_t count = data && sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; i < count && i <= static_cast<size_t>(INT32_MAX); ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
            if (GELF_ST_TYPE(sym.st_info) == STT_OBJECT && sym.st_value != 0) {
                const char* name = elf_strptr(h.elf, sh.sh_link, sym.st_name);
                if (name && std::strncmp(name, COTRACE_LAYOUT_SYMBOL_PREFIX, sizeof COTRACE_LAYOUT_SYMBOL_PREFIX - 1) == 0 &&
                    layout_records_.size() < 4096)
                    layout_records_.push_back(sym.st_value);
                continue;
            }
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0) continue;
            const char* name = elf_strptr(h.elf, sh.sh_link, sym.st_name);
            if (name && *name) symbols_.push_back({sym.st_value, sym.st_size, name});
        }
        std::sort(symbols_.begin(), symbols_.end(), [](const symbol& a, const symbol& b) { return a.start < b.start; });
    }
    return true;
}

std::optional<std::uint64_t> elf_object::vaddr_of_offset(std::uint64_t offset) const {
    for (const segment& s : segments_)
        if (inside(offset, s.offset, std::max(s.filesz, s.memsz))) return s.vaddr + (offset - s.offset);
    return std::nullopt;
}

std::optional<std::uint64_t> elf_object::offset_of_vaddr(std::uint64_t vaddr) const {
    for (const section& s : sections_)
        if (inside(vaddr, s.addr, s.size)) return s.offset + (vaddr - s.addr);
    for (const segment& s : segments_)
        if (inside(vaddr, s.vaddr, s.filesz)) return s.offset + (vaddr - s.vaddr);
    return std::nullopt;
}

const elf_object::symbol* elf_object::function_at(std::uint64_t vaddr) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](std::uint64_t v, const symbol& s) { return v < s.start; });
    if (it == symbols_.begin()) return nullptr;
    --it;
    if (!inside(vaddr, it->start, std::max<std::uint64_t>(it->size, 1))) return nullptr;
    return &*it;
}

std::optional<std::string> elf_object::symbol_at(std::uint64_t vaddr) const {
    if (const symbol* s = function_at(vaddr)) return s->name;
    return std::nullopt;
}

std::pair<std::uint64_t, std::size_t> elf_object::file_range(std::uint64_t vaddr, std::size_t size) const {
    for (const segment& s : segments_) {
        if (!inside(vaddr, s.vaddr, s.filesz)) continue;
        const std::uint64_t skip = vaddr - s.vaddr;
        if (s.offset > file_size_ || skip > file_size_ - s.offset) return {0, 0};
        const std::uint64_t off = s.offset + skip;
        // What the segment, the file and the address space all still hold
        // from there (a hostile segment may reach past 2^64).
        std::uint64_t room = std::min(s.filesz - skip, file_size_ - off);
        if (room == 0) return {0, 0};
        const std::uint64_t to_top = ~std::uint64_t{0} - vaddr;  // bytes after vaddr
        if (room - 1 > to_top) room = to_top + 1;
        return {off, static_cast<std::size_t>(std::min<std::uint64_t>(room, size))};
    }
    return {0, 0};
}

bool elf_object::read(std::uint64_t vaddr, void* out, std::size_t size) const {
    if (size == 0) return true;
    const auto [off, length] = file_range(vaddr, size);
    if (length != size) return false;
    return ::pread(fd_, out, size, static_cast<off_t>(off)) == static_cast<ssize_t>(size);
}

std::optional<std::string> elf_object::read_string(std::uint64_t vaddr, std::size_t max) const {
    std::string s;
    char chunk[256];
    while (s.size() <= max) {
        const std::uint64_t at = vaddr + s.size();
        if (at < vaddr) return std::nullopt;  // ran off the top of the address space
        const auto [off, length] = file_range(at, sizeof chunk);
        if (length == 0) return std::nullopt;
        const ssize_t got = ::pread(fd_, chunk, length, static_cast<off_t>(off));
        if (got <= 0) return std::nullopt;
        const char* nul = static_cast<const char*>(std::memchr(chunk, 0, static_cast<std::size_t>(got)));
        const std::size_t take = nul ? static_cast<std::size_t>(nul - chunk) : static_cast<std::size_t>(got);
        if (s.size() + take > max) return std::nullopt;
        s.append(chunk, take);
        if (nul) return s;
    }
    return std::nullopt;
}

}  // namespace cotrace
