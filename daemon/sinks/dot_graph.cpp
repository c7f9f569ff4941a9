#include "sinks/dot_graph.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "sinks/text_format.hpp"

namespace cotrace {

namespace {

constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
// Sites of untraced waits listed per span; past this, one line sums up the rest.
constexpr std::size_t max_wait_lines = 6;
// Annotations shown in a span's box.
constexpr std::size_t max_annotations = 3;
// Columns of a span name in a box; longer C++ names are shortened in the middle.
constexpr std::size_t max_name_columns = 100;

// A label from lines of raw text: each escaped, joined with DOT's \n.
std::string label(const std::vector<std::string>& lines) {
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) out += (i ? "\\n" : "") + dot_escape(lines[i]);
    return out;
}

// The same, each line left-justified (DOT's \l ends a left-justified line).
std::string left_justified(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += dot_escape(l) + "\\l";
    return out;
}

// Worst first: the colour of a summary is that of its worst member.
int severity(span_status s) {
    switch (s) {
        case span_status::exception:
        case span_status::error:
            return 3;
        case span_status::cancelled:
            return 2;
        case span_status::running:
            return 1;
        case span_status::ok:
            break;
    }
    return 0;
}

struct colours {
    const char* fill;
    const char* border;
};

colours colours_of(span_status s) {
    switch (s) {
        case span_status::exception:
        case span_status::error:
            return {"#fde0dc", "#c62828"};
        case span_status::cancelled:
            return {"#fff3d6", "#b26a00"};
        case span_status::running:
            return {"#eeeeee", "#757575"};
        case span_status::ok:
            break;
    }
    return {"#ffffff", "#424242"};
}

class trace_graph {
public:
    trace_graph(std::ostream& out, const trace& t, const dot_limits& limits)
        : out_(out), t_(t), limits_(limits) {
        index_.reserve(t.spans.size());
        for (std::size_t i = 0; i < t.spans.size(); ++i) index_[t.spans[i].id] = i;
        children_.resize(t.spans.size());
        for (std::size_t i = 0; i < t.spans.size(); ++i) {
            auto p = index_.find(t.spans[i].parent_id);
            if (t.spans[i].parent_id != 0 && p != index_.end() && p->second != i)
                children_[p->second].push_back(i);
            else
                roots_.push_back(i);
        }
        for (const span& s : t.spans)
            for (const suspension& su : s.suspends)
                if (su.awaited != 0 && index_.count(su.awaited))
                    awaited_at_.emplace(su.awaited, &su);
        for (const link& l : t.links)
            if (l.kind == link_kind::spawn) spawned_by_.emplace(l.to, l.from);
        node_of_.assign(t.spans.size(), none);
        choose_nodes();
    }

    void write() {
        std::string title = "trace " + trace_id_text(t_.id) + " · pid " + std::to_string(t_.pid);
        if (!t_.process_name.empty()) title += " (" + std::string(t_.process_name) + ")";
        title += " · " + millis_text(t_.end_ns - t_.start_ns);
        if (!t_.spans.empty()) title += std::string(" · ") + to_string(t_.spans.front().status);
        if (!t_.complete) title += " (incomplete)";
        if (t_.segment != 0 || !t_.final_segment)
            title +=
                " · segment " + std::to_string(t_.segment) + (t_.final_segment ? " (last)" : "");
        // Left to right: span names are long, and a parent's children stack
        // downwards in the order they began.
        out_
            << "digraph \"trace " << trace_id_text(t_.id) << "\" {\n"
            << "  graph [rankdir=LR, ordering=out, nodesep=0.15, ranksep=0.5, "
               "fontname=\"sans-serif\", "
               "fontsize=11, labelloc=t, labeljust=l, label=\""
            << label({title}) << "\"];\n"
            << "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=10, "
               "margin=\"0.12,0.05\"];\n"
            << "  edge [fontname=\"sans-serif\", fontsize=9, color=\"#424242\", "
               "fontcolor=\"#424242\"];\n";
        // Each node's wait note is declared right after it: dot seeds the
        // order within a rank from the order nodes are declared.
        std::vector<std::vector<note>> notes(nodes_.size());
        for (std::size_t n = 0; n < nodes_.size(); ++n) {
            if (nodes_[n].summary)
                summary_node(n);
            else
                span_node(n);
            notes[n] = nodes_[n].summary ? std::vector<note>{} : wait_notes(n);
            for (const note& w : notes[n])
                out_ << "  " << w.name
                     << " [shape=plain, style=\"\", fontsize=9, fontcolor=\"#616161\", label=\""
                     << left_justified(w.lines) << "\"];\n";
        }
        for (std::size_t n = 0; n < nodes_.size(); ++n) out_edges(n, notes[n]);
        cross_links();
        if (left_out_ > 0) left_out_node();
        out_ << "}\n";
    }

private:
    // A node of the graph: one span, or siblings of one name and site.
    struct node {
        std::vector<std::size_t> members;  // indices into t_.spans, in order of beginning
        bool summary = false;
        std::vector<std::size_t> children;  // indices into nodes_
    };
    struct note {
        std::uint64_t at;  // the first wait it stands for
        std::string name;
        std::vector<std::string> lines;
    };
    using sibling_key =
        std::tuple<std::string_view, std::string_view, std::uint32_t, std::string_view>;

