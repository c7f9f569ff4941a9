#include "collect/thread_unwind.hpp"

#include <libunwind-ptrace.h>

#include <cstring>

#include "target/target_symbols.hpp"

namespace cotrace {

namespace {

// One thread's ptrace accessor state, destroyed on every path.
class thread_accessors {
public:
    explicit thread_accessors(std::uint32_t tid) : info_(_UPT_create(static_cast<pid_t>(tid))) {}
    ~thread_accessors() {
        if (info_) _UPT_destroy(info_);
    }
    thread_accessors(const thread_accessors&) = delete;
    thread_accessors& operator=(const thread_accessors&) = delete;
    void* get() const { return info_; }

private:
    void* info_;
};

// The walk in progress on this thread of the daemon. libunwind hands every
// callback the ptrace accessors' own state (and _UPT_find_proc_info passes
// that same pointer on to the table search's reads), so what the reads need
// besides comes from here.
struct current_walk {
    std::uint32_t tid = 0;
    target_pages* pages = nullptr;
};
thread_local current_walk walking;

// The ptrace accessors, read only, but for memory: the target's words are
// read a page at a time (process_vm_readv) instead of one PTRACE_PEEKDATA
// each: the unwind tables' binary search and the stack touch the same few
// pages over and over.
int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t* value, int write, void* upt) {
    if (write) return -UNW_EINVAL;
    if (walking.pages && walking.pages->read(walking.tid, addr, value)) return 0;
    return _UPT_access_mem(as, addr, value, 0, upt);  // e.g. a page only ptrace may read
}
int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t* value, int write, void* upt) {
    if (write) return -UNW_EINVAL;
    return _UPT_access_reg(as, reg, value, 0, upt);
}
int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t* value, int write, void* upt) {
    if (write) return -UNW_EINVAL;
    return _UPT_access_fpreg(as, reg, value, 0, upt);
}
int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }  // never: read only

unw_accessors_t read_only_accessors = {_UPT_find_proc_info, _UPT_put_unwind_info, _UPT_get_dyn_info_list_addr,
                                       access_mem,          access_reg,           access_fpreg,
                                       resume,              _UPT_get_proc_name};

// Sets the walk in progress for the callbacks, until the walk returns.
class walk_scope {
public:
    walk_scope(std::uint32_t tid, target_pages& pages) { walking = {tid, &pages}; }
    ~walk_scope() { walking = {}; }
    walk_scope(const walk_scope&) = delete;
    walk_scope& operator=(const walk_scope&) = delete;
};

}  // namespace

bool target_pages::read(std::uint32_t tid, std::uint64_t addr, std::uint64_t* value) {
    const std::uint64_t page = addr & ~(page_size - 1);
    const std::uint64_t at = addr - page;
    if (at + sizeof *value > page_size) return false;
    auto it = pages_.find(page);
    if (it == pages_.end()) {
        if (pages_.size() >= max_pages) pages_.clear();
        std::unique_ptr<unsigned char[]> bytes(new unsigned char[page_size]);
        if (!read_process_memory(tid, page, bytes.get(), page_size)) bytes.reset();
        it = pages_.emplace(page, std::move(bytes)).first;
    }
    if (!it->second) return false;
    std::memcpy(value, it->second.get() + at, sizeof *value);
    return true;
}

stack_unwinder::stack_unwinder() : space_(unw_create_addr_space(&read_only_accessors, 0)) {
    if (space_) unw_set_caching_policy(static_cast<unw_addr_space_t>(space_), UNW_CACHE_GLOBAL);
}

stack_unwinder::~stack_unwinder() {
    if (space_) unw_destroy_addr_space(static_cast<unw_addr_space_t>(space_));
}

unwound_stack stack_unwinder::walk(std::uint32_t tid, const std::function<bool(std::uint64_t)>& in_coroutine) {
    unwound_stack out;
    if (!space_) return out;
    thread_accessors accessors(tid);
    if (!accessors.get()) return out;
    unw_cursor_t cursor;
    const walk_scope in_walk(tid, pages_);
    if (unw_init_remote(&cursor, static_cast<unw_addr_space_t>(space_), accessors.get()) < 0) return out;
    // The innermost frame's pc is where the thread stands; a caller's is a
    // return address, one past its call, unless the frame below it is a
    // signal frame (then it is where the signal interrupted it).
    bool pc_is_exact = true;
    while (out.frames < max_frames) {
        unw_word_t pc = 0, sp = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &pc) < 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) < 0) return out;
        ++out.frames;
        out.last_sp = sp;
        if (pc != 0 && in_coroutine(pc_is_exact ? pc : pc - 1)) {
            out.how = unwound_stack::outcome::coroutine;
            out.coroutine_pc = pc;
            return out;
        }
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
