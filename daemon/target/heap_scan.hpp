#pragma once
// Finds coroutine frames in a process's memory by their first two words.
//
// A GCC or Clang coroutine frame begins with its resume and destroy function
// pointers (GCC nulls the resume pointer at the final suspend). glibc's free
// overwrites those words of a freed chunk (tcache and fastbin links, the
// tcache key, bin links), so a freed frame, and memory reused for other data,
// no longer shows a (resume, destroy) pair of a known coroutine. A pair alone
// is taken as a frame of that coroutine; a frame is read as a cotrace::task
// frame only when it holds its own address where a published layout record
// (probes/cotrace_layout.h) says the frame's handle is; where it waits is
// read through the frame's suspend map (frame_suspend_map.hpp) when its
// object's DWARF gives one.
//
// Everything read is untrusted: regions are read in bounded chunks, a read
// that fails skips its chunk, and the number of frames kept is bounded.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cotrace_layout.h"
#include "target/frame_suspend_map.hpp"

namespace cotrace {

// Where the scanner reads: the target's memory in a real run, a buffer in tests.
class memory_reader {
public:
    virtual ~memory_reader() = default;
    // All `size` bytes at addr, or false.
    virtual bool read(std::uint64_t addr, void* out, std::size_t size) = 0;
};

struct memory_region {
    std::uint64_t start = 0, end = 0;
};

// One coroutine function of the target: its resume and destroy functions at
// run-time addresses, and the task layouts that may describe its frames.
struct coroutine_kind {
    std::uint64_t resume = 0, destroy = 0;
    std::vector<cotrace_frame_layout> layouts;  // checked with valid_layout
    std::optional<frame_suspend_map> suspends;  // GCC frames described by DWARF
    // A Clang frame whose DWARF places a task promise: read as a task through
    // the layout record of that promise's size, without a self-handle check
    // (Clang keeps none); its site stays unknown.
    std::optional<clang_task_frame> clang_task;
};

// A layout record that can be used: right magic, version and size, every
// offset small and aligned.
bool valid_layout(const cotrace_frame_layout& l);

struct scanned_frame {
    std::uint64_t address = 0;
    std::uint32_t kind = 0;      // index into the kinds scanned for
    bool done = false;           // resume pointer null: at its final suspend
    bool task = false;           // a published layout matched; the fields below are read
    std::uint64_t continuation = 0;
    std::uint64_t join_waiter = 0;  // a when_all branch: the waiting frame, 0 if none or unreadable
    std::uint64_t join = 0;
    // Where it waits, from its resume index through the kind's suspend map.
    enum class wait : std::uint8_t { unknown, not_started, at_site } where = wait::unknown;
    std::uint16_t resume_index = 0;  // read only with a suspend map
    std::uint64_t site = 0;          // at_site: the cotrace_site * its awaiter holds
};

struct scan_limits {
    std::size_t chunk_bytes = 1u << 20;  // read per call
    std::size_t max_frames = 10'000'000;
};

struct scan_result {
    std::vector<scanned_frame> frames;  // by address
    std::uint64_t bytes_scanned = 0;
    std::uint64_t bytes_unreadable = 0;  // chunks whose read failed (unmapped meanwhile, guard pages)
    bool truncated = false;              // stopped at max_frames
};

scan_result scan_for_frames(memory_reader& memory, const std::vector<memory_region>& regions,
                            const std::vector<coroutine_kind>& kinds, const scan_limits& limits = {});

}  // namespace cotrace
