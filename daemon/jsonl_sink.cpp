#include "jsonl_sink.hpp"

#include <cstdio>

namespace cotrace {

namespace {

using json = nlohmann::ordered_json;

std::string hex16(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string hex(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
}

json site_json(const source_site& s) {
    return json{{"function", s.function}, {"file", s.file}, {"line", s.line}};
}

json optional_ns(std::uint64_t ns) { return ns == 0 ? json(nullptr) : json(ns); }

}  // namespace

json jsonl_sink::to_json(const trace& t) {
    json spans = json::array();
    for (const span& s : t.spans) {
        json suspends = json::array();
        for (const suspension& su : s.suspends)
            suspends.push_back(json{{"file", su.site.file},
                                    {"line", su.site.line},
                                    {"start_ns", su.start_ns},
                                    {"end_ns", optional_ns(su.end_ns)}});
        json events = json::array();
        for (const annotation& a : s.events)
            events.push_back(json{{"name", a.name}, {"value", a.value}, {"ts_ns", a.ts_ns}});
        spans.push_back(json{{"span_id", hex(s.id)},
                             {"parent_id", s.parent_id ? json(hex(s.parent_id)) : json(nullptr)},
                             {"name", s.name},
                             {"partial", s.partial},
                             {"site", site_json(s.site)},
                             {"start_ns", s.start_ns},
                             {"end_ns", optional_ns(s.end_ns)},
                             {"status", to_string(s.status)},
                             {"tids", s.tids},
                             {"suspends", std::move(suspends)},
                             {"events", std::move(events)}});
    }
    json links = json::array();
    for (const link& l : t.links)
        links.push_back(json{{"from", hex(l.from)}, {"to", hex(l.to)}, {"kind", to_string(l.kind)}});
    return json{{"type", "trace"},     {"trace_id", hex16(t.id)},  {"pid", t.pid},
                {"complete", t.complete}, {"start_ns", t.start_ns}, {"end_ns", t.end_ns},
                {"spans", std::move(spans)}, {"links", std::move(links)}};
}

void jsonl_sink::on_trace(const trace& t) {
    out_ << to_json(t).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    out_.flush();
}

void jsonl_sink::finish(const session_summary& s) {
    out_ << json{{"type", "summary"},  {"events", s.events}, {"traces", s.traces},
                 {"spans", s.spans},   {"drops", s.drops},   {"incomplete", s.incomplete}}
                .dump()
         << '\n';
    out_.flush();
}

}  // namespace cotrace
