#include "sinks/tree_sink.hpp"

#include "sinks/text_format.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace cotrace {

namespace {

struct style {
    bool on;
    const char* operator()(const char* code) const { return on ? code : ""; }
};
constexpr const char* reset = "\033[0m";
constexpr const char* bold = "\033[1m";
constexpr const char* dim = "\033[2m";
constexpr const char* red = "\033[31m";
constexpr const char* green = "\033[32m";
constexpr const char* yellow = "\033[33m";

std::string threads(const span& s) {
    std::string out = "tid ";
    for (std::size_t i = 0; i < s.tids.size(); ++i) out += (i ? "→" : "") + std::to_string(s.tids[i]);
    return out;
}

std::size_t columns(const std::string& s) { return display_width(s); }

// A line as pieces of text, each in one style, cut to the output's width
// (0: no limit) when written: colour codes never count as columns.
class line {
public:
    line& add(const std::string& text, const char* code = "") {
        parts_.push_back({text, code});
        return *this;
    }
    void write(std::ostream& out, style st, std::size_t width) const {
        std::size_t used = 0;
        for (const auto& [text, code] : parts_) {
            std::string t = text;
            const std::size_t w = columns(t);
            if (width && used + w > width) t = fit_width(t, width - used);
            out << st(code) << t << (*code ? st(reset) : "");
            used += columns(t);
            if (width && used >= width) break;
        }
        out << '\n';
    }

private:
    std::vector<std::pair<std::string, const char*>> parts_;
};

// Names are never cut shorter than this, however narrow the output: below
// it a name says nothing.
constexpr std::size_t min_name_columns = 16;

// Deeper levels than this are drawn at this indentation, their depth shown:
// an Asio session is a chain as deep as it exchanged messages, and
// indenting each level would make output grow with the square of it.
constexpr std::size_t max_indent = 24;
const std::string unnamed = "?";

class tree_writer {
public:
    tree_writer(std::ostream& out, const trace& t, style st, std::size_t width)
        : out_(out), t_(t), st_(st), max_width_(width) {
        for (std::size_t i = 0; i < t.spans.size(); ++i) {
            index_[t.spans[i].id] = i;
            children_[t.spans[i].parent_id].push_back(i);
        }
        // Roots are spans whose parent is not in this trace (normally just spans[0]).
        for (std::size_t i = 0; i < t.spans.size(); ++i)
            if (t.spans[i].parent_id == 0 || !index_.count(t.spans[i].parent_id)) roots_.push_back(i);
        measure();
    }

    void write() {
        const span& root = t_.spans[roots_.empty() ? 0 : roots_[0]];
        line head;
        head.add("trace " + trace_id_text(t_.id), bold)
            .add("  pid " + std::to_string(t_.pid) + "  " + millis_text(t_.end_ns - t_.start_ns) + "  ")
            .add(to_string(root.status), status_colour(root));
        if (!t_.complete) head.add("  ").add("(incomplete)", yellow);
        // A request from another process traced in this session: under which span of which trace.
        if (t_.joined_trace != 0)
            head.add("  called from trace " + trace_id_text(t_.joined_trace) + " (pid " + std::to_string(t_.joined_pid) +
                     ")");
        head.write(out_, st_, max_width_);
        // Depth first, without recursion (chains can be very deep).
        struct item {
            std::size_t span, depth;
            bool last;
        };
        std::vector<item> todo;
        for (std::size_t r = roots_.size(); r-- > 0;) todo.push_back({roots_[r], 0, r + 1 == roots_.size()});
        std::vector<bool> more_below;  // per drawn level: an ancestor there has later siblings
        while (!todo.empty()) {
            const item it = todo.back();
            todo.pop_back();
            more_below.resize(it.depth);
            write_span(it.span, it.depth, it.last, more_below);
            more_below.push_back(!it.last);
            auto c = children_.find(t_.spans[it.span].id);
            if (c == children_.end()) continue;
            for (std::size_t k = c->second.size(); k-- > 0;)
                todo.push_back({c->second[k], it.depth + 1, k + 1 == c->second.size()});
        }
    }

private:
    // The columns of this trace: names padded to the longest (shortened so
    // that the line fits the output's width), then duration, status, threads.
    void measure() {
        std::size_t names = 0, right = 0, branches = 0;
        std::vector<std::pair<std::size_t, std::size_t>> todo;  // span, depth
        for (std::size_t r : roots_) todo.push_back({r, 0});
        while (!todo.empty()) {
            auto [i, depth] = todo.back();
            todo.pop_back();
            const std::size_t branch = std::min(depth, max_indent) * 3 + 3;
            branches = std::max(branches, branch);
            names = std::max(names, branch + columns(label(t_.spans[i], depth)));
            right = std::max(right, columns(right_text(t_.spans[i])));
            auto it = children_.find(t_.spans[i].id);
            if (it != children_.end())
                for (std::size_t c : it->second) todo.push_back({c, depth + 1});
        }
        width_ = names;
        if (max_width_ && names + 2 + right > max_width_)
            width_ = std::max(max_width_ > right + 2 ? max_width_ - right - 2 : 0, branches + min_name_columns);
    }

