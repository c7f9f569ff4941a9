#include "collect/thread_census.hpp"

#include <dirent.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "clock.hpp"
#include "collect/thread_unwind.hpp"

namespace cotrace {

namespace {

// How much of a stack is copied, from the stack pointer up: deep enough for
// any plausible nesting of plain calls inside a coroutine, bounded so a
// thread with a huge stack costs no more than this; and all threads'
// copies together, past which a thread gets the first chunk only.
constexpr std::uint64_t max_stack_copy = 512u << 10;
constexpr std::size_t stack_chunk = 64u << 10;
constexpr std::uint64_t max_stack_copies = 64u << 20;
// Below the stack pointer: the red zone a leaf function may use.
constexpr std::uint64_t red_zone = 128;
// A thread list that keeps growing while we stop it (a process spawning
// threads in a loop) is given up on after this many rounds.
constexpr int max_listing_rounds = 64;

std::vector<std::uint32_t> list_threads(std::uint32_t pid) {
    std::vector<std::uint32_t> out;
    DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        const unsigned long tid = std::strtoul(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && tid > 0) out.push_back(static_cast<std::uint32_t>(tid));
    }
    closedir(d);
    return out;
}

struct held_thread {
    std::uint32_t tid = 0;
    int pending_signal = 0;  // a signal that arrived as we stopped it: given back at detach
    std::uint64_t stopped_at = 0;
    bool attached = false;   // seized and not yet detached
};

// Owns the ptrace attachments: whatever happens, every thread is let go.
class thread_holder {
public:
    ~thread_holder() {
        for (auto& [tid, t] : threads_) release(t);
    }
    std::map<std::uint32_t, held_thread>& threads() { return threads_; }

    // Seizes and stops tid; false when it cannot (gone, or traced already).
    bool stop(std::uint32_t tid) {
        held_thread t;
        t.tid = tid;
        if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) return false;
        t.attached = true;
        if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
            release(t);
            return false;
        }
        for (;;) {
            int status = 0;
            const pid_t r = waitpid(static_cast<pid_t>(tid), &status, __WALL);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 || !WIFSTOPPED(status)) return false;  // it exited: nothing to detach
            const int sig = WSTOPSIG(status);
            const int event = status >> 16;
            // PTRACE_EVENT_STOP: our interrupt (or a group-stop); anything
            // else is a signal being delivered, to be handed back.
            if (event != PTRACE_EVENT_STOP && sig != SIGTRAP) t.pending_signal = sig;
            break;
        }
        t.stopped_at = monotonic_ns();
        threads_[tid] = t;
        return true;
    }

    // Lets tid go; returns how long it was held.
    std::uint64_t release(std::uint32_t tid) {
        auto it = threads_.find(tid);
        if (it == threads_.end()) return 0;
        release(it->second);
        return monotonic_ns() - it->second.stopped_at;
    }

private:
    static void release(held_thread& t) {
        if (!t.attached) return;
        ptrace(PTRACE_DETACH, t.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(t.pending_signal)));
        t.attached = false;
    }
    std::map<std::uint32_t, held_thread> threads_;
};

// Whether addr follows a call instruction (so it is a return address, not a
// function pointer that happens to be on the stack): e8 rel32, or ff /2 in
// any of its 2- to 7-byte forms.
bool follows_call(std::uint32_t pid, std::uint64_t addr) {
    if (addr < 8) return false;
    unsigned char code[8];
    if (!read_process_memory(pid, addr - 8, code, sizeof code)) return false;
    if (code[8 - 5] == 0xe8) return true;
    for (int k = 2; k <= 7; ++k)
        if (code[8 - k] == 0xff && ((code[8 - k + 1] >> 3) & 7) == 2) return true;
    return false;
}

// The word scan: every word from a stack pointer up that is a return
// address into a coroutine's resume function. It sees stale words too (a
// dead call's return address left in a live frame's padding or locals), so
// it is only the fallback where unwinding stopped short.
class stack_reader {
public:
    stack_reader(std::uint32_t pid, target_symbols& symbols) : pid_(pid), symbols_(symbols) {
        for (const mapping& m : symbols.mappings(pid)) {
            if (m.exec && !m.path.empty()) code_.push_back({m.start, m.end});
            all_.push_back({m.start, m.end});
        }
    }

    // Copies the top of a stopped thread's stack (from just below its stack
    // pointer up, within the mapping it is in, at most `limit` bytes).
    void copy_stack(thread_snapshot& t, std::uint64_t limit) const {
        const std::uint64_t sp = t.regs.rsp;
        std::uint64_t lo = 0, end = 0;
        for (const auto& [from, to] : all_)
            if (sp >= from && sp < to) lo = from, end = to;
        if (end == 0) return;
        t.stack_start = (sp - std::min(red_zone, sp - lo)) & ~std::uint64_t{7};
        end = std::min(end, t.stack_start + limit);
        for (std::uint64_t at = t.stack_start; at < end; at += stack_chunk) {
            const std::size_t bytes = static_cast<std::size_t>(std::min<std::uint64_t>(stack_chunk, end - at)) & ~std::size_t{7};
            if (bytes == 0) break;
            const std::size_t had = t.stack.size();
            t.stack.resize(had + bytes / 8);
            if (!read_process_memory(pid_, at, t.stack.data() + had, bytes)) {
                t.stack.resize(had);
                break;
            }
        }
    }

