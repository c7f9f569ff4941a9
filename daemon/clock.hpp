#pragma once
// The daemon's clocks, shared by every stage: BPF stamps events with
// CLOCK_MONOTONIC (bpf_ktime_get_ns), and what users see is Unix time.

#include <time.h>

#include <chrono>
#include <cstdint>

namespace cotrace {

inline std::uint64_t clock_ns(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

inline std::uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline std::uint64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

// Milliseconds from `since` to now, for the daemon's -v timings.
inline double ms_since(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Added to a CLOCK_MONOTONIC time, gives the Unix-epoch time.
inline std::int64_t monotonic_to_epoch_offset() {
    timespec mono{}, real{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    return (static_cast<std::int64_t>(real.tv_sec) - mono.tv_sec) * 1'000'000'000 +
           (static_cast<std::int64_t>(real.tv_nsec) - mono.tv_nsec);
}

}  // namespace cotrace
