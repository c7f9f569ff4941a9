#pragma once
// --trace ID, --name GLOB, --min-duration DUR, --limit N: which assembled
// traces reach the sink. Sits between the assembler and the sink.

#include <cstdint>
#include <optional>
#include <string>

#include "model/trace_consumer.hpp"

namespace cotrace {

struct filter_options {
    std::optional<std::uint64_t> trace_id;
    std::string name_glob;                     // a trace is kept when any span's name matches
    std::uint64_t min_duration_ns = 0;         // of the whole trace
    std::optional<std::uint64_t> limit;        // at most this many traces
    bool active() const { return trace_id || !name_glob.empty() || min_duration_ns || limit; }
};

class trace_filter : public trace_consumer {
public:
    trace_filter(const filter_options& options, trace_consumer& next) : options_(options), next_(next) {}
    void on_trace(const trace& t) override;

    bool keeps(const trace& t) const;
    bool limit_reached() const { return options_.limit && passed_ >= *options_.limit; }
    std::uint64_t passed() const { return passed_; }

private:
    filter_options options_;
    trace_consumer& next_;
    std::uint64_t passed_ = 0;
};

// A duration as people write it: "250us", "5ms", "1.5s", "100ns", "2m",
// "1h30m", "1m2.5s" (units ns, us or µs, ms, s, m, h, summed); a plain number
// is in bare_unit_ns (nanoseconds unless said). nullopt if malformed.
std::optional<std::uint64_t> parse_duration_ns(const std::string& text, double bare_unit_ns = 1);
// A trace id as printed (16 hex digits, optional 0x); nullopt if malformed.
std::optional<std::uint64_t> parse_trace_id(const std::string& text);

}  // namespace cotrace
