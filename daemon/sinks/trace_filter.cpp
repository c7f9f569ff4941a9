#include "sinks/trace_filter.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cotrace {

bool trace_filter::keeps(const trace& t) const {
    if (options_.trace_id && t.id != *options_.trace_id) return false;
    if (options_.min_duration_ns && t.end_ns - t.start_ns < options_.min_duration_ns) return false;
    if (!options_.name_glob.empty() &&
        std::none_of(t.spans.begin(), t.spans.end(), [&](const span& s) {
            return fnmatch(options_.name_glob.c_str(), std::string(s.name).c_str(), 0) == 0;
        }))
        return false;
    return true;
}

void trace_filter::on_trace(const trace& t) {
    if (limit_reached() || !keeps(t)) return;
    ++passed_;
    next_.on_trace(t);
}

std::optional<std::uint64_t> parse_duration_ns(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
    const std::string unit(end);
    double scale = 0;
    if (unit.empty() || unit == "ns")
        scale = 1;
    else if (unit == "us" || unit == "µs")
        scale = 1e3;
    else if (unit == "ms")
        scale = 1e6;
    else if (unit == "s")
        scale = 1e9;
    else
        return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(value * scale));
}

std::optional<std::uint64_t> parse_trace_id(const std::string& text) {
    std::string hex = text.rfind("0x", 0) == 0 ? text.substr(2) : text;
    if (hex.empty() || hex.size() > 16 ||
        !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    return std::strtoull(hex.c_str(), nullptr, 16);
}

}  // namespace cotrace