    static sibling_key key_of(const span& s) {
        return {s.name, s.site.file, s.site.line, s.site.function};
    }

    // Breadth first from the roots: each node's children, all its members'
    // children together, grouped by name and site. Stops adding at the node
    // budget (one node kept for the line naming what was left out).
    void choose_nodes() {
        budget_ = limits_.max_nodes > 1 ? limits_.max_nodes - 1 : 0;
        add_children(none, roots_);
        for (std::size_t n = 0; n < nodes_.size() && !full_; ++n) {
            std::vector<std::size_t> kids;
            for (std::size_t m : nodes_[n].members)
                kids.insert(kids.end(), children_[m].begin(), children_[m].end());
            std::sort(kids.begin(), kids.end());  // spans are in order of beginning
            add_children(n, kids);
        }
        std::size_t drawn = 0;
        for (const node& n : nodes_) drawn += n.members.size();
        left_out_ = t_.spans.size() - drawn;
    }

    void add_children(std::size_t parent, const std::vector<std::size_t>& kids) {
        std::vector<std::vector<std::size_t>> groups;
        std::map<sibling_key, std::size_t> by_key;
        for (std::size_t k : kids) {
            auto [it, fresh] = by_key.emplace(key_of(t_.spans[k]), groups.size());
            if (fresh) groups.emplace_back();
            groups[it->second].push_back(k);
        }
        // Each group where its first member began.
        for (const std::vector<std::size_t>& g : groups) {
            if (g.size() >= limits_.min_repeats && g.size() > 1) {
                if (!add_node(parent, g, true)) return;
                continue;
            }
            for (std::size_t k : g)
                if (!add_node(parent, {k}, false)) return;
        }
    }

    bool add_node(std::size_t parent, std::vector<std::size_t> members, bool summary) {
        const std::size_t cost =
            1 + (!summary && has_untraced_waits(t_.spans[members.front()]) ? 1 : 0);
        if (full_ || used_ + cost > budget_) {
            full_ = true;
            return false;
        }
        used_ += cost;
        const std::size_t n = nodes_.size();
        for (std::size_t m : members) node_of_[m] = n;
        nodes_.push_back({std::move(members), summary, {}});
        if (parent != none) nodes_[parent].children.push_back(n);
        return true;
    }

    bool has_untraced_waits(const span& s) const {
        for (const suspension& su : s.suspends)
            if (su.awaited == 0 || !index_.count(su.awaited)) return true;
        return false;
    }

    std::string id(std::size_t n) const {
        const node& x = nodes_[n];
        return (x.summary ? "g" : "s") + std::to_string(t_.spans[x.members.front()].id);
    }

    std::string shown_name(const span& s) const { return short_name(s.name, max_name_columns); }

    void span_node(std::size_t n) {
        const span& s = t_.spans[nodes_[n].members.front()];
        std::vector<std::string> lines;
        lines.push_back(s.partial ? shown_name(s) + " (partial)" : shown_name(s));
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
            lines.push_back(std::string(s.events[i].name) + " = " +
                            std::to_string(s.events[i].value));
        if (s.events.size() > max_annotations)
            lines.push_back("+" + std::to_string(s.events.size() - max_annotations) +
                            " more annotations");

        std::string style = s.kind == span_kind::scope ? "filled" : "rounded,filled";
        if (s.partial || s.status == span_status::running) style += ",dashed";
        write_box(n, lines, style, s.status);
    }

