#pragma once
// ELF64 images built byte by byte, for tests of what the daemon does with a
// damaged or hostile file: every header field can be set to a lie.
//
// Layout: the ELF header, then the program headers, then section k's bytes
// at file offset (k + 1) * 0x1000 (so a test knows where its data lands),
// then .shstrtab and the section header table.

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace crafted {

struct load_segment {
    std::uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
};

struct section {
    std::string name;
    std::uint32_t type = SHT_PROGBITS;
    std::uint64_t flags = 0, addr = 0;
    std::string bytes;
    std::uint32_t link = 0;
    std::uint64_t entsize = 0;
    // Lies: the header claims these instead of the truth.
    std::optional<std::uint64_t> claimed_offset, claimed_size;
};

inline std::uint64_t offset_of_section(std::size_t k) { return (k + 1) * 0x1000; }

template <class T>
void append(std::string& out, const T& v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// One stapsdt note: provider, name, argument string; addresses as given.
inline std::string stapsdt_note(const std::string& provider, const std::string& name, const std::string& args,
                                std::uint64_t pc, std::uint64_t base = 0, std::uint64_t semaphore = 0,
                                std::optional<std::uint32_t> claimed_descsz = std::nullopt) {
    std::string desc;
    append(desc, pc);
    append(desc, base);
    append(desc, semaphore);
    desc += provider + '\0' + name + '\0' + args + '\0';
    std::string out;
    append(out, std::uint32_t{8});
    append(out, claimed_descsz.value_or(static_cast<std::uint32_t>(desc.size())));
    append(out, std::uint32_t{3});
    out.append("stapsdt\0", 8);
    out += desc;
    while (out.size() % 4) out.push_back('\0');
    return out;
}

inline std::string symbol_entry(std::uint32_t name, std::uint64_t value, std::uint64_t size,
                                unsigned char type = STT_FUNC, std::uint16_t shndx = 1) {
    Elf64_Sym s{};
    s.st_name = name;
    s.st_info = ELF64_ST_INFO(STB_GLOBAL, type);
    s.st_shndx = shndx;
    s.st_value = value;
    s.st_size = size;
    std::string out;
    append(out, s);
    return out;
}

struct image {
    std::vector<load_segment> loads;
    std::vector<section> sections;
    std::optional<std::uint64_t> claimed_shoff;
    std::optional<std::uint16_t> claimed_shnum;

    std::string bytes() const {
        std::string shstrtab(1, '\0');
        std::vector<std::uint32_t> names;
        for (const section& s : sections) {
            names.push_back(static_cast<std::uint32_t>(shstrtab.size()));
            shstrtab += s.name + '\0';
        }
        const std::uint32_t shstrtab_name = static_cast<std::uint32_t>(shstrtab.size());
        shstrtab += ".shstrtab";
        shstrtab.push_back('\0');

        std::string out(offset_of_section(sections.size()), '\0');
        for (std::size_t k = 0; k < sections.size(); ++k)
            out.replace(offset_of_section(k), sections[k].bytes.size(), sections[k].bytes);
        const std::uint64_t shstrtab_at = out.size();
        out += shstrtab;
        while (out.size() % 8) out.push_back('\0');
        const std::uint64_t shoff = out.size();

        Elf64_Shdr null{};
        append(out, null);
        for (std::size_t k = 0; k < sections.size(); ++k) {
            const section& s = sections[k];
            Elf64_Shdr h{};
            h.sh_name = names[k];
            h.sh_type = s.type;
            h.sh_flags = s.flags;
            h.sh_addr = s.addr;
            h.sh_offset = s.claimed_offset.value_or(offset_of_section(k));
            h.sh_size = s.claimed_size.value_or(s.bytes.size());
            h.sh_link = s.link;
            h.sh_entsize = s.entsize;
            h.sh_addralign = 1;
            append(out, h);
        }
        Elf64_Shdr strings{};
        strings.sh_name = shstrtab_name;
        strings.sh_type = SHT_STRTAB;
        strings.sh_offset = shstrtab_at;
        strings.sh_size = shstrtab.size();
        strings.sh_addralign = 1;
        append(out, strings);

        Elf64_Ehdr eh{};
        std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        eh.e_type = ET_DYN;
        eh.e_machine = EM_X86_64;
        eh.e_version = EV_CURRENT;
        eh.e_phoff = loads.empty() ? 0 : sizeof(Elf64_Ehdr);
        eh.e_shoff = claimed_shoff.value_or(shoff);
        eh.e_ehsize = sizeof(Elf64_Ehdr);
        eh.e_phentsize = sizeof(Elf64_Phdr);
        eh.e_phnum = static_cast<std::uint16_t>(loads.size());
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = claimed_shnum.value_or(static_cast<std::uint16_t>(sections.size() + 2));
        eh.e_shstrndx = static_cast<std::uint16_t>(sections.size() + 1);
        std::memcpy(out.data(), &eh, sizeof eh);
        for (std::size_t i = 0; i < loads.size(); ++i) {
            Elf64_Phdr ph{};
            ph.p_type = PT_LOAD;
            ph.p_flags = PF_R;
            ph.p_vaddr = ph.p_paddr = loads[i].vaddr;
            ph.p_offset = loads[i].offset;
            ph.p_filesz = loads[i].filesz;
            ph.p_memsz = loads[i].memsz;
            ph.p_align = 0x1000;
            std::memcpy(out.data() + sizeof eh + i * sizeof ph, &ph, sizeof ph);
        }
        return out;
    }
};

}  // namespace crafted
