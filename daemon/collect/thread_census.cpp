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
#include <span>
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

    // cotrace's own functions a frame's code can be, by its symbol (looked
    // up once per pc): the co_await wrappers (detail/traced_awaiter.hpp),
    // whose await_suspend fires the suspend probe first, then calls the
    // awaiter's; a task's final awaiter, whose await_suspend fires the end
    // probe and hands control to the awaiting coroutine; cotrace::adapter's
    // functions, which fire the probes (when not inlined).
    enum class cotrace_code { other, traced_await_suspend, final_await_suspend, probe_function };
    cotrace_code cotrace_code_at(std::uint64_t pc) {
        auto it = cotrace_code_.find(pc);
        if (it == cotrace_code_.end()) {
            cotrace_code kind = cotrace_code::other;
            if (const auto sym = symbols_.symbol_name(pid_, pc)) {
                const bool await_suspend = sym->find("13await_suspend") != std::string::npos;
                if (await_suspend && (sym->rfind("_ZN7cotrace6detail14traced_awaiter", 0) == 0 ||
                                      sym->rfind("_ZN7cotrace6detail20traced_child_awaiter", 0) == 0))
                    kind = cotrace_code::traced_await_suspend;
                else if (await_suspend && sym->rfind("_ZN7cotrace6detail17task_promise_base13final_awaiter", 0) == 0)
                    kind = cotrace_code::final_await_suspend;
                else if (sym->rfind("_ZN7cotrace7adapter", 0) == 0)
                    kind = cotrace_code::probe_function;
            }
            it = cotrace_code_.emplace(pc, kind).first;
        }
        return it->second;
    }
    // The same for the await_suspend inlined where pc is (optimised code),
    // by the object's DWARF, which names inlined calls by their scopes.
    cotrace_code inlined_await_suspend(std::uint64_t pc) {
        auto it = inlined_await_.find(pc);
        if (it == inlined_await_.end()) {
            cotrace_code found = cotrace_code::other;
            for (const std::string& name : symbols_.inlined_at(pid_, pc, "await_suspend")) {
                if (name.find(">::await_suspend") == std::string::npos) continue;
                if (name.rfind("cotrace::detail::traced_awaiter<", 0) == 0 ||
                    name.rfind("cotrace::detail::traced_child_awaiter<", 0) == 0)
                    found = cotrace_code::traced_await_suspend;
                if (name.rfind("cotrace::detail::task_promise_base::final_awaiter<", 0) == 0)
                    found = cotrace_code::final_await_suspend;
            }
            it = inlined_await_.emplace(pc, found).first;
        }
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
    std::unordered_map<std::uint64_t, cotrace_code> cotrace_code_, inlined_await_;
};

// What a stopped thread was running, as far as spans go: a collector event
// kind (thread_idle, thread_in_span, thread_unknown) and its arguments.
struct thread_state_at_attach {
    std::uint16_t kind = COTRACE_EV_thread_idle;
    std::uint64_t code = 0;   // a return address into (or the pc in) the coroutine's resume function
    std::uint64_t found = 0;  // thread_in_span: COTRACE_CENSUS_UNWOUND or _SCANNED
};

// Where a coroutine frame stands in a co_await, by the frames it called
// (innermost first) and what is inlined where it stands.
enum class await_point { none, suspended, unknown };
await_point await_point_of(const walked_frame& frame, std::span<const walked_frame> called, stack_reader& code) {
    // In its final awaiter, about to end or just ended, and handing control
    // to whatever awaits it, begun before attach: what runs next is unknown.
    using kind = stack_reader::cotrace_code;
    for (const walked_frame& f : called)
        if (code.cotrace_code_at(f.code()) == kind::final_await_suspend) return await_point::unknown;
    // cotrace's wrapper, called by the coroutine: the outermost one.
    std::size_t wrapper = called.size();
    for (std::size_t j = called.size(); j-- > 0;)
        if (code.cotrace_code_at(called[j].code()) == kind::traced_await_suspend) {
            wrapper = j;
            break;
        }
    if (wrapper == called.size()) {
        // Optimised, the wrapper and the awaiter's await_suspend are inlined
        // into the resume function: a call from inside the wrapper is the
        // awaiter's (the probe before it makes none), so the probe fired.
        switch (code.inlined_await_suspend(frame.code())) {
            case kind::traced_await_suspend: return frame.exact ? await_point::unknown : await_point::suspended;
            case kind::final_await_suspend: return await_point::unknown;
            default: return await_point::none;
        }
    }
    // It calls the awaiter's await_suspend only after the suspend probe: a
    // frame inside it other than the probe's own function means the probe
    // fired. Otherwise the thread stands in the wrapper itself, before or
    // after the probe: which, its frames do not tell.
    for (std::size_t j = 0; j < wrapper; ++j)
        if (code.cotrace_code_at(called[j].code()) != kind::probe_function) return await_point::suspended;
    return await_point::unknown;
}