    // "×N name", the members' total, shortest and longest duration, and how
    // many ended in each status.
    void summary_node(std::size_t n) {
        const node& x = nodes_[n];
        std::uint64_t total = 0, shortest = std::numeric_limits<std::uint64_t>::max(), longest = 0;
        std::size_t ended = 0, waits = 0;
        std::uint64_t waited_ns = 0;
        std::map<int, std::pair<span_status, std::size_t>> statuses;  // by severity, mildest first
        span_status worst = span_status::ok;
        bool partial = false;
        for (std::size_t m : x.members) {
            const span& s = t_.spans[m];
            partial = partial || s.partial;
            if (s.end_ns) {
                const std::uint64_t d = s.end_ns - s.start_ns;
                total += d;
                shortest = std::min(shortest, d);
                longest = std::max(longest, d);
                ++ended;
            }
            auto& [st, count] =
                statuses
                    .try_emplace(severity(s.status) * 8 + static_cast<int>(s.status), s.status, 0)
                    .first->second;
            ++count;
            if (severity(s.status) > severity(worst)) worst = s.status;
            for (const suspension& su : s.suspends)
                if (su.awaited == 0 || !index_.count(su.awaited)) {
                    ++waits;
                    if (su.end_ns) waited_ns += su.end_ns - su.start_ns;
                }
        }
        const span& first = t_.spans[x.members.front()];
        std::vector<std::string> lines;
        lines.push_back("×" + std::to_string(x.members.size()) + " " + shown_name(first) +
                        (partial ? " (some partial)" : ""));
        if (ended > 0)
            lines.push_back("total " + millis_text(total) + " · min " + millis_text(shortest) +
                            " · max " + millis_text(longest));
        std::string st;
        for (const auto& [sev, entry] : statuses)
            st += (st.empty() ? "" : " · ") + std::to_string(entry.second) + " " +
                  to_string(entry.first);
        if (x.members.size() > ended)
            st += " (" + std::to_string(x.members.size() - ended) + " not ended)";
        lines.push_back(st);
        if (waits > 0)
            lines.push_back(std::to_string(waits) + " untraced waits (" + millis_text(waited_ns) +
                            ")");
        std::string style = first.kind == span_kind::scope ? "filled" : "rounded,filled";
        if (worst == span_status::running) style += ",dashed";
        write_box(n, lines, style, worst, true);
    }

    void write_box(std::size_t n, const std::vector<std::string>& lines, const std::string& style,
                   span_status status, bool summary = false) {
        const colours c = colours_of(status);
        out_ << "  " << id(n) << " [label=\"" << label(lines) << "\", style=\"" << style
             << "\", fillcolor=\"" << c.fill << "\", color=\"" << c.border << "\"";
        if (severity(status) >= 2) out_ << ", penwidth=1.6";
        if (summary) out_ << ", peripheries=2";
        out_ << "];\n";
    }

    // How many spans were not drawn, and the names most of them have.
    void left_out_node() {
        std::unordered_map<std::string_view, std::size_t> by_name;
        for (std::size_t i = 0; i < t_.spans.size(); ++i)
            if (node_of_[i] == none) ++by_name[t_.spans[i].name];
        std::vector<std::pair<std::size_t, std::string_view>> common;
        for (const auto& [name, count] : by_name) common.emplace_back(count, name);
        const std::size_t shown = std::min<std::size_t>(common.size(), 3);
        std::partial_sort(common.begin(), common.begin() + static_cast<std::ptrdiff_t>(shown),
                          common.end(), [](const auto& a, const auto& b) {
                              return a.first != b.first ? a.first > b.first : a.second < b.second;
                          });
        std::vector<std::string> lines{std::to_string(left_out_) +
                                       (left_out_ == 1 ? " more span" : " more spans") +
                                       " not drawn"};
        for (std::size_t i = 0; i < shown; ++i)
            lines.push_back("×" + std::to_string(common[i].first) + " " +
                            short_name(common[i].second, max_name_columns));
        if (common.size() > shown)
            lines.push_back("and " + std::to_string(common.size() - shown) + " other names");
        lines.push_back("(a graph shows at most " + std::to_string(limits_.max_nodes) +
                        " nodes; --format jsonl lists every span)");
        out_ << "  left_out [shape=note, style=filled, fillcolor=\"#fffde7\", color=\"#9e9e9e\", "
                "label=\""
             << label(lines) << "\"];\n";
    }

