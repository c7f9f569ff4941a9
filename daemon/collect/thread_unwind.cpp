#include "collect/thread_unwind.hpp"

#include <libunwind-ptrace.h>

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

}  // namespace

stack_unwinder::stack_unwinder() : space_(unw_create_addr_space(&_UPT_accessors, 0)) {
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