// Unwound frame by frame: the innermost coroutine frame that runs, passing
// over frames being created or destroyed (entered by a direct call) and
// frames suspended (inside cotrace's await_suspend wrapper past the suspend
// probe, or having resumed such a frame by symmetric transfer: once that
// returns, control goes back to whatever resumed them, further out). Where
// the unwind stops short of the first frame (no unwind info, JIT code, a
// corrupt stack) the words above the last frame it reached are scanned
// instead.
thread_state_at_attach state_at_attach(const thread_snapshot& thread, stack_unwinder& unwinder, stack_reader& code,
                                       thread_census& census) {
    const unwound_stack walked = unwinder.walk(thread);
    const std::vector<walked_frame>& frames = walked.frames;
    std::size_t called_from = 0;  // frames [called_from, i) are what frame i called
    bool inner_suspended = false;  // the last coroutine frame passed over was suspended
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const walked_frame& f = frames[i];
        if (f.pc == 0 || !code.is_coroutine_code(f.code())) continue;
        const std::span<const walked_frame> called(frames.data() + called_from, i - called_from);
        called_from = i + 1;
        // A suspended coroutine frame just inside, called by this one's
        // resume function itself: resumed by symmetric transfer (the handle
        // this one's await_suspend returned; unoptimised, a call rather than
        // a jump), so this one is suspended too.
        if (inner_suspended && called.empty()) continue;
        inner_suspended = false;
        if (i + 1 < frames.size() && !frames[i + 1].exact && code.entered_by_direct_call(f.code(), frames[i + 1].pc))
            continue;
        switch (await_point_of(f, called, code)) {
            case await_point::none: return {COTRACE_EV_thread_in_span, f.pc, COTRACE_CENSUS_UNWOUND};
            case await_point::suspended: inner_suspended = true; continue;
            case await_point::unknown: return {COTRACE_EV_thread_unknown, f.pc, 0};
        }
    }
    if (walked.how == unwound_stack::outcome::outermost) return {};
    ++census.scanned;
    std::uint64_t found = 0;
    if (frames.empty() && code.is_coroutine_code(thread.regs.rip))
        found = thread.regs.rip;
    else
        found = code.scan_from(thread, frames.empty() ? thread.regs.rsp : walked.last_sp);
    if (found == 0) return {};
    return {COTRACE_EV_thread_in_span, found, COTRACE_CENSUS_SCANNED};
}

cotrace_event collector_event(std::uint32_t pid, std::uint32_t tid, std::uint64_t ts,
                              const thread_state_at_attach& state) {
    cotrace_event e{};
    e.ts_ns = ts;
    e.pid = pid;
    e.tid = tid;
    e.kind = state.kind;
    e.args[0] = state.code;
    e.args[1] = state.found;
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
        census.events.push_back(
            collector_event(pid, thread.tid, census.started_ns, state_at_attach(thread, unwinder, stacks, census)));
    }
    census.unwound_ns = monotonic_ns() - unwinding_since;
    if (census.not_stopped)
        spdlog::warn("the state of {} thread(s) of process {} at attach is unknown (they could not be "
                     "stopped: traced by a debugger?); spans they began before are partial",
                     census.not_stopped, pid);
    return census;
}

}  // namespace cotrace
