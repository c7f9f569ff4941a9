#include "sinks/stacks_output.hpp"

#include <nlohmann/json.hpp>

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

void text_span(std::ostream& out, const stack_span& s, const std::string& prefix, bool last) {
    out << prefix << (last ? "└─ " : "├─ ") << s.name << "  " << stack_state_name(s.state);
    if (s.site) out << " at " << base_name(s.site->file) << ':' << s.site->line;
    else if (s.state == stack_state::suspended) out << " at an unknown site";
    out << '\n';
    const std::string next = prefix + (last ? "   " : "│  ");
    for (std::size_t i = 0; i < s.children.size(); ++i)
        text_span(out, s.children[i], next, i + 1 == s.children.size() && s.cut_children == 0);
    if (s.cut_children) out << next << "└─ ... " << s.cut_children << " awaited spans deeper than shown\n";
}

nlohmann::ordered_json json_span(const stack_span& s) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["state"] = stack_state_name(s.state);
    j["frame"] = hex(s.frame);
    if (s.site)
        j["site"] = {{"file", s.site->file}, {"function", s.site->function}, {"line", s.site->line}};
    else
        j["site"] = nullptr;
    j["suspended_ns"] = s.suspended_ns ? nlohmann::ordered_json(*s.suspended_ns) : nlohmann::ordered_json(nullptr);
    j["children"] = nlohmann::ordered_json::array();
    for (const stack_span& c : s.children) j["children"].push_back(json_span(c));
    j["children_cut"] = s.cut_children;
    return j;
}

}  // namespace

void write_stacks_text(std::ostream& out, const stack_snapshot& snap) {
    char scanned[64];
    std::snprintf(scanned, sizeof scanned, "%.1f MiB in %.2f s", static_cast<double>(snap.bytes_scanned) / (1 << 20),
                  snap.scan_seconds);
    out << "pid " << snap.pid << ": " << snap.requests.size() << " requests, " << snap.frames
        << " coroutine frames (scanned " << scanned << "); how long each has waited: unknown (no tracer attached)\n";
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

void write_stacks_json(std::ostream& out, const stack_snapshot& snap) {
    nlohmann::ordered_json j;
    j["pid"] = snap.pid;
    j["frames"] = snap.frames;
    j["bytes_scanned"] = snap.bytes_scanned;
    j["bytes_unreadable"] = snap.bytes_unreadable;
    j["scan_seconds"] = snap.scan_seconds;
    j["truncated"] = snap.truncated;
    j["cycles_cut"] = snap.cycles_cut;
    j["requests"] = nlohmann::ordered_json::array();
    for (const stack_request& r : snap.requests)
        j["requests"].push_back({{"spans", nlohmann::ordered_json::array({json_span(r.root)})}});
    j["other_coroutines"] = nlohmann::ordered_json::array();
    for (const stack_other& o : snap.others) j["other_coroutines"].push_back({{"name", o.name}, {"count", o.count}});
    out << j.dump() << '\n';
}

}  // namespace cotrace
