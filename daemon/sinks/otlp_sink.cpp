#include "sinks/otlp_sink.hpp"

namespace cotrace {

void otlp_sink::on_trace(const trace& t) {
    if (otlp_encoder::exported_spans(t) == 0) return;  // a segment of running ancestors only
    line_.clear();
    encoder_.export_request({&t}, line_);
    line_ += '\n';
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

}  // namespace cotrace
