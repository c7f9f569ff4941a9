#pragma once
// An in-process stand-in for the BPF side, for tests built with
// -DCOTRACE_TEST_SINK: every probe the library fires is appended to one
// global, ordered sequence of `struct cotrace_event` records, filled in the
// way the BPF programs fill them (monotonic time, pid, kernel tid, cpu, the
// probe's arguments, and `code` = the first word of the frame of a span that
// begins), so the daemon's assembler can later consume the same records.
//
// The recorder records every probe call, whatever cotrace_test_sink_active
// says: that flag stands for the probe semaphores (a tracer being attached)
// and only changes what the library chooses to compute and emit.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <cotrace/detail/cotrace_probes.h>

namespace cotrace_test {

using event = ::cotrace_event;
using events = std::vector<event>;

namespace recorder {

// Forgets every recorded event.
void clear();

// A copy of everything recorded so far, in recording order.
events snapshot();

// Blocks until `done(events so far)` holds or `timeout` passes (the timeout
// only keeps a broken test from hanging), and returns the events seen last.
events wait_until(const std::function<bool(const events&)>& done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Sets cotrace_test_sink_active (what COTRACE_DETAIL_ACTIVE reads). Only call
// it while no other thread can be inside the library.
void set_active(bool active);

}  // namespace recorder

// The kernel thread id of the calling thread, as recorded in event::tid.
std::uint32_t this_tid();

// "suspend", "resume", ... (the probe's name), or "kind<N>".
std::string kind_name(std::uint16_t kind);

// One line per event, for failure messages.
std::string describe(const events& evs);

// A site argument, read as the static record it points to.
inline const cotrace_site& site_at(std::uint64_t arg) {
    return *reinterpret_cast<const cotrace_site*>(static_cast<std::uintptr_t>(arg));
}

inline std::uint64_t addr(const void* p) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Indices of the events of `kind` whose first argument is `a0`.
std::vector<std::size_t> find_all(const events& evs, std::uint16_t kind, std::uint64_t a0);
// The events of one kind, in order.
events of_kind(const events& evs, std::uint16_t kind);
// Index of the first event of `kind` with first argument `a0`, or npos.
inline constexpr std::size_t npos = static_cast<std::size_t>(-1);
std::size_t find_first(const events& evs, std::uint16_t kind, std::uint64_t a0);

}  // namespace cotrace_test
