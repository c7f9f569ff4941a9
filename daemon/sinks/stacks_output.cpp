#include "sinks/stacks_output.hpp"

#include "sinks/json_writer.hpp"

#include <cstdio>
#include <string>

namespace cotrace {

namespace {

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "3 s", "250 ms": an interval as given.
std::string interval_text(std::uint64_t ns) {
    char buf[32];
    if (ns >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.4g s", static_cast<double>(ns) / 1e9);
    else
        std::snprintf(buf, sizeof buf, "%.4g ms", static_cast<double>(ns) / 1e6);
    return buf;
}

void text_span(std::ostream& out, const stack_span& s, const std::string& prefix, bool last) {
    out << prefix << (last ? "└─ " : "├─ ") << s.name << "  " << stack_state_name(s.state);
    if (s.site) out << " at " << base_name(s.site->file) << ':' << s.site->line;
    else if (s.state == stack_state::suspended) out << " at an unknown site";
    if (s.suspended_at_least_ns) out << "  waiting >= " << interval_text(*s.suspended_at_least_ns);
    out << '\n';
    const std::string next = prefix + (last ? "   " : "│  ");
    for (std::size_t i = 0; i < s.children.size(); ++i)
        text_span(out, s.children[i], next, i + 1 == s.children.size() && s.cut_children == 0);
    if (s.cut_children) out << next << "└─ ... " << s.cut_children << " awaited spans deeper than shown\n";
}

// Each span is written by a writer of its own and its children appended as
// text: json_writer tracks commas for 64 levels, and a tree may be deeper.
std::string json_span(const stack_span& s) {
    std::string children = "[";
    for (std::size_t i = 0; i < s.children.size(); ++i) {
        if (i) children += ',';
        children += json_span(s.children[i]);
    }
    children += ']';
    std::string out;
    {
        json_writer w(out);
        w.begin_object();
        w.field("name", s.name).field("state", stack_state_name(s.state)).field("frame", hex(s.frame));
        w.key("site");
        if (s.site) {
            w.begin_object().field("file", s.site->file).field("function", s.site->function).field("line", s.site->line);
            w.end_object();
        } else {
            w.null();
        }
        w.key("suspended_at_least_ns");
        if (s.suspended_at_least_ns)
            w.value(*s.suspended_at_least_ns);
        else
            w.null();
        w.field("children_cut", s.cut_children);
        w.key("children").raw(children).end_object();
    }
    return out;
}

}  // namespace

void write_stacks_text(std::ostream& out, const stack_snapshot& snap) {
    char scanned[64];
    std::snprintf(scanned, sizeof scanned, "%.1f MiB in %.2f s", static_cast<double>(snap.bytes_scanned) / (1 << 20),
                  static_cast<double>(snap.scan_ns) / 1e9);
    out << "pid " << snap.pid << ": " << snap.requests.size() << " requests, " << snap.frames
        << " coroutine frames (scanned " << scanned << "); ";
    if (snap.interval_ns)
        out << "\"waiting >= " << interval_text(*snap.interval_ns) << "\": at the same co_await in two scans "
            << interval_text(*snap.interval_ns) << " apart; how long the others waited: unknown\n";
    else
        out << "how long each has waited: unknown (no tracer attached; --interval gives a lower bound)\n";
    if (snap.bytes_skipped)
        out << "(" << snap.bytes_skipped / (1 << 20) << " MiB of sparse reservations over 64 GiB not scanned)\n";
    if (snap.truncated) out << "(stopped at the frame limit: more frames exist than are shown)\n";
    if (snap.cycles_cut) out << "(" << snap.cycles_cut << " awaiter links closing a loop were cut)\n";
    std::size_t n = 0;
    for (const stack_request& r : snap.requests) {
        out << "request " << ++n << '\n';
        text_span(out, r.root, "", true);
    }
    if (!snap.others.empty()) {
        out << "other coroutines (layout unknown):\n";
        for (const stack_other& o : snap.others) out << "  " << o.name << "  x" << o.count << '\n';
    }
}

// Written a request at a time: a snapshot of 100k requests never exists
// whole as text.
void write_stacks_json(std::ostream& out, const stack_snapshot& snap) {
    std::string buf;
    {
        json_writer w(buf);
        w.begin_object();
        w.field("pid", snap.pid).field("frames", snap.frames).field("bytes_scanned", snap.bytes_scanned);
        w.field("bytes_unreadable", snap.bytes_unreadable).field("bytes_skipped", snap.bytes_skipped);
        w.field("scan_ns", snap.scan_ns);
        w.key("interval_ns");
        if (snap.interval_ns)
            w.value(*snap.interval_ns);
        else
            w.null();
        w.field("truncated", snap.truncated).field("cycles_cut", snap.cycles_cut);
        w.key("requests");
    }
    out << buf << '[';
    bool first = true;
    for (const stack_request& r : snap.requests) {
        out << (first ? "" : ",") << "{\"spans\":[" << json_span(r.root) << "]}";
        first = false;
    }
    buf.clear();
    {
        json_writer w(buf);
        w.begin_array();
        for (const stack_other& o : snap.others) w.begin_object().field("name", o.name).field("count", o.count).end_object();
        w.end_array();
    }
    out << "],\"other_coroutines\":" << buf << "}\n";
}

}  // namespace cotrace
