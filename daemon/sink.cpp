#include "sink.hpp"

#include "jsonl_sink.hpp"
#include "tree_sink.hpp"

namespace cotrace {

std::unique_ptr<trace_sink> make_sink(const std::string& format, std::ostream& out, const sink_options& options) {
    if (format == "tree") return std::make_unique<tree_sink>(out, options.colour);
    if (format == "jsonl") return std::make_unique<jsonl_sink>(out);
    return nullptr;
}

const char* sink_formats() { return "tree|jsonl"; }

}  // namespace cotrace
