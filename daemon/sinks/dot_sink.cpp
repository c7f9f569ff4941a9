#include "sinks/dot_sink.hpp"

#include "sinks/text_format.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <vector>

namespace cotrace {

namespace {

// Sites of untraced waits listed per span; past this, one line sums up the rest.
constexpr std::size_t max_wait_lines = 6;
// Annotations shown in a span's box.
constexpr std::size_t max_annotations = 3;

// A label from lines of raw text: each escaped, joined with DOT's \n.
std::string label(const std::vector<std::string>& lines) {
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        out += (i ? "\\n" : "") + dot_sink::escape(lines[i]);
    return out;
}

// The same, each line left-justified (DOT's \l ends a left-justified line).
std::string left_justified(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += dot_sink::escape(l) + "\\l";
    return out;
}

class trace_graph {
public:
    trace_graph(std::ostream& out, const trace& t, std::uint64_t seq)
        : out_(out), t_(t), prefix_("t" + std::to_string(seq) + "_"), seq_(seq) {
        for (std::size_t i = 0; i < t.spans.size(); ++i) index_[t.spans[i].id] = i;
        children_.resize(t.spans.size());
        for (std::size_t i = 0; i < t.spans.size(); ++i)
            if (auto p = index_.find(t.spans[i].parent_id);
                t.spans[i].parent_id != 0 && p != index_.end() && p->second != i)
                children_[p->second].push_back(i);
        for (const span& s : t.spans)
            for (const suspension& su : s.suspends)
                if (su.awaited != 0 && index_.count(su.awaited))
                    awaited_at_.emplace(su.awaited, &su);
        for (const link& l : t.links)
            if (l.kind == link_kind::spawn) spawned_by_.emplace(l.to, l.from);
    }

    void write() {
        const span& root = t_.spans.front();
        std::string title = "trace " + trace_id_text(t_.id) + " · pid " + std::to_string(t_.pid) + " · " +
                            millis_text(t_.end_ns - t_.start_ns) + " · " + to_string(root.status);
        if (!t_.complete) title += " (incomplete)";
        out_ << "  subgraph \"cluster_" << seq_ << "_" << trace_id_text(t_.id) << "\" {\n"
             << "    label=\"" << label({title}) << "\";\n"
             << "    labeljust=l; style=rounded; color=\"#9e9e9e\"; fontsize=11;\n";
        // Each span's wait notes are declared right after it: dot seeds the
        // order within a rank from the order nodes are declared.
        std::vector<std::vector<note>> notes(t_.spans.size());
        for (std::size_t i = 0; i < t_.spans.size(); ++i) {
            node(t_.spans[i]);
            notes[i] = wait_notes(t_.spans[i]);
            for (const note& n : notes[i])
                out_ << "    " << n.name
                     << " [shape=plain, style=\"\", fontsize=9, fontcolor=\"#616161\", label=\""
                     << left_justified(n.lines) << "\"];\n";
        }
        for (std::size_t i = 0; i < t_.spans.size(); ++i) out_edges(i, notes[i]);
        for (const link& l : t_.links) cross_link(l);
        out_ << "  }\n";
    }

private:
    struct note {
        std::uint64_t at;  // the first wait it stands for
        std::string name;
        std::vector<std::string> lines;
    };

    std::string id(const span& s) const { return prefix_ + "s" + std::to_string(s.id); }

