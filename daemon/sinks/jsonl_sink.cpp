#include "sinks/jsonl_sink.hpp"

namespace cotrace {

namespace {

// Each writer below spells out its object's keys and punctuation in order,
// exactly as the README lists the fields: the line is built in one pass,
// nothing decided per value but the values themselves.

// "function":F,"file":F,"line":N: a site's fields, in a span's "site"
// object and flat in an in-flight record's waiting span.
std::size_t site_fields_room(const source_site& site) {
    return 32 + json_line::max_number_size + max_json_string_size(site.function) + max_json_string_size(site.file);
}
char* put_site_fields(json_line& w, char* at, const source_site& site) {
    at = json_line::put(at, "\"function\":");
    at = json_line::put_string(at, site.function);
    at = json_line::put(at, ",\"file\":");
    at = json_line::put_string(at, site.file);
    at = json_line::put(at, ",\"line\":");
    return w.put_number(at, site.line);
}

// Requests that cross processes: only for traces that have a part in one,
// so every other line stays as it was.
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

// Most bytes of a span's object outside its strings, numbers, ids, tids,
// suspensions and events: its keys and punctuation (under 200) and the
// longest status word, rounded up.
constexpr std::size_t span_fixed_room = 256;
constexpr std::size_t number_room = json_line::max_number_size, id_room = json_line::max_hex_size;

// A span in a few runs of writes through a local pointer, each bounded once:
// the span up to its suspensions, then each suspension, each annotation.
void write_span(json_line& w, const span& s) {
    char* at = w.reserve(span_fixed_room + 3 * id_room + 3 * number_room + max_json_string_size(s.name) +
                         site_fields_room(s.site) + (number_room + 1) * s.tids.size());
    at = json_line::put(at, "{\"span_id\":");
    at = json_line::put_hex(at, s.id);
    at = json_line::put(at, ",\"parent_id\":");
    at = s.parent_id ? json_line::put_hex(at, s.parent_id) : json_line::put_null(at);
    at = json_line::put(at, ",\"name\":");
    at = json_line::put_string(at, s.name);
    at = json_line::put(at, ",\"partial\":");
    at = json_line::put_boolean(at, s.partial);
    if (s.remote_id != 0) {
        at = json_line::put(at, ",\"remote_id\":");
        at = json_line::put_hex16(at, s.remote_id);
    }
    at = json_line::put(at, ",\"site\":{");
    at = put_site_fields(w, at, s.site);
    at = json_line::put(at, "},\"start_ns\":");
    at = w.put_number(at, s.start_ns);
    at = json_line::put(at, ",\"first_run_ns\":");
    at = s.first_run_ns != 0 ? w.put_number(at, s.first_run_ns) : json_line::put_null(at);
    at = json_line::put(at, ",\"end_ns\":");
    at = s.status != span_status::running ? w.put_number(at, s.end_ns) : json_line::put_null(at);
    switch (s.status) {  // the words of to_string(span_status)
        case span_status::ok: at = json_line::put(at, ",\"status\":\"ok\""); break;
        case span_status::exception: at = json_line::put(at, ",\"status\":\"exception\""); break;
        case span_status::cancelled: at = json_line::put(at, ",\"status\":\"cancelled\""); break;
        case span_status::running: at = json_line::put(at, ",\"status\":\"running\""); break;
        case span_status::error: at = json_line::put(at, ",\"status\":\"error\""); break;
        default: at = json_line::put(at, ",\"status\":\"?\""); break;
    }
    at = json_line::put(at, ",\"tids\":[");
    for (std::size_t i = 0; i < s.tids.size(); ++i) {
        if (i != 0) *at++ = ',';
        at = w.put_number(at, s.tids[i]);
    }
    at = json_line::put(at, "],\"suspends\":[");
    w.commit(at);
    // Keys and punctuation of a suspension, under 100 bytes, and its numbers.
    constexpr std::size_t suspension_room = 128 + 4 * number_room;
    for (std::size_t i = 0; i < s.suspends.size(); ++i) {
        const suspension& su = s.suspends[i];
        at = w.reserve(suspension_room + max_json_string_size(su.site.file));
        at = i != 0 ? json_line::put(at, ",{\"file\":") : json_line::put(at, "{\"file\":");
        at = json_line::put_string(at, su.site.file);
        at = json_line::put(at, ",\"line\":");
        at = w.put_number(at, su.site.line);
        at = json_line::put(at, ",\"start_ns\":");
        at = w.put_number(at, su.start_ns);
        at = json_line::put(at, ",\"end_ns\":");
        at = su.end_ns != 0 ? w.put_number(at, su.end_ns) : json_line::put_null(at);
        if (su.resumed_tid) {
            at = json_line::put(at, ",\"resumed_tid\":");
            at = w.put_number(at, su.resumed_tid);
        }
        *at++ = '}';
        w.commit(at);
    }
    w.literal("],\"events\":[");
    // Keys and punctuation of an annotation, under 50 bytes, and its numbers.
    constexpr std::size_t annotation_room = 64 + 2 * number_room;
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const annotation& a = s.events[i];
        at = w.reserve(annotation_room + max_json_string_size(a.name));
        at = i != 0 ? json_line::put(at, ",{\"name\":") : json_line::put(at, "{\"name\":");
        at = json_line::put_string(at, a.name);
        at = json_line::put(at, ",\"value\":");
        at = w.put_number(at, a.value);
        at = json_line::put(at, ",\"ts_ns\":");
        at = w.put_number(at, a.ts_ns);
        *at++ = '}';
        w.commit(at);
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
        w.commit(put_site_fields(w, w.reserve(site_fields_room(su.site)), su.site));
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
