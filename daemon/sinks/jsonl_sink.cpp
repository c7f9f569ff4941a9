#include "sinks/jsonl_sink.hpp"

namespace cotrace {

namespace {

// Each writer below spells out its object's keys and punctuation in order,
// exactly as the README lists the fields: the line is built in one pass,
// nothing decided per value but the values themselves.

void write_optional_ns(json_line& w, bool known, std::uint64_t ns) {
    if (known)
        w.number(ns);
    else
        w.null();
}

// Requests that cross processes: only for traces that have a part in one,
// so every other line stays as it was.
// "function":F,"file":F,"line":N: a site, in a span's "site" object and
// flat in an in-flight record's waiting span.
void write_site_fields(json_line& w, const source_site& site) {
    w.literal("\"function\":");
    w.string(site.function);
    w.literal(",\"file\":");
    w.string(site.file);
    w.literal(",\"line\":");
    w.number(site.line);
}

void write_remote(json_line& w, const trace& t) {
    if (t.has_w3c_id()) {
        w.literal(",\"w3c_trace_id\":");
        w.hex32(t.w3c_trace_hi, t.w3c_trace_lo);
    }
    if (t.remote_parent != 0) {
        w.literal(",\"remote_parent\":");
        w.hex16(t.remote_parent);
    }
    if (t.joined_trace != 0) {  // the caller, traced in this session: the root is a child of its span
        w.literal(",\"joined\":{\"trace_id\":");
        w.hex16(t.joined_trace);
        w.literal(",\"span_id\":");
        w.hex(t.joined_span);
        w.literal(",\"pid\":");
        w.number(t.joined_pid);
        w.literal("}");
    }
}

void write_span(json_line& w, const span& s) {
    w.literal("{\"span_id\":");
    w.hex(s.id);
    w.literal(",\"parent_id\":");
    if (s.parent_id)
        w.hex(s.parent_id);
    else
        w.null();
    w.literal(",\"name\":");
    w.string(s.name);
    w.literal(",\"partial\":");
    w.boolean(s.partial);
    if (s.remote_id != 0) {
        w.literal(",\"remote_id\":");
        w.hex16(s.remote_id);
    }
    w.literal(",\"site\":{");
    write_site_fields(w, s.site);
    w.literal("},\"start_ns\":");
    w.number(s.start_ns);
    w.literal(",\"first_run_ns\":");
    write_optional_ns(w, s.first_run_ns != 0, s.first_run_ns);
    w.literal(",\"end_ns\":");
    write_optional_ns(w, s.status != span_status::running, s.end_ns);
    w.literal(",\"status\":\"");
    switch (s.status) {  // the words of to_string(span_status)
        case span_status::ok: w.literal("ok\""); break;
        case span_status::exception: w.literal("exception\""); break;
        case span_status::cancelled: w.literal("cancelled\""); break;
        case span_status::running: w.literal("running\""); break;
        case span_status::error: w.literal("error\""); break;
        default: w.literal("?\""); break;
    }
    w.literal(",\"tids\":[");
    for (std::size_t i = 0; i < s.tids.size(); ++i) {
        if (i != 0) w.literal(",");
        w.number(s.tids[i]);
    }
    w.literal("],\"suspends\":[");
    for (std::size_t i = 0; i < s.suspends.size(); ++i) {
        const suspension& su = s.suspends[i];
        if (i != 0) w.literal(",");
        w.literal("{\"file\":");
        w.string(su.site.file);
        w.literal(",\"line\":");
        w.number(su.site.line);
        w.literal(",\"start_ns\":");
        w.number(su.start_ns);
        w.literal(",\"end_ns\":");
        write_optional_ns(w, su.end_ns != 0, su.end_ns);
        if (su.resumed_tid) {
            w.literal(",\"resumed_tid\":");
            w.number(su.resumed_tid);
        }
        w.literal("}");
    }
    w.literal("],\"events\":[");
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const annotation& a = s.events[i];
        if (i != 0) w.literal(",");
        w.literal("{\"name\":");
        w.string(a.name);
        w.literal(",\"value\":");
        w.number(a.value);
        w.literal(",\"ts_ns\":");
        w.number(a.ts_ns);
        w.literal("}");
    }
    w.literal("]}");
}

void write_spans_and_links(json_line& w, const trace& t) {
    w.literal(",\"spans\":[");
    for (std::size_t i = 0; i < t.spans.size(); ++i) {
        if (i != 0) w.literal(",");
        write_span(w, t.spans[i]);
    }
    w.literal("],\"links\":[");
    for (std::size_t i = 0; i < t.links.size(); ++i) {
        const link& l = t.links[i];
        if (i != 0) w.literal(",");
        w.literal("{\"from\":");
        w.hex(l.from);
        w.literal(",\"to\":");
        w.hex(l.to);
        w.literal(",\"kind\":");
        w.string(to_string(l.kind));
        w.literal("}");
    }
    w.literal("]");
}

void write_trace(json_line& w, const trace& t) {
    w.literal("{\"type\":\"trace\",\"trace_id\":");
    w.hex16(t.id);
    w.literal(",\"pid\":");
    w.number(t.pid);
    w.literal(",\"complete\":");
    w.boolean(t.complete);
    w.literal(",\"start_ns\":");
    w.number(t.start_ns);
    w.literal(",\"end_ns\":");
    w.number(t.end_ns);
    if (t.segment != 0 || !t.final_segment) {
        w.literal(",\"segment\":");
        w.number(t.segment);
        w.literal(",\"final_segment\":");
        w.boolean(t.final_segment);
    }
    write_remote(w, t);
    write_spans_and_links(w, t);
    w.literal("}");
}

void write_in_flight(json_line& w, const in_flight_trace& f) {
    const trace& t = f.t;
    w.literal("{\"type\":\"in_flight\",\"trace_id\":");
    w.hex16(t.id);
    w.literal(",\"pid\":");
    w.number(t.pid);
    if (f.requested)
        w.literal(",\"reason\":\"requested\",\"stuck\":");
    else
        w.literal(",\"reason\":\"stuck\",\"stuck\":");
    w.boolean(f.stuck);
    w.literal(",\"complete\":");
    w.boolean(t.complete);
    w.literal(",\"start_ns\":");
    w.number(t.start_ns);
    w.literal(",\"now_ns\":");
    w.number(f.now_ns);
    w.literal(",\"age_ns\":");
    w.number(f.age_ns());
    w.literal(",\"longest_wait_ns\":");
    w.number(f.longest_wait_ns);
    w.literal(",\"segment\":");
    w.number(t.segment);
    w.literal(",\"waiting\":[");
    for (std::size_t i = 0; i < f.waiting.size(); ++i) {
        const in_flight_trace::waiting_span& ws = f.waiting[i];
        const span& s = f.span_of(ws);
        const suspension& su = s.suspends.back();
        if (i != 0) w.literal(",");
        w.literal("{\"span_id\":");
        w.hex(s.id);
        w.literal(",\"name\":");
        w.string(s.name);
        w.literal(",");
        write_site_fields(w, su.site);
        w.literal(",\"since_ns\":");
        w.number(su.start_ns);
        w.literal(",\"waited_ns\":");
        w.number(ws.waited_ns);
        w.literal(",\"awaited\":");
        if (su.awaited)
            w.hex(su.awaited);
        else
            w.null();
        w.literal("}");
    }
    w.literal("]");
    write_spans_and_links(w, t);
    w.literal("}");
}

// One JSON text, alone.
template <class Write>
std::string json_text(Write&& write) {
    json_line w;
    write(w);
    return std::string(w.text());
}

}  // namespace

void jsonl_sink::write_line() {
    line_.literal("\n");
    const std::string_view text = line_.text();
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string jsonl_sink::to_json(const trace& t) {
    return json_text([&](json_line& w) { write_trace(w, t); });
}

void jsonl_sink::on_trace(const trace& t) {
    line_.clear();
    write_trace(line_, t);
    write_line();
}

std::string jsonl_sink::to_json(const in_flight_trace& f) {
    return json_text([&](json_line& w) { write_in_flight(w, f); });
}

bool jsonl_sink::on_in_flight(const in_flight_trace& f) {
    line_.clear();
    write_in_flight(line_, f);
    write_line();
    return true;
}

void jsonl_sink::finish(const session_summary& s) {
    line_.clear();
    line_.literal("{\"type\":\"summary\",\"events\":");
    line_.number(s.events);
    line_.literal(",\"traces\":");
    line_.number(s.traces);
    line_.literal(",\"spans\":");
    line_.number(s.spans);
    line_.literal(",\"drops\":");
    line_.number(s.drops);
    line_.literal(",\"incomplete\":");
    line_.number(s.incomplete);
    line_.literal("}");
    write_line();
    out_.flush();
}

}  // namespace cotrace
