// elf_object on crafted ELF images whose headers lie: addresses and sizes
// that wrap, sections and segments that point past the end of the file,
// notes that claim more bytes than they hold, strings without an end. Every
// read must stay inside the file (the ASan build proves it) and a lie must
// cost only what it touches. Also: non-regular files are refused without
// blocking, and a huge sparse file is read lazily.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "collect/probe_discovery.hpp"
#include "error.hpp"
#include "target/crafted_elf.hpp"
#include "target/elf_object.hpp"
#include "target/proc_maps.hpp"

namespace {

using crafted::offset_of_section;

// A file in a fresh temporary directory, removed with it.
class temp_dir {
public:
    temp_dir() {
        char pattern[] = "/tmp/cotrace-elf-XXXXXX";
        if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string p = path_ + "/" + name;
        const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
            throw std::runtime_error("cannot write " + p);
        ::close(fd);
        return p;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// .rodata holding two strings at vaddr 0x2000, in one PT_LOAD segment.
crafted::image rodata_image() {
    crafted::image img;
    crafted::section rodata;
    rodata.name = ".rodata";
    rodata.flags = SHF_ALLOC;
    rodata.addr = 0x2000;
    rodata.bytes = std::string("pipeline.cpp\0handle_request\0", 28);
    img.sections.push_back(rodata);
    img.loads.push_back({0x2000, offset_of_section(0), rodata.bytes.size(), rodata.bytes.size()});
    return img;
}

std::unique_ptr<cotrace::elf_object> open_bytes(const temp_dir& dir, const std::string& bytes,
                                                cotrace::elf_open_error* why = nullptr) {
    return cotrace::elf_object::open(dir.write("object", bytes), why);
}

long peak_rss_kib() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

TEST(ElfBounds, AWellFormedCraftedImageReadsItsStringsAndData) {
    temp_dir dir;
    auto obj = open_bytes(dir, rodata_image().bytes());
    ASSERT_TRUE(obj);
    EXPECT_EQ(obj->read_string(0x2000).value_or("?"), "pipeline.cpp");
    EXPECT_EQ(obj->read_string(0x200d).value_or("?"), "handle_request");
    char c = 0;
    ASSERT_TRUE(obj->read(0x2000 + 27, &c, 1));
    EXPECT_EQ(c, '\0');
    EXPECT_FALSE(obj->read(0x2000 + 27, &c, 2)) << "a read crossing the segment's end must fail";
    EXPECT_EQ(obj->vaddr_of_offset(offset_of_section(0) + 4), 0x2004u);
    EXPECT_EQ(obj->offset_of_vaddr(0x2004), offset_of_section(0) + 4);
}

TEST(ElfBounds, StringPointersAtTheTopOfTheAddressSpaceReadNothing) {
    // What a site struct holding (char*)-1 asks for.
    temp_dir dir;
    auto obj = open_bytes(dir, rodata_image().bytes());
    ASSERT_TRUE(obj);
    EXPECT_FALSE(obj->read_string(~0ull));
    EXPECT_FALSE(obj->read_string(~0ull - 3));
    char buf[16];
    EXPECT_FALSE(obj->read(~0ull, buf, sizeof buf));
    EXPECT_FALSE(obj->read(~0ull - 3, buf, 8));
    EXPECT_FALSE(obj->read(0x2000, buf, ~std::size_t{0}));
}

TEST(ElfBounds, ASegmentWhoseEndWrapsAroundReadsOnlyWhatTheFileHolds) {
    temp_dir dir;
    crafted::image img = rodata_image();
    // vaddr + filesz wraps past 2^64; offset + filesz lies far past the file.
    img.loads = {{~0ull - 0x10, offset_of_section(0), 0x1000, 0x1000}};
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    char buf[8];
    EXPECT_FALSE(obj->read(0, buf, sizeof buf)) << "an address past the wrap is outside the segment";
    EXPECT_FALSE(obj->read(~0ull - 4, buf, sizeof buf));
    EXPECT_TRUE(obj->read(~0ull - 0x10, buf, 4));
    EXPECT_EQ(std::string(buf, 4), "pipe");
    EXPECT_EQ(obj->read_string(~0ull - 0x10).value_or("?"), "pipeline.cpp");
    EXPECT_FALSE(obj->read_string(~0ull - 2)) << "the string runs off the top of the address space";
    EXPECT_FALSE(obj->vaddr_of_offset(~0ull));
}

TEST(ElfBounds, ASegmentReachingPastTheEndOfTheFileReadsOnlyInsideTheFile) {
    temp_dir dir;
    crafted::image img = rodata_image();
    const std::string bytes = img.bytes();
    // File part claims 1 GiB from an offset near the end of the file, and
    // one segment starts beyond the file altogether.
    img.loads = {{0x2000, bytes.size() - 8, 1ull << 30, 1ull << 30},
                 {0x80000000, ~0ull - 0x100, 0x1000, 0x1000}};
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    char buf[64];
    EXPECT_TRUE(obj->read(0x2000, buf, 8));
    EXPECT_FALSE(obj->read(0x2000, buf, 9));
    EXPECT_FALSE(obj->read(0x2008, buf, 1));
    EXPECT_FALSE(obj->read(0x80000000, buf, 1));
    EXPECT_FALSE(obj->read_string(0x80000000));
}

TEST(ElfBounds, AStringWithoutItsNulByTheSegmentsEndIsNotAString) {
    temp_dir dir;
    crafted::image img = rodata_image();
    img.loads[0].filesz = 12;  // cuts "pipeline.cpp" before its NUL
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_FALSE(obj->read_string(0x2000));
    EXPECT_EQ(obj->read_string(0x2000 + 9, 3), std::nullopt) << "no NUL within the segment";
}

TEST(ElfBounds, AStringLongerThanTheLimitIsNotReturned) {
    temp_dir dir;
    crafted::image img = rodata_image();
    img.sections[0].bytes = std::string(3000, 'x') + '\0';
    img.loads[0].filesz = img.loads[0].memsz = img.sections[0].bytes.size();
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_EQ(obj->read_string(0x2000, 4096).value_or("").size(), 3000u);
    EXPECT_FALSE(obj->read_string(0x2000, 2999));
}

TEST(ElfBounds, NotesAreReadAndANoteClaimingMoreBytesThanItsSectionIsDropped) {
    temp_dir dir;
    crafted::image img;
    crafted::section notes;
    notes.name = ".note.stapsdt";
    notes.type = SHT_NOTE;
    notes.bytes = crafted::stapsdt_note("cotrace", "resume", "8@%rdi", 0x1234, 0, 0x5000) +
                  crafted::stapsdt_note("cotrace", "end", "8@%rdi 8@%rsi", 0x1240, 0, 0, 0x7fffffff);
    img.sections.push_back(notes);
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    ASSERT_EQ(obj->notes().size(), 1u);
    EXPECT_EQ(obj->notes()[0].provider, "cotrace");
    EXPECT_EQ(obj->notes()[0].name, "resume");
    EXPECT_EQ(obj->notes()[0].address, 0x1234u);
    EXPECT_EQ(obj->notes()[0].semaphore, 0x5000u);
    EXPECT_EQ(obj->notes()[0].arguments, "8@%rdi");
}

TEST(ElfBounds, ANoteWhoseStringsHaveNoEndIsDropped) {
    temp_dir dir;
    crafted::image img;
    crafted::section notes;
    notes.name = ".note.stapsdt";
    notes.type = SHT_NOTE;
    std::string note = crafted::stapsdt_note("cotrace", "resume", "", 0x1234);
    // Overwrite every NUL of the desc strings: provider and name never end.
    for (std::size_t i = 12 + 8 + 24; i < note.size(); ++i)
        if (note[i] == '\0') note[i] = 'x';
    notes.bytes = note;
    img.sections.push_back(notes);
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_TRUE(obj->notes().empty());
}

TEST(ElfBounds, SectionsPointingPastTheFileAreIgnored) {
    temp_dir dir;
    crafted::image img = rodata_image();
    crafted::section notes;
    notes.name = ".note.stapsdt";
    notes.type = SHT_NOTE;
    notes.bytes = crafted::stapsdt_note("cotrace", "resume", "8@%rdi", 0x1234);
    notes.claimed_offset = ~0ull - 8;  // offset + size wraps
    img.sections.push_back(notes);
    crafted::section symtab;
    symtab.name = ".symtab";
    symtab.type = SHT_SYMTAB;
    symtab.entsize = sizeof(Elf64_Sym);
    symtab.bytes = crafted::symbol_entry(0, 0, 0) + crafted::symbol_entry(1, 0x2000, 16);
    symtab.claimed_size = 1ull << 40;  // a terabyte of symbols
    img.sections.push_back(symtab);
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_TRUE(obj->notes().empty());
    EXPECT_FALSE(obj->symbol_at(0x2000));
}

TEST(ElfBounds, SymbolsAreFoundAndASymbolReachingPastTheTopOfTheAddressSpaceDoesNotWrap) {
    temp_dir dir;
    crafted::image img;
    crafted::section strtab;
    strtab.name = ".strtab";
    strtab.type = SHT_STRTAB;
    strtab.bytes = std::string("\0work\0top\0", 10);
    img.sections.push_back(strtab);
    crafted::section symtab;
    symtab.name = ".symtab";
    symtab.type = SHT_SYMTAB;
    symtab.entsize = sizeof(Elf64_Sym);
    symtab.link = 1;  // .strtab (section 0 is the null section)
    symtab.bytes = crafted::symbol_entry(0, 0, 0) + crafted::symbol_entry(1, 0x2000, 16) +
                   crafted::symbol_entry(6, ~0ull - 4, 64) + crafted::symbol_entry(9999, 0x3000, 8);
    img.sections.push_back(symtab);
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_EQ(obj->symbol_at(0x2008).value_or("?"), "work");
    EXPECT_FALSE(obj->symbol_at(0x2010));
    EXPECT_EQ(obj->symbol_at(~0ull).value_or("?"), "top");
    EXPECT_FALSE(obj->symbol_at(0x3000)) << "a name outside the string table is no name";
}

TEST(ElfBounds, SectionHeadersPastTheEndOfTheFileAreIgnoredAndTheSegmentsStillRead) {
    temp_dir dir;
    crafted::image img = rodata_image();
    img.claimed_shoff = 1ull << 40;
    auto obj = open_bytes(dir, img.bytes());
    ASSERT_TRUE(obj);
    EXPECT_TRUE(obj->notes().empty());
    EXPECT_FALSE(obj->offset_of_vaddr(0x10000));
    EXPECT_EQ(obj->read_string(0x2000).value_or("?"), "pipeline.cpp");
}

TEST(ElfBounds, TruncatedAndForeignFilesAreNotElfObjects) {
    temp_dir dir;
    cotrace::elf_open_error why;
    EXPECT_FALSE(open_bytes(dir, "\x7f" "EL", &why));
    EXPECT_EQ(why.kind, cotrace::elf_open_error::not_elf);
    EXPECT_FALSE(open_bytes(dir, std::string("\x7f" "ELF\x02\x01\x01", 7), &why));
    EXPECT_EQ(why.kind, cotrace::elf_open_error::not_elf);
    EXPECT_FALSE(open_bytes(dir, rodata_image().bytes().substr(0, 40), &why));
    EXPECT_FALSE(open_bytes(dir, "", &why));
    EXPECT_FALSE(cotrace::elf_object::open(dir.path() + "/missing", &why));
    EXPECT_EQ(why.kind, cotrace::elf_open_error::unreadable);
}

TEST(ElfBounds, ADirectoryIsRefusedAsNotARegularFile) {
    temp_dir dir;
    cotrace::elf_open_error why;
    EXPECT_FALSE(cotrace::elf_object::open(dir.path(), &why));
    EXPECT_EQ(why.kind, cotrace::elf_open_error::not_regular);
    EXPECT_EQ(why.message, "is a directory, not a regular file");
}

TEST(ElfBounds, AFifoIsRefusedAtOnceWithoutWaitingForAWriter) {
    temp_dir dir;
    const std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    // A blocking open would wait here for a writer forever (ctest's timeout
    // fails the test then).
    cotrace::elf_open_error why;
    EXPECT_FALSE(cotrace::elf_object::open(fifo, &why));
    EXPECT_EQ(why.kind, cotrace::elf_open_error::not_regular);
    EXPECT_EQ(why.message, "is a FIFO, not a regular file");
}

TEST(ElfBounds, ProbesOfADirectoryIsOneClearError) {
    temp_dir dir;
    try {
        cotrace::probe_object_of_file(dir.path());
        FAIL() << "a directory has no probes to list";
    } catch (const cotrace::error& e) {
        EXPECT_EQ(std::string(e.what()),
                  dir.path() + " is a directory, not a regular file (give an executable or shared library)");
    }
}

TEST(ElfBounds, AHugeSparseElfFileIsReadLazily) {
    // 8 GiB that claim to be ELF, with headers at the start and a hole after:
    // opening it and reading a string costs what those touch, not 8 GiB.
    temp_dir dir;
    const std::string path = dir.write("huge", rodata_image().bytes());
    ASSERT_EQ(truncate(path.c_str(), 8ll << 30), 0);
    const long before = peak_rss_kib();
    auto obj = cotrace::elf_object::open(path);
    ASSERT_TRUE(obj);
    EXPECT_EQ(obj->read_string(0x2000).value_or("?"), "pipeline.cpp");
    EXPECT_LT(peak_rss_kib() - before, 16 * 1024) << "peak RSS grew by more than 16 MiB";
}

}  // namespace

namespace {

TEST(MapsBounds, DamagedLinesOfAMapsFileAreSkippedNotThrown) {
    const auto maps = cotrace::parse_maps(
        "zz-10 r-xp 00000000 08:01 1 /bin/a\n"
        "10-ffffffffffffffffffff r-xp 00000000 08:01 1 /bin/b\n"
        "20-10 r-xp 00000000 08:01 1 /bin/backwards\n"
        "1000-2000 r-xp 0000g000 08:01 1 /bin/c\n"
        "-2000 r-xp 00000000 08:01 1 /bin/d\n"
        "1000-2000 r-xp 00001000 08:01 1 /bin/good\n");
    ASSERT_EQ(maps.size(), 1u);
    EXPECT_EQ(maps[0].path, "/bin/good");
    EXPECT_EQ(maps[0].start, 0x1000u);
    EXPECT_EQ(maps[0].offset, 0x1000u);
    EXPECT_TRUE(maps[0].exec);
}

}  // namespace
