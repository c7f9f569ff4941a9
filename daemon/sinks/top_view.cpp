#include "sinks/top_view.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "sinks/text_format.hpp"

namespace cotrace {

namespace {

// At most this many oldest requests are kept per snapshot, and shown.
constexpr std::size_t max_oldest = 32;

std::string duration_text(std::uint64_t ns) {
    char buf[32];
    if (ns < 1'000)
        std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
    else if (ns < 1'000'000)
        std::snprintf(buf, sizeof buf, "%.1fus", ns / 1e3);
    else if (ns < 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.1fms", ns / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.1fs", ns / 1e9);
    return buf;
}

// `text` padded or cut to exactly `width` columns.
std::string column(const std::string& text, std::size_t width) {
    std::string t = display_width(text) > width ? fit_width(text, width) : text;
    const std::size_t w = display_width(t);
    return w < width ? t + std::string(width - w, ' ') : t;
}

std::string right(const std::string& text, std::size_t width) {
    return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

}  // namespace

void top_view::histogram::add(std::uint64_t ns) {
    const unsigned magnitude = static_cast<unsigned>(std::bit_width(ns));  // 0 for 0
    std::size_t k = ns;
    if (magnitude > sub_bits) {
        const unsigned shift = magnitude - sub_bits - 1;  // keeps the top sub_bits + 1 bits
        k = sub_buckets * (shift + 1) + ((ns >> shift) & (sub_buckets - 1));
    }
    ++buckets[k];
    ++count;
}

std::uint64_t top_view::histogram::percentile(double p) const {
    if (count == 0) return 0;
    const auto rank = std::max<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(count))), 1);
    std::uint64_t seen = 0;
    std::size_t k = 0;
    while (k + 1 < buckets.size() && (seen += buckets[k]) < rank) ++k;
    if (k < sub_buckets) return k;  // exact
    const std::size_t shift = k / sub_buckets - 1;
    const std::uint64_t low = (sub_buckets + k % sub_buckets) << shift;
    return low + ((std::uint64_t{1} << shift) >> 1);  // the middle of the bucket
}

top_view::function_stats& top_view::stats(std::string_view name) { return functions_[name.empty() ? "?" : name]; }

void top_view::on_trace(const trace& t) {
    if (t.final_segment) ++traces_finished_;
    for (const span& s : t.spans) {
        if (s.status == span_status::running) continue;  // an ancestor still open, in a segment
        function_stats& f = stats(s.name);
        if (in_window(s.start_ns)) ++f.started;
        ++f.finished;
        f.durations.add(s.end_ns - s.start_ns);
        if (s.status == span_status::exception || s.status == span_status::error) ++f.errors;
    }
}

void top_view::add_in_flight(const in_flight_trace& f) {
    ++requests_in_flight_;
    for (const span& s : f.t.spans) {
        // Spans finished in a trace still open are counted here, once: only
        // those begun in this window, which its emission later will not count.
        if (in_window(s.start_ns)) ++stats(s.name).started;
        if (s.status == span_status::running) ++stats(s.name).in_flight;
    }
    oldest_request r;
    r.trace_id = f.t.id;
    r.age_ns = f.age_ns();
    r.root = f.t.spans.empty() ? std::string_view("?") : f.t.spans[0].name;
    if (!f.waiting.empty()) {
        // The innermost: spans are in order of beginning, a child after its parent.
        const in_flight_trace::waiting_span& w = f.waiting.back();
        r.waits_in = f.span_of(w).name;
        r.site = f.span_of(w).suspends.back().site;
        r.waited_ns = w.waited_ns;
    }
    const auto older = [](const oldest_request& a, const oldest_request& b) { return a.age_ns > b.age_ns; };
    if (oldest_.size() < max_oldest) {
        oldest_.push_back(r);
        std::push_heap(oldest_.begin(), oldest_.end(), older);
    } else if (r.age_ns > oldest_.front().age_ns) {
        std::pop_heap(oldest_.begin(), oldest_.end(), older);
        oldest_.back() = r;
        std::push_heap(oldest_.begin(), oldest_.end(), older);
    }
}