    static std::string right_text(const span& s) {
        std::string r = (s.status != span_status::running ? millis_text(s.end_ns - s.start_ns) : std::string("running")) + "  " + to_string(s.status) +
                        "  " + threads(s);
        if (!s.suspends.empty())
            r += "  " + std::to_string(s.suspends.size()) + (s.suspends.size() == 1 ? " suspend" : " suspends");
        return r;
    }

    // The span's name as shown, shortened to at most max_columns (0: only
    // the standard library's defaults elided).
    static std::string label(const span& s, std::size_t depth, std::size_t max_columns = 0) {
        const std::string before = depth > max_indent ? "[depth " + std::to_string(depth) + "] " : "";
        const std::string after = s.partial ? " (partial)" : "";
        const std::size_t extra = columns(before) + columns(after);
        const std::size_t room = max_columns == 0 ? 0 : std::max(max_columns > extra ? max_columns - extra : 0,
                                                                  min_name_columns);
        return before + short_name(std::string(s.name.empty() ? std::string_view(unnamed) : s.name), room) + after;
    }

    // The tree drawn to the left of a line at `depth`, capped at max_indent levels.
    static std::string indent(const std::vector<bool>& more_below, std::size_t depth) {
        std::string out;
        for (std::size_t level = 0; level < std::min(depth, max_indent); ++level)
            out += more_below[level] ? "│  " : "   ";
        return out;
    }

    static const char* status_colour(const span& s) {
        return s.status == span_status::ok                                             ? green
               : s.status == span_status::exception || s.status == span_status::error ? red
                                                                                       : yellow;
    }

    void write_span(std::size_t i, std::size_t depth, bool last, const std::vector<bool>& more_below) {
        const span& s = t_.spans[i];
        const std::string prefix = indent(more_below, depth);
        const std::string branch = prefix + (last ? "└─ " : "├─ ");
        const std::size_t room = width_ > columns(branch) ? width_ - columns(branch) : 0;
        const std::string name = label(s, depth, max_width_ ? room : 0);
        line l;
        l.add(branch, dim).add(name).add(std::string(room > columns(name) ? room - columns(name) : 0, ' '));
        l.add("  " + (s.end_ns ? millis_text(s.end_ns - s.start_ns) : std::string("running")) + "  ")
            .add(to_string(s.status), status_colour(s))
            .add("  ")
            .add(threads(s), dim);
        if (s.suspends.size() > 0)
            l.add("  " + std::to_string(s.suspends.size()) + (s.suspends.size() == 1 ? " suspend" : " suspends"));
        l.write(out_, st_, max_width_);

        const std::string inner = prefix + (depth >= max_indent ? "" : last ? "   " : "│  ");
        auto it = children_.find(s.id);
        const bool has_children = it != children_.end() && !it->second.empty();
        const std::string detail_prefix = inner + (has_children ? "│  " : "   ");
        // Waits on something other than a traced child (those show as children).
        for (const suspension& su : s.suspends) {
            if (su.awaited != 0) continue;
            line d;
            d.add(detail_prefix + "waited at " + site_text(su.site) + "  " +
                      (su.end_ns ? millis_text(su.end_ns - su.start_ns) : "still waiting"),
                  dim);
            d.write(out_, st_, max_width_);
        }
        for (const annotation& a : s.events) {
            line d;
            d.add(detail_prefix, dim).add("• " + std::string(a.name) + " = " + std::to_string(a.value));
            d.write(out_, st_, max_width_);
        }
    }

    std::ostream& out_;
    const trace& t_;
    style st_;
    std::map<std::uint64_t, std::size_t> index_;
    std::map<std::uint64_t, std::vector<std::size_t>> children_;
    std::vector<std::size_t> roots_;
    std::size_t max_width_;  // of a line; 0: no limit
    std::size_t width_ = 0;  // of the tree and names column
};

}  // namespace

void tree_sink::on_trace(const trace& t) {
    if (t.spans.empty()) return;
    tree_writer(out_, t, style{colour_}, width_).write();
}

bool tree_sink::on_in_flight(const in_flight_trace& f) {
    if (f.t.spans.empty()) return true;
    const style st{colour_};
    line head;
    // By --stuck: "STUCK"; on demand: "IN FLIGHT", and "(stuck)" past the threshold.
    head.add(f.requested ? "IN FLIGHT" : "STUCK", f.stuck ? red : yellow);
    if (f.requested && f.stuck) head.add(" (stuck)", red);
    head.add("  trace " + trace_id_text(f.t.id) + "  pid " + std::to_string(f.t.pid) + "  open " +
             millis_text(f.age_ns()) + "  " + std::to_string(f.waiting.size()) + " suspended");
    head.write(out_, st, width_);
    for (const in_flight_trace::waiting_span& w : f.waiting) {
        const span& s = f.span_of(w);
        line l;
        l.add("  suspended " + millis_text(w.waited_ns) + " at ")
            .add(site_text(s.suspends.back().site), bold)
            .add("  in " + short_name(s.name.empty() ? std::string_view(unnamed) : s.name));
        l.write(out_, st, width_);
    }
    tree_writer(out_, f.t, st, width_).write();
    return true;
}

}  // namespace cotrace
