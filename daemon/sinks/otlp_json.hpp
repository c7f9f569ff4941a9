#pragma once
// Traces as OTLP/JSON, as the OpenTelemetry specification defines it for
// OTLP/HTTP and the Collector's file exporter: ExportTraceServiceRequest →
// resourceSpans → scopeSpans → spans. Ids are lowercase hex (32 digits for
// traces, 16 for spans, never all zero), times unix-nano strings, 64-bit
// integers strings, kind and status.code integers.
//
// cotrace's own ids are small and unique only within one session, so each
// encoder draws random salts and maps them through a bijective mix: ids are
// unique across sessions and machines, and a trace's segments share its id.

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace cotrace {

struct otlp_options {
    std::string service_name;  // empty: the traced process's name (else "unknown_service")
};

class otlp_encoder {
public:
    explicit otlp_encoder(otlp_options options);

    // One ExportTraceServiceRequest holding these traces, as one line of JSON
    // (no newline). Spans still running in a segment that is not the last
    // are left out: they are exported once, with the segment they end in.
    void export_request(const std::vector<const trace*>& traces, std::string& out) const;
    // One element of resourceSpans for t, appended to out: batches join
    // these into one request.
    void resource_spans(const trace& t, std::string& out) const;
    // {"resourceSpans":[ + elements joined by ',' + ]}
    static constexpr const char* request_prefix = "{\"resourceSpans\":[";
    static constexpr const char* request_suffix = "]}";
    // How many spans export_request writes for t.
    static std::size_t exported_spans(const trace& t);

    std::string trace_id_hex(const trace& t) const;
    std::string span_id_hex(std::uint64_t span_id) const;

private:
    otlp_options options_;
    std::string host_name_;
    std::uint64_t trace_salt_hi_, trace_salt_lo_, span_salt_;
};

}  // namespace cotrace
