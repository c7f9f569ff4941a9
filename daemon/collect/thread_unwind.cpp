#include "collect/thread_unwind.hpp"

#include <libunwind-ptrace.h>

#include <cstring>

#include "target/target_symbols.hpp"

namespace cotrace {

namespace {

// The walk in progress on this thread of the daemon. libunwind hands every
// callback the ptrace library's state (and its find_proc_info passes that
// same pointer on to the table search's reads), so the copied thread and the
// page cache come from here.
struct current_walk {
    const thread_snapshot* thread = nullptr;
    target_pages* pages = nullptr;
};
thread_local current_walk walking;

// Sets the walk in progress for the callbacks, until the walk returns.
class walk_scope {
public:
    walk_scope(const thread_snapshot& thread, target_pages& pages) { walking = {&thread, &pages}; }
    ~walk_scope() { walking = {}; }
    walk_scope(const walk_scope&) = delete;
    walk_scope& operator=(const walk_scope&) = delete;
};

// Memory: the copied stack, else the process's pages. Never a write.
int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* value, int write, void*) {
    if (write || !walking.thread) return -UNW_EINVAL;
    if (walking.thread->word(addr, value) || walking.pages->read(addr, value)) return 0;
    return -UNW_EINVAL;
}

// Registers: as the thread had them when it was stopped. Never a write.
int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* value, int write, void*) {
    if (write || !walking.thread) return -UNW_EINVAL;
    const user_regs_struct& r = walking.thread->regs;
    switch (reg) {
        case UNW_X86_64_RAX: *value = r.rax; return 0;
        case UNW_X86_64_RDX: *value = r.rdx; return 0;
        case UNW_X86_64_RCX: *value = r.rcx; return 0;
        case UNW_X86_64_RBX: *value = r.rbx; return 0;
        case UNW_X86_64_RSI: *value = r.rsi; return 0;
        case UNW_X86_64_RDI: *value = r.rdi; return 0;
        case UNW_X86_64_RBP: *value = r.rbp; return 0;
        case UNW_X86_64_RSP: *value = r.rsp; return 0;
        case UNW_X86_64_R8: *value = r.r8; return 0;
        case UNW_X86_64_R9: *value = r.r9; return 0;
        case UNW_X86_64_R10: *value = r.r10; return 0;
        case UNW_X86_64_R11: *value = r.r11; return 0;
        case UNW_X86_64_R12: *value = r.r12; return 0;
        case UNW_X86_64_R13: *value = r.r13; return 0;
        case UNW_X86_64_R14: *value = r.r14; return 0;
        case UNW_X86_64_R15: *value = r.r15; return 0;
        case UNW_X86_64_RIP: *value = r.rip; return 0;
        default: return -UNW_EBADREG;
    }
}

// Floating-point registers play no part in finding callers.
int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EBADREG; }
int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }  // never: read only

// Where the unwind info is: the ptrace library's lookup, which reads the
// process's maps and the objects' files (its memory reads come back here).
unw_accessors_t snapshot_accessors = {_UPT_find_proc_info, _UPT_put_unwind_info, _UPT_get_dyn_info_list_addr,
                                      access_mem,          access_reg,           access_fpreg,
                                      resume,              _UPT_get_proc_name};

}  // namespace

bool thread_snapshot::word(std::uint64_t addr, std::uint64_t* value) const {
    if (addr < stack_start || (addr - stack_start) % 8 != 0) return false;
    const std::uint64_t index = (addr - stack_start) / 8;
    if (index >= stack.size()) return false;
    *value = stack[index];
    return true;
}

bool target_pages::read(std::uint64_t addr, std::uint64_t* value) {
    const std::uint64_t page = addr & ~(page_size - 1);
    const std::uint64_t at = addr - page;
    if (at + sizeof *value > page_size) return false;
    auto it = pages_.find(page);
    if (it == pages_.end()) {
        if (pages_.size() >= max_pages) pages_.clear();
        std::unique_ptr<unsigned char[]> bytes(new unsigned char[page_size]);
        if (!read_process_memory(pid_, page, bytes.get(), page_size)) bytes.reset();
        it = pages_.emplace(page, std::move(bytes)).first;
    }
    if (!it->second) return false;
    std::memcpy(value, it->second.get() + at, sizeof *value);
    return true;
}

stack_unwinder::stack_unwinder(std::uint32_t pid)
    : space_(unw_create_addr_space(&snapshot_accessors, 0)), files_(_UPT_create(static_cast<pid_t>(pid))),
      pages_(pid) {
    if (space_) unw_set_caching_policy(static_cast<unw_addr_space_t>(space_), UNW_CACHE_GLOBAL);
}

stack_unwinder::~stack_unwinder() {
    if (space_) unw_destroy_addr_space(static_cast<unw_addr_space_t>(space_));
    if (files_) _UPT_destroy(files_);
}

bool stack_unwinder::has_unwind_info(std::uint64_t pc) {
    auto it = has_info_.find(pc);
    if (it != has_info_.end()) return it->second;
    if (has_info_.size() >= max_pcs) has_info_.clear();
    unw_proc_info_t info;
    const bool has = _UPT_find_proc_info(static_cast<unw_addr_space_t>(space_), pc, &info, 0, files_) >= 0;
    has_info_.emplace(pc, has);
    return has;
}

unwound_stack stack_unwinder::walk(const thread_snapshot& thread) {
    unwound_stack out;
    if (!space_ || !files_) return out;
    const walk_scope in_walk(thread, pages_);
    unw_cursor_t cursor;
    if (unw_init_remote(&cursor, static_cast<unw_addr_space_t>(space_), files_) < 0) return out;
    // The innermost frame's pc is where the thread stood; a caller's is a
    // return address, one past its call, unless the frame below it is a
    // signal frame (then it is where the signal interrupted it).
    bool pc_is_exact = true;
    while (out.frames.size() < max_frames) {
        unw_word_t pc = 0, sp = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &pc) < 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) return out;
        out.frames.push_back({pc, pc_is_exact});
        out.last_sp = sp;
        // A frame without unwind info is stepped over by guesswork (the
        // frame-pointer chain, which ends wherever rbp happens to be 0), and
        // unw_get_proc_info makes up an entry for it: ask the lookup itself.
        // From such a frame on nothing is known, not even that it is the last.
        if (!has_unwind_info(out.frames.back().code())) return out;
        pc_is_exact = unw_is_signal_frame(&cursor) > 0;
        const int step = unw_step(&cursor);
        if (step == 0) {
            out.how = unwound_stack::outcome::outermost;
            return out;
        }
        if (step < 0) return out;
    }
    return out;  // too deep: broken, from the last frame walked
}

}  // namespace cotrace