    void node(const span& s) {
        std::vector<std::string> lines;
        lines.push_back(s.partial ? std::string(s.name) + " (partial)" : std::string(s.name));
        lines.push_back((s.end_ns ? millis_text(s.end_ns - s.start_ns) : std::string("not ended")) +
                        " · " + to_string(s.status));
        if (!s.tids.empty()) {
            std::string threads = "tid ";
            for (std::size_t i = 0; i < s.tids.size(); ++i)
                threads += (i ? "→" : "") + std::to_string(s.tids[i]);
            if (s.thread_hops > 0)
                threads +=
                    " · " + std::to_string(s.thread_hops) + (s.thread_hops == 1 ? " hop" : " hops");
            lines.push_back(threads);
        }
        for (std::size_t i = 0; i < s.events.size() && i < max_annotations; ++i)
            lines.push_back(std::string(s.events[i].name) + " = " + std::to_string(s.events[i].value));
        if (s.events.size() > max_annotations)
            lines.push_back("+" + std::to_string(s.events.size() - max_annotations) +
                            " more annotations");

        const char* fill = "#ffffff";
        const char* border = "#424242";
        switch (s.status) {
            case span_status::ok:
                break;
            case span_status::exception:
            case span_status::error:
                fill = "#fde0dc";
                border = "#c62828";
                break;
            case span_status::cancelled:
                fill = "#fff3d6";
                border = "#b26a00";
                break;
            case span_status::running:
                fill = "#eeeeee";
                border = "#757575";
                break;
        }
        std::string style = s.kind == span_kind::scope ? "filled" : "rounded,filled";
        if (s.partial || s.status == span_status::running) style += ",dashed";
        out_ << "    " << id(s) << " [label=\"" << label(lines) << "\", style=\"" << style
             << "\", fillcolor=\"" << fill << "\", color=\"" << border << "\"";
        if (s.status == span_status::exception || s.status == span_status::error ||
            s.status == span_status::cancelled)
            out_ << ", penwidth=1.6";
        out_ << "];\n";
    }

    // Everything hanging off one span, in the order it happened: its children
    // (how each began: an await labelled with the co_await's site, a spawn,
    // or neither, e.g. a when_all branch or a scope) and its waits on
    // anything untraced (a pool, a timer, I/O), one note per site. With
    // rankdir=LR and ordering=out, dot stacks a node's out-edges bottom-up in
    // the order they are written, so they are written last first: the
    // earliest then reads at the top.
    void out_edges(std::size_t i, const std::vector<note>& notes) {
        const span& s = t_.spans[i];
        struct item {
            std::uint64_t at;
            std::string dot;
        };
        std::vector<item> items;
        for (std::size_t c : children_[i]) {
            const span& child = t_.spans[c];
            std::string e = "    " + id(s) + " -> " + id(child);
            if (auto sp = spawned_by_.find(child.id); sp != spawned_by_.end() && sp->second == s.id)
                e += " [style=dashed, label=\"spawn\", color=\"#1565c0\", fontcolor=\"#1565c0\"]";
            else if (auto a = awaited_at_.find(child.id); a != awaited_at_.end())
                e += " [label=\"" + label({site_text(a->second->site)}) + "\"]";
            else
                e += " [color=\"#9e9e9e\"]";
            items.push_back({child.start_ns, e + ";\n"});
        }
        for (const note& n : notes)
            items.push_back({n.at, "    " + id(s) + " -> " + n.name +
                                       " [style=dotted, arrowhead=none, color=\"#bdbdbd\"];\n"});
        std::stable_sort(items.begin(), items.end(),
                         [](const item& a, const item& b) { return a.at < b.at; });
        for (auto it = items.rbegin(); it != items.rend(); ++it) out_ << it->dot;
    }

    // Spawns from a span other than the parent, joins and wakes: they point
    // across or back up the tree and must not drag the layout.
    void cross_link(const link& l) {
        auto from = index_.find(l.from), to = index_.find(l.to);
        if (from == index_.end() || to == index_.end()) return;
        if (l.kind == link_kind::spawn && t_.spans[to->second].parent_id == l.from)
            return;  // its tree edge
        const char* colour = l.kind == link_kind::spawn  ? "#1565c0"
                             : l.kind == link_kind::join ? "#6a1b9a"
                                                         : "#2e7d32";
        out_ << "    " << id(t_.spans[from->second]) << " -> " << id(t_.spans[to->second])
             << " [style=dashed, label=\"" << to_string(l.kind) << "\", color=\"" << colour
             << "\", fontcolor=\"" << colour << "\", constraint=false];\n";
    }

