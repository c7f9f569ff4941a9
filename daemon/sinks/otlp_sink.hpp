#pragma once
// --format otlp: one OTLP/JSON ExportTraceServiceRequest per line, one per
// trace (segment) — the OpenTelemetry Collector's file-exporter format,
// which its otlpjsonfile receiver and most backends' importers read.

#include <ostream>
#include <string>

#include "sinks/otlp_json.hpp"
#include "sinks/sink.hpp"

namespace cotrace {

class otlp_sink : public trace_sink {
public:
    otlp_sink(std::ostream& out, otlp_options options) : out_(out), encoder_(std::move(options)) {}
    void on_trace(const trace& t) override;

private:
    std::ostream& out_;
    otlp_encoder encoder_;
    std::string line_;
};

}  // namespace cotrace
