#pragma once
// Walking a thread's call stack frame by frame, from its registers, with
// libunwind's remote unwinder: the unwind tables (.eh_frame) of each object
// say where every frame's caller is, so only the return addresses of live
// frames are seen, never a stale word some earlier call left in a slot of a
// frame (padding, an uninitialised local, a spill slot).
//
// The walk runs on a copy of the thread's registers and the top of its stack
// taken while it was stopped, so the thread goes again before the walk
// begins. The unwind tables come from the objects' files and, where read
// from the process, from its read-only mappings, which do not change. The
// target is only ever read, never written.

#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace cotrace {

// A stopped thread as the census copied it before letting it go.
struct thread_snapshot {
    std::uint32_t tid = 0;
    user_regs_struct regs{};
    std::uint64_t stack_start = 0;          // the address of stack[0]: 8-aligned, at or below rsp
    std::vector<std::uint64_t> stack;       // the words from there up, as they were
    // The word at addr, if the copy holds it.
    bool word(std::uint64_t addr, std::uint64_t* value) const;
};

// One frame of a walked stack.
struct walked_frame {
    std::uint64_t pc = 0;
    bool exact = false;  // where the thread stood (the innermost frame, or one a signal interrupted);
                         // otherwise a return address, one past the call
    // Where the frame's code is looked up: its pc, or the last byte of the
    // call a return address follows (which may end the function).
    std::uint64_t code() const { return exact || pc == 0 ? pc : pc - 1; }
};

struct unwound_stack {
    enum class outcome {
        outermost,  // the walk reached the thread's first frame
        broken,     // the walk stopped before that: a frame without unwind info, a corrupt stack, or too deep
    };
    outcome how = outcome::broken;
    std::vector<walked_frame> frames;  // innermost first
    std::uint64_t last_sp = 0;         // the stack pointer of the last frame walked (0: none)
};

// The target's memory outside the copied stacks, as the unwinder reads it: a
// page at a time (process_vm_readv), not one word per ptrace call, since the
// unwind tables' binary search touches the same few pages over and over.
class target_pages {
public:
    explicit target_pages(std::uint32_t pid) : pid_(pid) {}
    // The aligned word at addr; false where the page cannot be read.
    bool read(std::uint64_t addr, std::uint64_t* value);

private:
    static constexpr std::uint64_t page_size = 4096;
    static constexpr std::size_t max_pages = 1024;  // 4 MiB at most
    std::uint32_t pid_;
    std::unordered_map<std::uint64_t, std::unique_ptr<unsigned char[]>> pages_;  // null: unreadable
};

// One per census: the address space caches the unwind info it reads across
// the threads of the process.
class stack_unwinder {
public:
    // How many frames a walk takes at most: deeper than any plausible
    // nesting of plain calls above a coroutine, bounded so a looping or
    // runaway stack costs no more than this.
    static constexpr std::size_t max_frames = 512;

    explicit stack_unwinder(std::uint32_t pid);
    ~stack_unwinder();
    stack_unwinder(const stack_unwinder&) = delete;
    stack_unwinder& operator=(const stack_unwinder&) = delete;

    // Walks the copied stack from the innermost frame out, as far as the
    // unwind tables lead.
    unwound_stack walk(const thread_snapshot& thread);

private:
    // Whether pc's object has an unwind table entry for it (looked up once
    // per pc: the threads of a process mostly stand at the same few places).
    bool has_unwind_info(std::uint64_t pc);
    static constexpr std::size_t max_pcs = 4096;
    std::unordered_map<std::uint64_t, bool> has_info_;

    void* space_;  // unw_addr_space_t (libunwind's header stays in the .cpp)
    void* files_;  // the ptrace library's state: the process's mappings and their objects' unwind tables
    target_pages pages_;
};

}  // namespace cotrace
