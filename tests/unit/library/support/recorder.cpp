#include "recorder.hpp"

#include <sched.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

// What the library's probe macros call when built with -DCOTRACE_TEST_SINK.
// Starts true: in most tests a tracer is "attached".
extern "C" {
bool cotrace_test_sink_active = true;
}

namespace cotrace_test {
namespace {

struct state {
    std::mutex mutex;
    std::condition_variable changed;
    events recorded;
};

// Never destroyed: pool threads of a failing test may still fire probes while
// static destructors run.
state& global() {
    static state* s = new state;
    return *s;
}

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The frame whose first word the BPF side reads into `code`, or 0.
std::uint64_t beginning_frame(int kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
    switch (kind) {
        case COTRACE_EV_suspend:
            return a2;  // the awaited child, when there is one
        case COTRACE_EV_span_begin:
            return a0;
        case COTRACE_EV_link:
            return a2 == COTRACE_LINK_SPAWN ? a1 : 0;
        default:
            return 0;
    }
}

}  // namespace

namespace recorder {

void clear() {
    state& s = global();
    std::lock_guard lock(s.mutex);
    s.recorded.clear();
}

events snapshot() {
    state& s = global();
    std::lock_guard lock(s.mutex);
    return s.recorded;
}

events wait_until(const std::function<bool(const events&)>& done, std::chrono::milliseconds timeout) {
    state& s = global();
    std::unique_lock lock(s.mutex);
    s.changed.wait_for(lock, timeout, [&] { return done(s.recorded); });
    return s.recorded;
}

void set_active(bool active) { cotrace_test_sink_active = active; }

}  // namespace recorder

std::uint32_t this_tid() { return static_cast<std::uint32_t>(gettid()); }

std::string kind_name(std::uint16_t kind) {
    switch (kind) {
#define COTRACE_TEST_KIND_NAME(name, nargs) \
    case COTRACE_EV_##name:                 \
        return #name;
        COTRACE_PROBE_LIST(COTRACE_TEST_KIND_NAME)
#undef COTRACE_TEST_KIND_NAME
        default:
            return "kind" + std::to_string(kind);
    }
}

std::string describe(const events& evs) {
    std::string out;
    char line[256];
    for (std::size_t i = 0; i < evs.size(); ++i) {
        const event& e = evs[i];
        std::snprintf(line, sizeof line, "  #%zu tid %u %s(0x%llx, 0x%llx, 0x%llx) code 0x%llx flags %u\n", i,
                      e.tid, kind_name(e.kind).c_str(), static_cast<unsigned long long>(e.args[0]),
                      static_cast<unsigned long long>(e.args[1]), static_cast<unsigned long long>(e.args[2]),
                      static_cast<unsigned long long>(e.code), e.flags);
        out += line;
    }
    return out;
}

std::vector<std::size_t> find_all(const events& evs, std::uint16_t kind, std::uint64_t a0) {
    std::vector<std::size_t> found;
    for (std::size_t i = 0; i < evs.size(); ++i)
        if (evs[i].kind == kind && evs[i].args[0] == a0) found.push_back(i);
    return found;
}

events of_kind(const events& evs, std::uint16_t kind) {
    events found;
    for (const event& e : evs)
        if (e.kind == kind) found.push_back(e);
    return found;
}

std::size_t find_first(const events& evs, std::uint16_t kind, std::uint64_t a0) {
    for (std::size_t i = 0; i < evs.size(); ++i)
        if (evs[i].kind == kind && evs[i].args[0] == a0) return i;
    return npos;
}

}  // namespace cotrace_test

extern "C" void cotrace_test_sink(int kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
    using namespace cotrace_test;
    event e{};
    e.pid = static_cast<std::uint32_t>(getpid());
    e.tid = this_tid();
    e.kind = static_cast<std::uint16_t>(kind);
    const int cpu = sched_getcpu();
    e.cpu = static_cast<std::uint16_t>(cpu < 0 ? 0 : cpu);
    e.args[0] = a0;
    e.args[1] = a1;
    e.args[2] = a2;
    if (std::uint64_t frame = beginning_frame(kind, a0, a1, a2)) {
        std::memcpy(&e.code, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(frame)), sizeof e.code);
        e.flags |= COTRACE_EVF_CODE_VALID;
    }
    state& s = global();
    {
        std::lock_guard lock(s.mutex);
        e.ts_ns = monotonic_ns();  // under the lock: time order is recording order
        s.recorded.push_back(e);
    }
    s.changed.notify_all();
}
