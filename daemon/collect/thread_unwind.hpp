#pragma once
// Walking a stopped thread's call stack frame by frame, from its registers,
// with libunwind's remote unwinder over ptrace: the unwind tables (.eh_frame)
// of each object say where every frame's caller is, so only the return
// addresses of live frames are seen, never a stale word some earlier call
// left in a slot of a frame (padding, an uninitialised local, a spill slot).
// The target is only read (registers and memory through ptrace, the
// objects' files from disk), never written.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

namespace cotrace {

struct unwound_stack {
    enum class outcome {
        coroutine,  // a frame's code is a coroutine's resume function: `coroutine_pc` is there
        outermost,  // the walk reached the thread's first frame and no frame was one
        broken,     // the walk stopped before that: no unwind info, a corrupt stack, or too deep
    };
    outcome how = outcome::broken;
    std::uint64_t coroutine_pc = 0;  // coroutine: the frame's pc (a caller frame's return address)
    std::uint64_t last_sp = 0;       // broken: the stack pointer of the last frame walked (0: none)
    std::size_t frames = 0;          // frames walked
};

// The target's memory as the unwinder reads it, a page at a time: while
// every thread of the target stands still, none of it changes.
class target_pages {
public:
    // The aligned word at addr; false where the page cannot be read this way.
    bool read(std::uint32_t tid, std::uint64_t addr, std::uint64_t* value);

private:
    static constexpr std::uint64_t page_size = 4096;
    static constexpr std::size_t max_pages = 1024;  // 4 MiB at most
    std::unordered_map<std::uint64_t, std::unique_ptr<unsigned char[]>> pages_;  // null: unreadable
};

// One per census: the address space caches the unwind info it reads across
// the threads of the process (whose mappings cannot change while they all
// stand still).
class stack_unwinder {
public:
    // How many frames a walk takes at most: deeper than any plausible
    // nesting of plain calls above a coroutine, bounded so a looping or
    // runaway stack costs no more than this.
    static constexpr std::size_t max_frames = 512;

    stack_unwinder();
    ~stack_unwinder();
    stack_unwinder(const stack_unwinder&) = delete;
    stack_unwinder& operator=(const stack_unwinder&) = delete;

    // Walks the stack of tid, which the caller holds ptrace-stopped, from
    // the innermost frame out, until a frame whose code `in_coroutine`
    // accepts (checked at the pc for the innermost frame, at the return
    // address minus one for callers: it is the call's last byte).
    unwound_stack walk(std::uint32_t tid, const std::function<bool(std::uint64_t)>& in_coroutine);

private:
    void* space_;  // unw_addr_space_t (libunwind's header stays in the .cpp)
    target_pages pages_;
};

}  // namespace cotrace
