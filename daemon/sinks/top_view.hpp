#pragma once
// `cotrace top`: what a process's coroutines do now, as a screen redrawn
// once a second. Per coroutine function: spans started per second, in
// flight now, p50/p99 duration and errors (since attach); then the oldest
// requests in flight, with the span each waits in, where and how long.
//
// Finished traces come in as a sink (on_trace); each redraw takes the
// assembler's in-flight snapshot (add_in_flight for every open trace, then
// render). On a terminal the screen is cleared and redrawn in place, cut to
// its size (80x24 at least fits); elsewhere each redraw is a plain block of
// text after the previous one.

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sinks/sink.hpp"

namespace cotrace {

class top_view : public trace_sink {
public:
    top_view(std::uint32_t pid, bool terminal) : pid_(pid), terminal_(terminal) {}

    void on_trace(const trace& t) override;

    // The snapshot of one open trace, at the redraw's time.
    void add_in_flight(const in_flight_trace& f);
    // Draws the screen (rows x columns; 0: no limit) for the window ending
    // at now_ns (Unix epoch) and starts the next window.
    void render(std::ostream& out, std::uint64_t now_ns, std::size_t rows, std::size_t columns);

    // Log-linear histogram of durations (as HdrHistogram): each power of two
    // is cut into 32 equal buckets, so a bucket is at most 1/32 of its
    // values wide and a percentile, the middle of its bucket, is within
    // 1.6% of a duration seen; below 32 ns every value has its own bucket.
    struct histogram {
        static constexpr unsigned sub_bits = 5;
        static constexpr std::size_t sub_buckets = std::size_t{1} << sub_bits;
        std::array<std::uint64_t, sub_buckets * (64 - sub_bits + 1)> buckets{};
        std::uint64_t count = 0;
        void add(std::uint64_t ns);
        std::uint64_t percentile(double p) const;  // 0 when empty
    };

private:
    struct function_stats {
        std::uint64_t started = 0;  // in the current window
        std::uint64_t in_flight = 0;  // open spans at the last snapshot
        std::uint64_t errors = 0;     // since attach (exception or error)
        std::uint64_t finished = 0;   // since attach
        histogram durations;          // since attach
        double started_per_s = 0;     // of the last window
    };
    struct oldest_request {
        std::uint64_t trace_id = 0;
        std::uint64_t age_ns = 0;
        std::string_view root;
        std::string_view waits_in;  // the innermost span suspended, empty when it runs
        source_site site;
        std::uint64_t waited_ns = 0;
    };
    function_stats& stats(std::string_view name);
    bool in_window(std::uint64_t start_ns) const { return start_ns >= window_start_ns_; }

    std::uint32_t pid_;
    bool terminal_;
    std::uint64_t window_start_ns_ = 0;
    std::uint64_t requests_in_flight_ = 0;
    std::uint64_t traces_finished_ = 0;
    std::unordered_map<std::string_view, function_stats> functions_;
    std::vector<oldest_request> oldest_;  // of the current snapshot
};

}  // namespace cotrace
