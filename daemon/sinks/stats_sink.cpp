#include "sinks/stats_sink.hpp"

#include <algorithm>
#include <cstdio>

namespace cotrace {

namespace {

// Longer names are cut (with "…") so the numbers stay on screen.
constexpr std::size_t max_name_columns = 60;

std::size_t columns(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first `n` columns of UTF-8 text, never splitting a character.
std::string first_columns(const std::string& s, std::size_t n) {
    std::size_t seen = 0, i = 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (seen == n) break;
            ++seen;
        }
    }
    return s.substr(0, i);
}

std::string fit(const std::string& name, std::size_t width) {
    std::string out = columns(name) > width ? first_columns(name, width - 1) + "…" : name;
    return out + std::string(width - columns(out), ' ');
}

std::string ms(std::uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
    return buf;
}

std::string fixed(double v, const char* format) {
    char buf[32];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string right(const std::string& s, std::size_t width) {
    return std::string(width > columns(s) ? width - columns(s) : 0, ' ') + s;
}

}  // namespace

stats_sink::stats_sink(std::ostream& out, std::size_t reservoir_cap)
    : out_(out), cap_(std::max<std::size_t>(reservoir_cap, 1)) {}

std::uint64_t stats_sink::percentile(const std::vector<std::uint64_t>& sorted, unsigned p) {
    if (sorted.empty()) return 0;
    const std::uint64_t n = sorted.size();
    std::uint64_t rank =
        (static_cast<std::uint64_t>(std::min(p, 100u)) * n + 99) / 100;  // ceil(p n / 100)
    rank = std::clamp<std::uint64_t>(rank, 1, n);
    return sorted[rank - 1];
}

void stats_sink::add_duration(name_stats& n, std::uint64_t ns) {
    ++n.ended;
    n.total_ns += ns;
    n.max_ns = std::max(n.max_ns, ns);
    if (n.durations.size() < cap_) {
        n.durations.push_back(ns);
        return;
    }
    // Algorithm R: the n-th duration replaces a random kept one with
    // probability cap / n, which keeps every duration equally likely kept.
    std::uniform_int_distribution<std::uint64_t> pick(0, n.ended - 1);
    if (const std::uint64_t j = pick(random_); j < cap_) n.durations[j] = ns;
}

void stats_sink::on_trace(const trace& t) {
    if (finished_) return;
    ++traces_;
    if (!t.complete) ++incomplete_;
    for (const span& s : t.spans) {
        ++spans_;
        name_stats& n = names_[std::string(s.name)];
        ++n.count;
        n.suspends += s.suspends.size();
        n.hops += s.thread_hops;
        if (s.status == span_status::exception) ++n.exceptions;
        if (s.status == span_status::cancelled) ++n.cancellations;
        if (s.status == span_status::error) ++n.errors;
        if (s.status != span_status::running && s.end_ns != 0)
            add_duration(n, s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0);
    }
}

void stats_sink::finish(const session_summary& summary) {
    if (finished_) return;
    finished_ = true;

    out_ << traces_ << (traces_ == 1 ? " trace" : " traces");
    if (incomplete_) out_ << " (" << incomplete_ << " incomplete)";
    out_ << ", " << spans_ << (spans_ == 1 ? " span" : " spans") << ", " << names_.size()
         << (names_.size() == 1 ? " name" : " names");
    if (summary.drops) out_ << ", " << summary.drops << " events dropped";
    out_ << "; durations of ended spans in ms, percentiles nearest-rank\n";
    if (names_.empty()) {
        out_.flush();
        return;
    }

    struct row {
        const std::string* name;
        const name_stats* n;
    };
    std::vector<row> rows;
    rows.reserve(names_.size());
    for (const auto& [name, n] : names_) rows.push_back({&name, &n});
    std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
        if (a.n->total_ns != b.n->total_ns) return a.n->total_ns > b.n->total_ns;
        return *a.name < *b.name;
    });

    const std::vector<std::string> heads{"name", "count",     "total",     "p50", "p90",   "p99",
                                         "max",  "susp/span", "hops/span", "exc", "cancel", "err"};
    std::vector<std::vector<std::string>> cells;
    bool estimated = false;
    for (const row& r : rows) {
        const name_stats& n = *r.n;
        std::vector<std::uint64_t> sorted = n.durations;
        std::sort(sorted.begin(), sorted.end());
        const bool sampled = n.ended > sorted.size();
        estimated |= sampled;
        auto pct = [&](unsigned p) {
            if (sorted.empty()) return std::string("-");
            return (sampled ? "~" : "") + ms(percentile(sorted, p));
        };
        const double count = static_cast<double>(n.count);
        cells.push_back({*r.name, std::to_string(n.count), n.ended ? ms(n.total_ns) : "-", pct(50),
                         pct(90), pct(99), n.ended ? ms(n.max_ns) : "-",
                         fixed(static_cast<double>(n.suspends) / count, "%.2f"),
                         fixed(static_cast<double>(n.hops) / count, "%.2f"),
                         std::to_string(n.exceptions), std::to_string(n.cancellations), std::to_string(n.errors)});
    }

    std::vector<std::size_t> width(heads.size());
    for (std::size_t c = 0; c < heads.size(); ++c) {
        width[c] = columns(heads[c]);
        for (const auto& line : cells) width[c] = std::max(width[c], columns(line[c]));
    }
    width[0] = std::min(width[0], max_name_columns);
    auto print = [&](const std::vector<std::string>& line) {
        std::string text = fit(line[0], width[0]);
        for (std::size_t c = 1; c < line.size(); ++c) text += "  " + right(line[c], width[c]);
        out_ << text << '\n';
    };
    print(heads);
    for (const auto& line : cells) print(line);
    if (estimated)
        out_ << "~ estimated from a uniform sample of " << cap_ << " durations of that name\n";
    out_.flush();
}

}  // namespace cotrace
