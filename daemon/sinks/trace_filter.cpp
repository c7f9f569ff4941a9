#include "sinks/trace_filter.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

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

std::optional<std::uint64_t> parse_duration_ns(const std::string& text, double bare_unit_ns) {
    if (text.empty()) return std::nullopt;
    // A sum of NUMBER UNIT terms ("1h30m", "1.5s", "2m10.5s"); a lone number
    // is in bare_unit_ns. Each term's number is read without a sign or an
    // exponent, so "1e3s" and "-5ms" are refused.
    static const std::pair<const char*, double> units[] = {
        {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double total = 0;
    std::size_t i = 0;
    bool any_unit = false;
    while (i < text.size()) {
        const std::size_t begin = i;
        bool dot = false;
        while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
            dot = dot || text[i] == '.';
            ++i;
        }
        const std::string number = text.substr(begin, i - begin);
        if (number.empty() || number == ".") return std::nullopt;
        const double value = std::strtod(number.c_str(), nullptr);
        // The longest unit that matches here ("ms" before "m").
        double scale = 0;
        std::size_t unit_len = 0;
        for (const auto& [name, ns] : units) {
            const std::size_t n = std::strlen(name);
            if (n > unit_len && text.compare(i, n, name) == 0) {
                scale = ns;
                unit_len = n;
            }
        }
        if (unit_len == 0) {
            if (i != text.size() || any_unit) return std::nullopt;  // a bare number only alone
            scale = bare_unit_ns;
        }
        any_unit = any_unit || unit_len != 0;
        i += unit_len;
        total += value * scale;
    }
    if (!std::isfinite(total) || total >= 1.8e19) return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(total));
}

std::optional<std::uint64_t> parse_trace_id(const std::string& text) {
    std::string hex = text.rfind("0x", 0) == 0 ? text.substr(2) : text;
    if (hex.empty() || hex.size() > 16 ||
        !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    return std::strtoull(hex.c_str(), nullptr, 16);
}

}  // namespace cotrace
