// libFuzzer: the DWARF reader that maps a suspended coroutine frame's resume
// index to its co_await (target/frame_suspend_map), on arbitrary bytes opened
// from a file the way `cotrace stacks` opens a target's objects. Whatever
// the file claims, a map it yields must stay inside the frame it describes:
// the frame reader trusts these offsets to read a live frame's fields. The
// census's reader of inlined calls (target/inlined_code) runs on the same
// file: whatever the DIEs say, a lookup ends.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "target/frame_suspend_map.hpp"
#include "target/inlined_code.hpp"

namespace {
int input_file() {
    static const int fd = memfd_create("frame_debug_info_fuzzer", MFD_CLOEXEC);
    return fd;
}

void check(const cotrace::frame_suspend_map& map) {
    if (map.frame_size == 0 || map.frame_size > (1u << 16)) std::abort();
    if (map.resume_index_offset > map.frame_size - 2) std::abort();
    if (map.points.size() < 2 || map.points.front().what != cotrace::suspend_point::kind::initial ||
        map.points.back().what != cotrace::suspend_point::kind::final)
        std::abort();
    for (const cotrace::suspend_point& p : map.points)
        if (p.what == cotrace::suspend_point::kind::at_await && (map.frame_size < 8 || p.site_offset > map.frame_size - 8))
            std::abort();
    if (map.at(0) || map.at(1) || map.at(3) || !map.at(2)) std::abort();
    if (map.at(static_cast<std::uint16_t>(2 * map.points.size() + 2))) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = input_file();
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const cotrace::frame_debug_info info = cotrace::read_frame_debug_info(path);
    for (const auto& [name, map] : info.gcc) {
        if (name.empty()) std::abort();
        check(map);
    }
    for (const auto& [name, frame] : info.clang)
        if (frame.promise_offset >= (1u << 16) || frame.promise_size >= (1u << 16)) std::abort();
    if (const auto inlined = cotrace::inlined_code::open(path)) {
        std::uint64_t chosen = 0;  // an address the input picks, and a few fixed ones
        std::memcpy(&chosen, data, size < sizeof chosen ? size : sizeof chosen);
        for (const std::uint64_t vaddr : {chosen, std::uint64_t{0}, std::uint64_t{0x1000}, std::uint64_t{0x401000}})
            if (inlined->at(vaddr).size() > 64) std::abort();  // nesting is bounded
    }
    return 0;
}