    // The innermost coroutine resume address in the copied stack from sp up, or 0.
    std::uint64_t scan_from(const thread_snapshot& t, std::uint64_t sp) {
        if (sp < t.stack_start) return 0;
        for (std::size_t i = static_cast<std::size_t>((sp - t.stack_start + 7) / 8); i < t.stack.size(); ++i)
            if (is_coroutine_code(t.stack[i]) && follows_call(pid_, t.stack[i])) return t.stack[i];
        return 0;
    }

    bool is_coroutine_code(std::uint64_t addr) {
        bool in_code = false;
        for (const auto& [lo, hi] : code_)
            if (addr >= lo && addr < hi) in_code = true;
        if (!in_code) return false;
        auto it = known_.find(addr);
        if (it == known_.end()) it = known_.emplace(addr, symbols_.in_coroutine_resume(pid_, addr)).first;
        return it->second;
    }

    // Whether the frame at pc (in a resume function) was entered by a direct
    // call returning to return_address. Resuming a frame is an indirect call
    // through its resume pointer; GCC's ramp (which creates the frame and
    // runs it to its initial suspend point) and its destroy function call
    // the resume function directly. Either way the coroutine's body is not
    // what runs, its creator or destroyer is.
    bool entered_by_direct_call(std::uint64_t pc, std::uint64_t return_address) {
        if (return_address < 5) return false;
        const auto entry = symbols_.function_entry(pid_, pc);
        unsigned char call[5];
        if (!entry || !read_process_memory(pid_, return_address - 5, call, sizeof call) || call[0] != 0xe8)
            return false;
        std::int32_t displacement = 0;
        std::memcpy(&displacement, call + 1, sizeof displacement);
        return return_address + static_cast<std::uint64_t>(static_cast<std::int64_t>(displacement)) == *entry;
    }

private:
    std::uint32_t pid_;
    target_symbols& symbols_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> code_, all_;
    std::unordered_map<std::uint64_t, bool> known_;
};

// The innermost coroutine resume address of a stopped thread, or 0 when it
// runs plain code. Unwound frame by frame; where the unwind stops short of
// the first frame (no unwind info, JIT code, a corrupt stack), the words
// above the last frame it reached are scanned instead.
std::uint64_t innermost_coroutine(const thread_snapshot& thread, stack_unwinder& unwinder, stack_reader& stacks,
                                  thread_census& census) {
    const unwound_stack walked =
        unwinder.walk(thread, [&](std::uint64_t pc) { return stacks.is_coroutine_code(pc); },
                      [&](std::uint64_t pc, std::uint64_t return_address) {
                          return stacks.entered_by_direct_call(pc, return_address);
                      });
    switch (walked.how) {
    case unwound_stack::outcome::coroutine: return walked.coroutine_pc;
    case unwound_stack::outcome::outermost: return 0;
    case unwound_stack::outcome::broken: break;
    }
    ++census.scanned;
    if (walked.frames == 0 && stacks.is_coroutine_code(thread.regs.rip)) return thread.regs.rip;
    return stacks.scan_from(thread, walked.frames == 0 ? thread.regs.rsp : walked.last_sp);
}

cotrace_event collector_event(std::uint32_t pid, std::uint32_t tid, std::uint64_t ts, std::uint16_t kind,
                              std::uint64_t code) {
    cotrace_event e{};
    e.ts_ns = ts;
    e.pid = pid;
    e.tid = tid;
    e.kind = kind;
    e.args[0] = code;
    return e;
}

}  // namespace

thread_census take_thread_census(std::uint32_t pid, target_symbols& symbols, const std::function<void()>& start) {
    thread_census census;
    thread_holder holder;
    std::set<std::uint32_t> tried;
    for (int round = 0; round < max_listing_rounds; ++round) {
        bool new_threads = false;
        for (std::uint32_t tid : list_threads(pid)) {
            if (!tried.insert(tid).second) continue;
            new_threads = true;
            if (!holder.stop(tid)) ++census.not_stopped;
        }
        if (!new_threads) break;  // every thread that exists is stopped: none can start another
    }
    // The mappings cannot change while every thread stands still.
    if (!holder.threads().empty()) symbols.refresh(pid);
    census.started_ns = monotonic_ns();
    start();
    // Each thread goes again as soon as its registers and the top of its
    // stack are copied; the copies are unwound after.
    stack_reader stacks(pid, symbols);
    std::vector<thread_snapshot> copies;
    std::uint64_t copied = 0;
    for (auto& [tid, t] : holder.threads()) {
        thread_snapshot snap;
        snap.tid = tid;
        const bool read = ptrace(PTRACE_GETREGS, tid, nullptr, &snap.regs) == 0;
        if (read) stacks.copy_stack(snap, copied < max_stack_copies ? max_stack_copy : stack_chunk);
        census.held_ns.push_back(holder.release(tid));
        if (!read) {
            ++census.not_stopped;
            continue;
        }
        copied += snap.stack.size() * 8;
        copies.push_back(std::move(snap));
    }
    const std::uint64_t unwinding_since = monotonic_ns();
    stack_unwinder unwinder(pid);
    for (const thread_snapshot& thread : copies) {
        const std::uint64_t code = innermost_coroutine(thread, unwinder, stacks, census);
        census.events.push_back(collector_event(pid, thread.tid, census.started_ns,
                                                code ? COTRACE_EV_thread_in_span : COTRACE_EV_thread_idle, code));
    }
    census.unwound_ns = monotonic_ns() - unwinding_since;
    if (census.not_stopped)
        spdlog::warn("the state of {} thread(s) of process {} at attach is unknown (they could not be "
                     "stopped: traced by a debugger?); spans they began before are partial",
                     census.not_stopped, pid);
    return census;
}

}  // namespace cotrace
