#include "sinks/jsonl_sink.hpp"

#include <algorithm>
#include <charconv>

#include "sinks/json_writer.hpp"
#include "sinks/text_format.hpp"

namespace cotrace {

namespace {

// Span ids: hex without padding, formatted in place (no allocation per span).
struct hex {
    explicit hex(std::uint64_t v) : size(static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v, 16).ptr - buf)) {}
    operator std::string_view() const { return {buf, size}; }
    char buf[16];
    std::size_t size;
};

// Trace ids: 16 hex digits, exactly as trace_id_text writes them.
struct trace_id_chars {
    explicit trace_id_chars(std::uint64_t id) {
        static const char digits[] = "0123456789abcdef";
        for (int i = 15; i >= 0; --i, id >>= 4) buf[i] = digits[id & 0xf];
    }
    operator std::string_view() const { return {buf, sizeof buf}; }
    char buf[16];
};

void write_optional_ns(json_writer& w, std::string_view key, bool known, std::uint64_t ns) {
    w.key(key);
    if (!known)
        w.null();
    else
        w.value(ns);
}

// Requests that cross processes: only for traces that have a part in one,
// so every other line stays as it was.
void write_remote(json_writer& w, const trace& t) {
    if (t.has_w3c_id()) {
        char id[32];
        const trace_id_chars hi(t.w3c_trace_hi), lo(t.w3c_trace_lo);
        std::copy_n(hi.buf, 16, id);
        std::copy_n(lo.buf, 16, id + 16);
        w.field("w3c_trace_id", std::string_view(id, sizeof id));
    }
    if (t.remote_parent != 0) w.field("remote_parent", std::string_view(trace_id_chars(t.remote_parent)));
    if (t.joined_trace != 0)  // the caller, traced in this session: the root is a child of its span
        w.key("joined")
            .begin_object()
            .field("trace_id", std::string_view(trace_id_chars(t.joined_trace)))
            .field("span_id", std::string_view(hex(t.joined_span)))
            .field("pid", t.joined_pid)
            .end_object();
}

void write_spans_and_links(json_writer& w, const trace& t);

void write_trace(json_writer& w, const trace& t) {
    w.begin_object()
        .field("type", "trace")
        .field("trace_id", std::string_view(trace_id_chars(t.id)))
        .field("pid", t.pid)
        .field("complete", t.complete)
        .field("start_ns", t.start_ns)
        .field("end_ns", t.end_ns);
    if (t.segment != 0 || !t.final_segment) w.field("segment", t.segment).field("final_segment", t.final_segment);
    write_remote(w, t);
    write_spans_and_links(w, t);
    w.end_object();
}

void write_in_flight(json_writer& w, const in_flight_trace& f) {
    const trace& t = f.t;
    w.begin_object()
        .field("type", "in_flight")
        .field("trace_id", std::string_view(trace_id_chars(t.id)))
        .field("pid", t.pid)
        .field("reason", f.requested ? "requested" : "stuck")
        .field("stuck", f.stuck)
        .field("complete", t.complete)
        .field("start_ns", t.start_ns)
        .field("now_ns", f.now_ns)
        .field("age_ns", f.age_ns())
        .field("longest_wait_ns", f.longest_wait_ns)
        .field("segment", t.segment);
    w.key("waiting").begin_array();
    for (const in_flight_trace::waiting_span& ws : f.waiting) {
        const span& s = f.span_of(ws);
        const suspension& su = s.suspends.back();
        w.begin_object()
            .field("span_id", std::string_view(hex(s.id)))
            .field("name", s.name)
            .field("function", su.site.function)
            .field("file", su.site.file)
            .field("line", su.site.line)
            .field("since_ns", su.start_ns)
            .field("waited_ns", ws.waited_ns);
        w.key("awaited");
        if (su.awaited)
            w.value(std::string_view(hex(su.awaited)));
        else
            w.null();
        w.end_object();
    }
    w.end_array();
    write_spans_and_links(w, t);
    w.end_object();
}

void write_spans_and_links(json_writer& w, const trace& t) {
    w.key("spans").begin_array();
    for (const span& s : t.spans) {
        w.begin_object().field("span_id", std::string_view(hex(s.id)));
        w.key("parent_id");
        if (s.parent_id)
            w.value(std::string_view(hex(s.parent_id)));
        else
            w.null();
        w.field("name", s.name).field("partial", s.partial);
        if (s.remote_id != 0) w.field("remote_id", std::string_view(trace_id_chars(s.remote_id)));
        w.key("site")
            .begin_object()
            .field("function", s.site.function)
            .field("file", s.site.file)
            .field("line", s.site.line)
            .end_object();
        w.field("start_ns", s.start_ns);
        write_optional_ns(w, "first_run_ns", s.first_run_ns != 0, s.first_run_ns);
        write_optional_ns(w, "end_ns", s.status != span_status::running, s.end_ns);
        w.field("status", to_string(s.status));
        w.key("tids").begin_array();
        for (std::uint32_t tid : s.tids) w.value(tid);
        w.end_array();
        w.key("suspends").begin_array();
        for (const suspension& su : s.suspends) {
            w.begin_object().field("file", su.site.file).field("line", su.site.line).field("start_ns", su.start_ns);
            write_optional_ns(w, "end_ns", su.end_ns != 0, su.end_ns);
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
        w.begin_object()
            .field("from", std::string_view(hex(l.from)))
            .field("to", std::string_view(hex(l.to)))
            .field("kind", to_string(l.kind))
            .end_object();
    w.end_array();
}

// One JSON text, alone.
template <class Write>
std::string json_text(Write&& write) {
    std::string out;
    {
        json_writer w(out);
        write(w);
    }
    return out;
}

// One output line, written over `line` (it keeps its room from line to line).
template <class Write>
void write_line(std::string& line, std::ostream& out, Write&& write) {
    {
        json_writer w(line, 0);
        write(w);
        w.raw("\n");
    }
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

}  // namespace

std::string jsonl_sink::to_json(const trace& t) {
    return json_text([&](json_writer& w) { write_trace(w, t); });
}

void jsonl_sink::on_trace(const trace& t) {
    write_line(line_, out_, [&](json_writer& w) { write_trace(w, t); });
}

std::string jsonl_sink::to_json(const in_flight_trace& f) {
    return json_text([&](json_writer& w) { write_in_flight(w, f); });
}

bool jsonl_sink::on_in_flight(const in_flight_trace& f) {
    write_line(line_, out_, [&](json_writer& w) { write_in_flight(w, f); });
    return true;
}

void jsonl_sink::finish(const session_summary& s) {
    write_line(line_, out_, [&](json_writer& w) {
        w.begin_object()
            .field("type", "summary")
            .field("events", s.events)
            .field("traces", s.traces)
            .field("spans", s.spans)
            .field("drops", s.drops)
            .field("incomplete", s.incomplete)
            .end_object();
    });
    out_.flush();
}

}  // namespace cotrace