    // Everything hanging off one node, in the order it happened: its children
    // (how each began: an await labelled with the co_await's site, a spawn,
    // or neither, e.g. a when_all branch or a scope) and its waits on
    // anything untraced (a pool, a timer, I/O), one note per site. With
    // rankdir=LR and ordering=out, dot stacks a node's out-edges bottom-up in
    // the order they are written, so they are written last first: the
    // earliest then reads at the top.
    void out_edges(std::size_t n, const std::vector<note>& notes) {
        const node& x = nodes_[n];
        struct item {
            std::uint64_t at;
            std::string dot;
        };
        std::vector<item> items;
        for (std::size_t c : x.children) {
            const span& child = t_.spans[nodes_[c].members.front()];
            std::string e = "  " + id(n) + " -> " + id(c);
            auto sp = spawned_by_.find(child.id);
            auto from = sp == spawned_by_.end() ? index_.end() : index_.find(sp->second);
            if (from != index_.end() && node_of_[from->second] == n)
                e += " [style=dashed, label=\"spawn\", color=\"#1565c0\", fontcolor=\"#1565c0\"]";
            else if (auto a = awaited_at_.find(child.id); a != awaited_at_.end())
                e += " [label=\"" + label({site_text(a->second->site)}) + "\"]";
            else
                e += " [color=\"#9e9e9e\"]";
            items.push_back({child.start_ns, e + ";\n"});
        }
        for (const note& w : notes)
            items.push_back({w.at, "  " + id(n) + " -> " + w.name +
                                       " [style=dotted, arrowhead=none, color=\"#bdbdbd\"];\n"});
        std::stable_sort(items.begin(), items.end(),
                         [](const item& a, const item& b) { return a.at < b.at; });
        for (auto it = items.rbegin(); it != items.rend(); ++it) out_ << it->dot;
    }

    // Spawns from a span other than the parent, joins and wakes: they point
    // across or back up the tree and must not drag the layout. Links between
    // the same two nodes (members of summaries) are one edge, counted.
    void cross_links() {
        std::map<std::tuple<std::size_t, std::size_t, link_kind>, std::size_t> count;
        std::vector<std::tuple<std::size_t, std::size_t, link_kind>> order;
        for (const link& l : t_.links) {
            auto from = index_.find(l.from), to = index_.find(l.to);
            if (from == index_.end() || to == index_.end()) continue;
            if (l.kind == link_kind::spawn && t_.spans[to->second].parent_id == l.from)
                continue;  // its tree edge
            const std::size_t a = node_of_[from->second], b = node_of_[to->second];
            if (a == none || b == none) continue;  // counted among the spans not drawn
            const auto key = std::make_tuple(a, b, l.kind);
            if (count[key]++ == 0) order.push_back(key);
        }
        for (const auto& key : order) {
            const auto& [a, b, kind] = key;
            const char* colour = kind == link_kind::spawn  ? "#1565c0"
                                 : kind == link_kind::join ? "#6a1b9a"
                                                           : "#2e7d32";
            const std::size_t k = count[key];
            out_ << "  " << id(a) << " -> " << id(b) << " [style=dashed, label=\""
                 << to_string(kind) << (k > 1 ? " ×" + std::to_string(k) : std::string())
                 << "\", color=\"" << colour << "\", fontcolor=\"" << colour
                 << "\", constraint=false];\n";
        }
    }

    // Waits on anything untraced, in one note beside the span: a line per
    // site in order of first wait; past max_wait_lines sites, one more line
    // sums up the rest.
    std::vector<note> wait_notes(std::size_t n) const {
        const span& s = t_.spans[nodes_[n].members.front()];
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
            text += "at " + g.site + " (" + millis_text(g.total_ns) +
                    (g.open ? ", still waiting" : "") + ")";
            lines.push_back(text);
        }
        if (rest_count > 0)
            lines.push_back("and " + std::to_string(rest_count) + " more waits (" +
                            millis_text(rest_ns) + ")");
        return {note{first, id(n) + "_waits", lines}};
    }

    std::ostream& out_;
    const trace& t_;
    dot_limits limits_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<std::vector<std::size_t>> children_;
    std::vector<std::size_t> roots_;  // spans whose parent is not in the trace
    // child id -> the suspension awaiting it
    std::unordered_map<std::uint64_t, const suspension*> awaited_at_;
    // child id -> the span that spawned it
    std::unordered_map<std::uint64_t, std::uint64_t> spawned_by_;

    std::vector<node> nodes_;
    std::vector<std::size_t> node_of_;  // per span: its node, or none when not drawn
    std::size_t budget_ = 0, used_ = 0, left_out_ = 0;
    bool full_ = false;
};

}  // namespace

void write_dot_graph(std::ostream& out, const trace& t, const dot_limits& limits) {
    trace_graph(out, t, limits).write();
}

std::string dot_escape(const std::string& text) {
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

}  // namespace cotrace
