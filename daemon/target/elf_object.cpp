#include "target/elf_object.hpp"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace cotrace {

namespace {
constexpr unsigned NT_STAPSDT = 3;

struct elf_handle {
    Elf* elf = nullptr;
    ~elf_handle() {
        if (elf) elf_end(elf);
    }
};
}  // namespace

elf_object::~elf_object() = default;

std::unique_ptr<elf_object> elf_object::open(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return nullptr;
    std::unique_ptr<elf_object> obj(new elf_object);
    obj->path_ = path;
    const std::streamoff size = f.tellg();
    if (size <= 0) return nullptr;
    obj->image_.resize(static_cast<std::size_t>(size));
    f.seekg(0);
    if (!f.read(obj->image_.data(), size)) return nullptr;
    if (obj->image_.size() < EI_NIDENT || std::memcmp(obj->image_.data(), ELFMAG, SELFMAG) != 0)
        return nullptr;

    if (elf_version(EV_CURRENT) == EV_NONE) return nullptr;
    elf_handle h;
    h.elf = elf_memory(obj->image_.data(), obj->image_.size());
    if (!h.elf || elf_kind(h.elf) != ELF_K_ELF) return nullptr;

    size_t nphdr = 0;
    if (elf_getphdrnum(h.elf, &nphdr) != 0) return nullptr;
    for (size_t i = 0; i < nphdr; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(h.elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
            obj->segments_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    }

    size_t shstrndx = 0;
    if (elf_getshdrstrndx(h.elf, &shstrndx) != 0) return nullptr;
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
            obj->sections_.push_back({sh.sh_addr, sh.sh_offset, sh.sh_size});
        if (sh.sh_type == SHT_SYMTAB) symtab = scn;
        if (sh.sh_type == SHT_DYNSYM) dynsym = scn;
        if (sh.sh_type == SHT_NOTE && std::strcmp(name, ".note.stapsdt") == 0) note_sections.push_back(scn);
        if (std::strcmp(name, ".stapsdt.base") == 0) stapsdt_base = sh.sh_addr;
    }

    for (Elf_Scn* scn : note_sections) {
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data) continue;
        size_t off = 0, name_off = 0, desc_off = 0;
        GElf_Nhdr nh;
        while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
            const char* owner = static_cast<const char*>(data->d_buf) + name_off;
            if (nh.n_type != NT_STAPSDT || std::strcmp(owner, "stapsdt") != 0 || nh.n_descsz < 24) continue;
            const char* desc = static_cast<const char*>(data->d_buf) + desc_off;
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
            // Prelinked objects move .stapsdt.base; the note records where it was.
            if (stapsdt_base && base != 0) {
                n.address += *stapsdt_base - base;
                if (n.semaphore) n.semaphore += *stapsdt_base - base;
            }
            obj->notes_.push_back(std::move(n));
        }
    }

    if (Elf_Scn* scn = symtab ? symtab : dynsym) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        Elf_Data* data = elf_getdata(scn, nullptr);
        const size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; data && i < count; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0) continue;
            const char* name = elf_strptr(h.elf, sh.sh_link, sym.st_name);
            if (name && *name) obj->symbols_.push_back({sym.st_value, sym.st_size, name});
        }
        std::sort(obj->symbols_.begin(), obj->symbols_.end(),
                  [](const symbol& a, const symbol& b) { return a.start < b.start; });
    }
    return obj;
}

std::optional<std::uint64_t> elf_object::vaddr_of_offset(std::uint64_t offset) const {
    for (const segment& s : segments_)
        if (offset >= s.offset && offset < s.offset + std::max(s.filesz, s.memsz))
            return s.vaddr + (offset - s.offset);
    return std::nullopt;
}

std::optional<std::uint64_t> elf_object::offset_of_vaddr(std::uint64_t vaddr) const {
    for (const section& s : sections_)
        if (vaddr >= s.addr && vaddr < s.addr + s.size) return s.offset + (vaddr - s.addr);
    for (const segment& s : segments_)
        if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
    return std::nullopt;
}

std::optional<std::string> elf_object::symbol_at(std::uint64_t vaddr) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](std::uint64_t v, const symbol& s) { return v < s.start; });
    if (it == symbols_.begin()) return std::nullopt;
    --it;
    if (vaddr >= it->start + std::max<std::uint64_t>(it->size, 1)) return std::nullopt;
    return it->name;
}

bool elf_object::read(std::uint64_t vaddr, void* out, std::size_t size) const {
    for (const segment& s : segments_) {
        if (vaddr >= s.vaddr && vaddr + size <= s.vaddr + s.filesz) {
            const std::uint64_t off = s.offset + (vaddr - s.vaddr);
            if (off + size > image_.size()) return false;
            std::memcpy(out, image_.data() + off, size);
            return true;
        }
    }
    return false;
}

std::optional<std::string> elf_object::read_string(std::uint64_t vaddr, std::size_t max) const {
    std::string s;
    char c;
    while (s.size() < max && read(vaddr + s.size(), &c, 1)) {
        if (c == '\0') return s;
        s.push_back(c);
    }
    return std::nullopt;
}

}  // namespace cotrace
