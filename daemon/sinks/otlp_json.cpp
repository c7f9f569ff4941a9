#include "sinks/otlp_json.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <string_view>

#include "sinks/json_writer.hpp"

namespace cotrace {

namespace {

constexpr const char* scope_version = "0.1.0";

// splitmix64's finaliser: a bijection on 64-bit words that spreads every bit.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t random_word() {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

void hex16(std::uint64_t v, std::string& out) {
    static const char digits[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0xf];
}

std::string decimal(std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::string decimal(std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// Attribute helpers: {"key":k,"value":{"stringValue":v}} and friends.
void string_attribute(json_writer& w, std::string_view key, std::string_view value) {
    w.begin_object().field("key", key).key("value").begin_object().field("stringValue", value).end_object().end_object();
}
void int_attribute(json_writer& w, std::string_view key, std::int64_t value) {
    w.begin_object().field("key", key).key("value").begin_object().field("intValue", decimal(value)).end_object().end_object();
}
void bool_attribute(json_writer& w, std::string_view key, bool value) {
    w.begin_object().field("key", key).key("value").begin_object().field("boolValue", value).end_object().end_object();
}

bool exported(const trace& t, const span& s) { return t.final_segment || s.status != span_status::running; }

// OTLP status codes: 0 unset, 1 ok, 2 error.
int status_code(span_status s) {
    switch (s) {
        case span_status::ok: return 1;
        case span_status::exception:
        case span_status::error: return 2;
        case span_status::cancelled:
        case span_status::running: return 0;
    }
    return 0;
}

}  // namespace

otlp_encoder::otlp_encoder(otlp_options options)
    : options_(std::move(options)),
      trace_salt_hi_(random_word()),
      trace_salt_lo_(random_word()),
      span_salt_(random_word()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) host_name_ = host;
}

std::string otlp_encoder::trace_id_hex(const trace& t) const {
    std::string out;
    out.reserve(32);
    if (t.has_w3c_id()) {  // known to other processes by this id (a traceparent)
        hex16(t.w3c_trace_hi, out);
        hex16(t.w3c_trace_lo, out);
        return out;
    }
    // Both halves are bijections of the session-unique id: never all zero
    // unless both mixes hit zero at once, which one extra bit rules out.
    std::uint64_t hi = mix(trace_salt_hi_ ^ t.id);
    const std::uint64_t lo = mix(trace_salt_lo_ + t.id);
    if (hi == 0 && lo == 0) hi = 1;
    hex16(hi, out);
    hex16(lo, out);
    return out;
}

std::string otlp_encoder::span_id_hex(std::uint64_t span_id) const {
    std::string out;
    out.reserve(16);
    std::uint64_t v = mix(span_salt_ ^ span_id);
    if (v == 0) v = mix(span_salt_ ^ ~span_id) | 1;  // the one input mapping to zero
    hex16(v, out);
    return out;
}

std::size_t otlp_encoder::exported_spans(const trace& t) {
    std::size_t n = 0;
    for (const span& s : t.spans) n += exported(t, s);
    return n;
}

void otlp_encoder::export_request(const std::vector<const trace*>& traces, std::string& out) const {
    out += request_prefix;
    for (std::size_t i = 0; i < traces.size(); ++i) {
        if (i) out += ',';
        resource_spans(*traces[i], out);
    }
    out += request_suffix;
}

void otlp_encoder::resource_spans(const trace& t, std::string& out) const {
    json_writer w(out);
    {
        const std::string trace_id = trace_id_hex(t);
        w.begin_object();
        w.key("resource").begin_object().key("attributes").begin_array();
        const std::string_view service = !options_.service_name.empty() ? std::string_view(options_.service_name)
                                          : !t.process_name.empty()       ? std::string_view(t.process_name)
                                                                          : std::string_view("unknown_service");
        string_attribute(w, "service.name", service);
        int_attribute(w, "process.pid", t.pid);
        if (!host_name_.empty()) string_attribute(w, "host.name", host_name_);
        w.end_array().end_object();
        w.key("scopeSpans").begin_array().begin_object();
        w.key("scope").begin_object().field("name", "cotrace").field("version", scope_version).end_object();
        w.key("spans").begin_array();
        // Spans known to other processes by the id their traceparent named
        // are exported under it, wherever they are referred to.
        std::vector<std::pair<std::uint64_t, std::uint64_t>> remote_ids;  // session id -> remote id
        for (const span& o : t.spans)
            if (o.remote_id != 0) remote_ids.emplace_back(o.id, o.remote_id);
        const auto span_hex = [&](std::uint64_t span_id) {
            for (const auto& [id, remote] : remote_ids)
                if (id == span_id) {
                    std::string hex;
                    hex16(remote, hex);
                    return hex;
                }
            return span_id_hex(span_id);
        };
        for (const span& s : t.spans) {
            if (!exported(t, s)) continue;
            w.begin_object();
            w.field("traceId", trace_id).field("spanId", span_hex(s.id));
            std::string parent;
            if (s.parent_id)
                parent = span_hex(s.parent_id);
            else if (&s == &t.spans.front() && t.remote_parent != 0)
                hex16(t.remote_parent, parent);  // the caller's span, in another process
            w.field("parentSpanId", parent);
            w.field("name", s.name.empty() ? std::string_view("?") : std::string_view(s.name));
            w.field("kind", std::uint32_t{1});  // SPAN_KIND_INTERNAL
            const std::uint64_t end = s.status == span_status::running ? std::max(t.end_ns, s.start_ns) : s.end_ns;
            w.field("startTimeUnixNano", decimal(s.start_ns)).field("endTimeUnixNano", decimal(end));

            w.key("attributes").begin_array();
            if (!s.site.function.empty()) string_attribute(w, "code.function", s.site.function);
            if (!s.site.file.empty()) string_attribute(w, "code.filepath", s.site.file);
            if (s.site.line) int_attribute(w, "code.lineno", s.site.line);
            if (!s.tids.empty()) int_attribute(w, "thread.id", s.tids.front());
            w.begin_object().field("key", "cotrace.tids").key("value").begin_object().key("arrayValue").begin_object();
            w.key("values").begin_array();
            for (std::uint32_t tid : s.tids) w.begin_object().field("intValue", decimal(std::uint64_t{tid})).end_object();
            w.end_array().end_object().end_object().end_object();
            int_attribute(w, "cotrace.thread_hops", s.thread_hops);
            string_attribute(w, "cotrace.status", to_string(s.status));
            string_attribute(w, "cotrace.kind", s.kind == span_kind::scope ? "scope" : "coroutine");
            if (s.partial) bool_attribute(w, "cotrace.partial", true);
            if (!t.complete) bool_attribute(w, "cotrace.trace_incomplete", true);
            if (t.segment != 0 || !t.final_segment) int_attribute(w, "cotrace.segment", t.segment);
            w.end_array();

            // Suspensions and annotations, in time order within each kind.
            w.key("events").begin_array();
            for (const suspension& su : s.suspends) {
                w.begin_object().field("timeUnixNano", decimal(su.start_ns)).field("name", "suspend");
                w.key("attributes").begin_array();
                if (!su.site.file.empty()) string_attribute(w, "code.filepath", su.site.file);
                if (su.site.line) int_attribute(w, "code.lineno", su.site.line);
                if (su.end_ns >= su.start_ns && su.end_ns != 0)
                    int_attribute(w, "cotrace.waited_ns", static_cast<std::int64_t>(su.end_ns - su.start_ns));
                if (su.resumed_tid) int_attribute(w, "cotrace.resumed_tid", su.resumed_tid);
                w.end_array().end_object();
            }
            for (const annotation& a : s.events) {
                w.begin_object().field("timeUnixNano", decimal(a.ts_ns)).field("name", a.name);
                w.key("attributes").begin_array();
                int_attribute(w, "cotrace.value", a.value);
                w.end_array().end_object();
            }
            w.end_array();

            // spawn/wake/join: a link on the span they lead to, naming the span they come from.
            w.key("links").begin_array();
            for (const link& l : t.links) {
                if (l.to != s.id) continue;
                w.begin_object().field("traceId", trace_id).field("spanId", span_hex(l.from));
                w.key("attributes").begin_array();
                string_attribute(w, "cotrace.link_kind", to_string(l.kind));
                w.end_array().end_object();
            }
            w.end_array();

            w.key("status").begin_object().field("code", static_cast<std::uint32_t>(status_code(s.status)));
            if (s.status == span_status::exception || s.status == span_status::error)
                w.field("message", to_string(s.status));
            w.end_object();
            w.end_object();
        }
        w.end_array().end_object().end_array();
        w.end_object();
    }
}

}  // namespace cotrace
