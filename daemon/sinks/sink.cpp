#include "sinks/sink.hpp"

#include "sinks/chrome_sink.hpp"
#include "sinks/dot_sink.hpp"
#include "sinks/jsonl_sink.hpp"
#include "sinks/otlp_sink.hpp"
#include "sinks/stats_sink.hpp"
#include "sinks/tree_sink.hpp"

namespace cotrace {

std::unique_ptr<trace_sink> make_sink(const std::string& format, std::ostream& out, const sink_options& options) {
    if (format == "tree") return std::make_unique<tree_sink>(out, options.colour, options.width);
    if (format == "jsonl") return std::make_unique<jsonl_sink>(out);
    if (format == "chrome") return std::make_unique<chrome_sink>(out);
    if (format == "dot") return std::make_unique<dot_sink>(out);
    if (format == "stats") return std::make_unique<stats_sink>(out);
    if (format == "otlp") return std::make_unique<otlp_sink>(out, otlp_options{options.service_name});
    return nullptr;
}

const std::vector<std::string>& sink_format_names() {
    static const std::vector<std::string> names{"tree", "jsonl", "chrome", "dot", "stats", "otlp"};
    return names;
}

std::string sink_formats() {
    std::string out;
    for (const auto& n : sink_format_names()) out += (out.empty() ? "" : "|") + n;
    return out;
}

}  // namespace cotrace
