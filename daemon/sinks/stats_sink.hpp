#pragma once
// --format stats: the view for when there is too much to read. Per span name:
// count, total time, p50/p90/p99/max duration of the spans that ended, mean
// suspends and thread hops per span, exceptions, cancellations and errors; printed by
// finish() as one table sorted by total time, largest first.
//
// Memory is bounded by the number of distinct names, not of spans: each name
// keeps every duration up to `reservoir_cap` (100 000 by default), then a
// uniform sample of that many (reservoir sampling, algorithm R, with a fixed
// seed so a replay prints the same table). Counts, totals, means and the
// maximum stay exact; past the cap the percentiles are estimates, marked "~".
//
// Percentiles are nearest-rank: p% of n sorted durations is the value at
// 1-based rank ceil(p * n / 100), so it is always a duration that occurred
// (1..100 ms gives p50 50 ms, p90 90 ms, p99 99 ms).

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "sinks/sink.hpp"

namespace cotrace {

class stats_sink : public trace_sink {
public:
    static constexpr std::size_t default_reservoir_cap = 100'000;

    explicit stats_sink(std::ostream& out) : stats_sink(out, default_reservoir_cap) {}
    stats_sink(std::ostream& out, std::size_t reservoir_cap);
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

    // The nearest-rank p-th percentile (0 < p <= 100) of ascending values;
    // 0 for none.
    static std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, unsigned p);

private:
    struct name_stats {
        std::uint64_t count = 0;
        std::uint64_t ended = 0;  // spans with a duration: every one seen, sampled or not
        std::uint64_t total_ns = 0;
        std::uint64_t max_ns = 0;
        std::uint64_t suspends = 0;
        std::uint64_t hops = 0;
        std::uint64_t exceptions = 0;
        std::uint64_t cancellations = 0;
        std::uint64_t errors = 0;  // ended with an error status (an I/O error, say)
        std::vector<std::uint64_t> durations;  // all of them up to the cap, then a uniform sample
    };

    void add_duration(name_stats& n, std::uint64_t ns);

    std::ostream& out_;
    std::size_t cap_;
    std::mt19937_64 random_{0x636f7472616365};  // fixed: the same input prints the same table
    std::unordered_map<std::string, name_stats> names_;
    std::uint64_t traces_ = 0;
    std::uint64_t incomplete_ = 0;
    std::uint64_t spans_ = 0;
    bool finished_ = false;
};

}  // namespace cotrace
