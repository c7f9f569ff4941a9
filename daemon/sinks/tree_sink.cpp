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

// Display width of UTF-8 text (box-drawing characters are one column each).
std::size_t columns(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// Deeper levels than this are drawn at this indentation, their depth shown:
// an Asio session is a chain as deep as it exchanged messages, and
// indenting each level would make output grow with the square of it.
constexpr std::size_t max_indent = 24;
const std::string unnamed = "?";

class tree_writer {
public:
    tree_writer(std::ostream& out, const trace& t, style st) : out_(out), t_(t), st_(st) {
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
        out_ << st_(bold) << "trace " << trace_id_text(t_.id) << st_(reset) << "  pid " << t_.pid << "  "
             << millis_text(t_.end_ns - t_.start_ns) << "  " << status_text(root);
        if (!t_.complete) out_ << "  " << st_(yellow) << "(incomplete)" << st_(reset);
        out_ << '\n';
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
    void measure() {
        std::vector<std::pair<std::size_t, std::size_t>> todo;  // span, depth
        for (std::size_t r : roots_) todo.push_back({r, 0});
        while (!todo.empty()) {
            auto [i, depth] = todo.back();
            todo.pop_back();
            width_ = std::max(width_, std::min(depth, max_indent) * 3 + 3 + columns(label(t_.spans[i], depth)));
            auto it = children_.find(t_.spans[i].id);
            if (it != children_.end())
                for (std::size_t c : it->second) todo.push_back({c, depth + 1});
        }
    }

    static std::string label(const span& s, std::size_t depth) {
        const std::string name(s.name.empty() ? std::string_view(unnamed) : s.name);
        std::string l = depth > max_indent ? "[depth " + std::to_string(depth) + "] " + name : name;
        if (s.partial) l += " (partial)";
        return l;
    }

    // The tree drawn to the left of a line at `depth`, capped at max_indent levels.
    static std::string indent(const std::vector<bool>& more_below, std::size_t depth) {
        std::string out;
        for (std::size_t level = 0; level < std::min(depth, max_indent); ++level)
            out += more_below[level] ? "│  " : "   ";
        return out;
    }

    std::string status_text(const span& s) const {
        const char* colour = s.status == span_status::ok          ? green
                             : s.status == span_status::exception || s.status == span_status::error ? red
                                                                  : yellow;
        return std::string(st_(colour)) + to_string(s.status) + st_(reset);
    }

    void write_span(std::size_t i, std::size_t depth, bool last, const std::vector<bool>& more_below) {
        const span& s = t_.spans[i];
        const std::string prefix = indent(more_below, depth);
        const std::string branch = prefix + (last ? "└─ " : "├─ ");
        const std::string name = label(s, depth);
        out_ << st_(dim) << branch << st_(reset) << name
             << std::string(width_ > columns(branch) + columns(name) ? width_ - columns(branch) - columns(name) : 0, ' ')
             << "  " << (s.end_ns ? millis_text(s.end_ns - s.start_ns) : "running") << "  " << status_text(s) << "  "
             << st_(dim) << threads(s) << st_(reset);
        if (s.suspends.size() > 0) out_ << "  " << s.suspends.size() << (s.suspends.size() == 1 ? " suspend" : " suspends");
        out_ << '\n';

        const std::string inner = prefix + (depth >= max_indent ? "" : last ? "   " : "│  ");
        auto it = children_.find(s.id);
        const bool has_children = it != children_.end() && !it->second.empty();
        const std::string detail_prefix = inner + (has_children ? "│  " : "   ");
        // Waits on something other than a traced child (those show as children).
        for (const suspension& su : s.suspends) {
            if (su.awaited != 0) continue;
            out_ << st_(dim) << detail_prefix << "waited at " << site_text(su.site) << "  "
                 << (su.end_ns ? millis_text(su.end_ns - su.start_ns) : "still waiting") << st_(reset) << '\n';
        }
        for (const annotation& a : s.events)
            out_ << st_(dim) << detail_prefix << st_(reset) << "• " << a.name << " = " << a.value << '\n';
    }

    std::ostream& out_;
    const trace& t_;
    style st_;
    std::map<std::uint64_t, std::size_t> index_;
    std::map<std::uint64_t, std::vector<std::size_t>> children_;
    std::vector<std::size_t> roots_;
    std::size_t width_ = 0;
};

}  // namespace

void tree_sink::on_trace(const trace& t) {
    if (t.spans.empty()) return;
    tree_writer(out_, t, style{colour_}).write();
}

}  // namespace cotrace