    // Waits on anything untraced, in one note beside the span: a line per
    // site in order of first wait; past max_wait_lines sites, one more line
    // sums up the rest.
    std::vector<note> wait_notes(const span& s) const {
        struct group {
            std::string site;
            std::size_t count = 0;
            std::uint64_t total_ns = 0;
            bool open = false;
        };
        std::vector<group> groups;
        std::map<std::string, std::size_t> by_site;
        std::uint64_t first = 0;
        for (const suspension& su : s.suspends) {
            if (su.awaited != 0 && index_.count(su.awaited)) continue;  // an edge to that child
            if (groups.empty()) first = su.start_ns;
            const std::string site = site_text(su.site);
            auto [it, fresh] = by_site.emplace(site, groups.size());
            if (fresh) groups.push_back({site});
            group& g = groups[it->second];
            ++g.count;
            if (su.end_ns != 0)
                g.total_ns += su.end_ns - su.start_ns;
            else
                g.open = true;
        }
        if (groups.empty()) return {};
        std::vector<std::string> lines;
        std::size_t rest_count = 0;
        std::uint64_t rest_ns = 0;
        for (std::size_t i = 0; i < groups.size(); ++i) {
            const group& g = groups[i];
            if (i >= max_wait_lines) {
                rest_count += g.count;
                rest_ns += g.total_ns;
                continue;
            }
            std::string text = "waited ";
            if (g.count > 1) text += std::to_string(g.count) + "× ";
            text += "at " + g.site + " (" + millis_text(g.total_ns) + (g.open ? ", still waiting" : "") +
                    ")";
            lines.push_back(text);
        }
        if (rest_count > 0)
            lines.push_back("and " + std::to_string(rest_count) + " more waits (" +
                            millis_text(rest_ns) + ")");
        return {note{first, id(s) + "_waits", lines}};
    }

    std::ostream& out_;
    const trace& t_;
    std::string prefix_;
    std::uint64_t seq_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<std::vector<std::size_t>> children_;
    // child id -> the suspension awaiting it
    std::unordered_map<std::uint64_t, const suspension*> awaited_at_;
    // child id -> the span that spawned it
    std::unordered_map<std::uint64_t, std::uint64_t> spawned_by_;
};

}  // namespace

std::string dot_sink::escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '"')
                out += "\\\"";
            else if (c == '\\')
                out += "\\\\";
            else if (c == '\n')
                out += "\\n";
            else if (c < 0x20 || c == 0x7f)
                out += ' ';
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Graphviz rejects malformed UTF-8; keep well-formed sequences only.
        const std::size_t len = (c & 0xE0) == 0xC0   ? 2
                                : (c & 0xF0) == 0xE0 ? 3
                                : (c & 0xF8) == 0xF0 ? 4
                                                     : 0;
        bool ok = len != 0 && c != 0xC0 && c != 0xC1 && c <= 0xF4 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (!ok) {
            out += '?';
            ++i;
            continue;
        }
        out.append(text, i, len);
        i += len;
    }
    return out;
}

void dot_sink::start() {
    if (started_) return;
    started_ = true;
    // Left to right: span names are long, and a parent's children stack
    // downwards in the order they began.
    out_ << "digraph cotrace {\n"
         << "  graph [rankdir=LR, ordering=out, nodesep=0.15, ranksep=0.5, "
            "fontname=\"sans-serif\"];\n"
         << "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=10, "
            "margin=\"0.12,0.05\"];\n"
         << "  edge [fontname=\"sans-serif\", fontsize=9, color=\"#424242\", "
            "fontcolor=\"#424242\"];\n";
}

void dot_sink::on_trace(const trace& t) {
    if (finished_ || t.spans.empty()) return;
    start();
    trace_graph(out_, t, ++traces_).write();
}

void dot_sink::finish(const session_summary&) {
    if (finished_) return;
    finished_ = true;
    start();
    out_ << "}\n";
    out_.flush();
}

}  // namespace cotrace