void top_view::render(std::ostream& out, std::uint64_t now_ns, std::size_t rows, std::size_t columns) {
    const double window_s = window_start_ns_ && now_ns > window_start_ns_ ? (now_ns - window_start_ns_) / 1e9 : 0;
    std::vector<std::pair<std::string_view, function_stats*>> fns;
    for (auto& [name, f] : functions_) {
        f.started_per_s = window_s > 0 ? f.started / window_s : 0;
        fns.push_back({name, &f});
    }
    std::sort(fns.begin(), fns.end(), [](const auto& a, const auto& b) {
        if (a.second->started_per_s != b.second->started_per_s) return a.second->started_per_s > b.second->started_per_s;
        if (a.second->in_flight != b.second->in_flight) return a.second->in_flight > b.second->in_flight;
        return a.first < b.first;
    });
    std::sort(oldest_.begin(), oldest_.end(),
              [](const oldest_request& a, const oldest_request& b) { return a.age_ns > b.age_ns; });

    const std::size_t width = columns ? columns : 100;
    std::vector<std::string> lines;
    char head[160];
    std::snprintf(head, sizeof head, "cotrace top  pid %u  %llu %s in flight  %llu finished  (q quits)", pid_,
                  static_cast<unsigned long long>(requests_in_flight_),
                  requests_in_flight_ == 1 ? "request" : "requests", static_cast<unsigned long long>(traces_finished_));
    lines.push_back(head);
    // FUNCTION takes what the numbers leave: 5 columns of 8.
    const std::size_t numbers = 5 * 9;
    const std::size_t name_width = width > numbers + 12 ? width - numbers - 1 : 12;
    lines.push_back(column("FUNCTION", name_width) + " " + right("START/s", 8) + " " + right("FLIGHT", 8) + " " +
                    right("P50", 8) + " " + right("P99", 8) + " " + right("ERRORS", 8));
    // Rows: head, table head, functions, blank, oldest head, oldest requests.
    const std::size_t oldest_rows = std::min<std::size_t>(oldest_.size(), 8);
    const std::size_t fn_rows_max = rows ? (rows > 5 + oldest_rows ? rows - 5 - oldest_rows : 1) : fns.size();
    const std::size_t fn_rows = std::min(fns.size(), fn_rows_max);
    for (std::size_t i = 0; i < fn_rows; ++i) {
        const function_stats& f = *fns[i].second;
        char rate[32];
        std::snprintf(rate, sizeof rate, "%.1f", f.started_per_s);
        lines.push_back(column(short_name(fns[i].first, name_width), name_width) + " " + right(rate, 8) + " " +
                        right(std::to_string(f.in_flight), 8) + " " +
                        right(f.finished ? duration_text(f.durations.percentile(0.5)) : "-", 8) + " " +
                        right(f.finished ? duration_text(f.durations.percentile(0.99)) : "-", 8) + " " +
                        right(std::to_string(f.errors), 8));
    }
    lines.emplace_back();
    lines.push_back("OLDEST IN FLIGHT        AGE  WAITS IN / AT");
    const std::size_t room = rows ? (rows > lines.size() ? rows - lines.size() : 0) : oldest_.size();
    for (std::size_t i = 0; i < std::min(oldest_.size(), room); ++i) {
        const oldest_request& r = oldest_[i];
        std::string where = r.waits_in.empty() ? std::string("running ") + std::string(r.root)
                                               : short_name(r.waits_in) + " at " + site_text(r.site) + " for " +
                                                     duration_text(r.waited_ns);
        lines.push_back(trace_id_text(r.trace_id) + " " + right(duration_text(r.age_ns), 8) + "  " + where);
    }

    if (terminal_) out << "\033[H\033[2J";  // home, clear
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out << (width ? fit_width(lines[i], width) : lines[i]);
        if (terminal_ && i + 1 == lines.size()) break;  // the last row: no scroll
        out << (terminal_ ? "\r\n" : "\n");
    }
    if (!terminal_) out << '\n';
    out.flush();

    // The next window.
    window_start_ns_ = now_ns;
    requests_in_flight_ = 0;
    for (auto& [name, f] : functions_) f.started = f.in_flight = 0;
    oldest_.clear();
}

}  // namespace cotrace
