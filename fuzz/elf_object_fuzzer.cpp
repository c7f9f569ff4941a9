// libFuzzer: the ELF reader (headers, USDT notes, symbols, static data) on
// arbitrary bytes, opened from a file the way the daemon opens a target's
// objects. Every query is made with the addresses the file itself claims and
// with the hostile ones a target can pass (a site holding (char*)-1).

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "target/elf_object.hpp"

namespace {
// One memfd reused for every input: rewritten and truncated each time.
int input_file() {
    static const int fd = memfd_create("elf_object_fuzzer", MFD_CLOEXEC);
    return fd;
}

void query(const cotrace::elf_object& obj, std::uint64_t vaddr) {
    char buf[64];
    (void)obj.read(vaddr, buf, sizeof buf);
    (void)obj.read(vaddr, buf, 1);
    if (auto s = obj.read_string(vaddr, 256); s && s->size() > 256) std::abort();
    (void)obj.symbol_at(vaddr);
    (void)obj.offset_of_vaddr(vaddr);
    (void)obj.vaddr_of_offset(vaddr);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = input_file();
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    cotrace::elf_open_error why;
    auto obj = cotrace::elf_object::open(path, &why);
    if (!obj) {
        if (why.message.empty()) std::abort();  // every refusal says why
        return 0;
    }
    static const std::uint64_t hostile[] = {0, 1, ~0ull, ~0ull - 1, ~0ull - 63, 1ull << 63, 0x400000};
    for (std::uint64_t a : hostile) query(*obj, a);
    for (const cotrace::usdt_note& n : obj->notes()) {
        query(*obj, n.address);
        query(*obj, n.semaphore);
        (void)obj->offset_of_vaddr(n.semaphore);
    }
    return 0;
}
