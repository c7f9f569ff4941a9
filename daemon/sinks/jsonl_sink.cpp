#include "sinks/jsonl_sink.hpp"

#include <charconv>

#include "sinks/json_writer.hpp"
#include "sinks/text_format.hpp"

namespace cotrace {

namespace {

// Span ids: hex without padding (trace ids use trace_id_text, as every sink does).
std::string hex(std::uint64_t v) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    return std::string(buf, r.ptr);
}

void write_optional_ns(json_writer& w, std::string_view key, std::uint64_t ns) {
    w.key(key);
    if (ns == 0)
        w.null();
    else
        w.value(ns);
}

void write_trace(json_writer& w, const trace& t) {
    w.begin_object()
        .field("type", "trace")
        .field("trace_id", trace_id_text(t.id))
        .field("pid", t.pid)
        .field("complete", t.complete)
        .field("start_ns", t.start_ns)
        .field("end_ns", t.end_ns);
    w.key("spans").begin_array();
    for (const span& s : t.spans) {
        w.begin_object().field("span_id", hex(s.id));
        w.key("parent_id");
        if (s.parent_id)
            w.value(hex(s.parent_id));
        else
            w.null();
        w.field("name", s.name).field("partial", s.partial);
        w.key("site")
            .begin_object()
            .field("function", s.site.function)
            .field("file", s.site.file)
            .field("line", s.site.line)
            .end_object();
        w.field("start_ns", s.start_ns);
        write_optional_ns(w, "first_run_ns", s.first_run_ns);
        write_optional_ns(w, "end_ns", s.end_ns);
        w.field("status", to_string(s.status));
        w.key("tids").begin_array();
        for (std::uint32_t tid : s.tids) w.value(tid);
        w.end_array();
        w.key("suspends").begin_array();
        for (const suspension& su : s.suspends) {
            w.begin_object().field("file", su.site.file).field("line", su.site.line).field("start_ns", su.start_ns);
            write_optional_ns(w, "end_ns", su.end_ns);
            if (su.resumed_tid) w.field("resumed_tid", su.resumed_tid);
            w.end_object();
        }
        w.end_array();
        w.key("events").begin_array();
        for (const annotation& a : s.events)
            w.begin_object().field("name", a.name).field("value", a.value).field("ts_ns", a.ts_ns).end_object();
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("links").begin_array();
    for (const link& l : t.links)
        w.begin_object().field("from", hex(l.from)).field("to", hex(l.to)).field("kind", to_string(l.kind)).end_object();
    w.end_array();
    w.end_object();
}

}  // namespace

std::string jsonl_sink::to_json(const trace& t) {
    std::string out;
    json_writer w(out);
    write_trace(w, t);
    return out;
}

void jsonl_sink::on_trace(const trace& t) {
    line_.clear();
    json_writer w(line_);
    write_trace(w, t);
    line_ += '\n';
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

void jsonl_sink::finish(const session_summary& s) {
    line_.clear();
    json_writer w(line_);
    w.begin_object()
        .field("type", "summary")
        .field("events", s.events)
        .field("traces", s.traces)
        .field("spans", s.spans)
        .field("drops", s.drops)
        .field("incomplete", s.incomplete)
        .end_object();
    line_ += '\n';
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
    out_.flush();
}

}  // namespace cotrace
