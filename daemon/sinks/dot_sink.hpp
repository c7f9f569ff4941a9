#pragma once
// --format dot: each trace as a Graphviz digraph of its path of execution
// (sinks/dot_graph.hpp draws one), written as traces arrive.
//
// Into one stream (stdout, -o FILE) the graphs follow one another, one
// `digraph` per trace: `dot -Tsvg -O FILE` renders each into a file of its
// own (FILE.svg, FILE.2.svg, ...), and --trace ID makes it a single graph.
// A session without traces is one empty graph saying so, so the output
// always renders. Into a directory (-o DIR/) each graph is a file named by
// its trace: <trace id>.dot, and <trace id>-segment<N>.dot for the later
// segments of a trace emitted in segments.

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "sinks/dot_graph.hpp"
#include "sinks/sink.hpp"

namespace cotrace {

class dot_sink : public trace_sink {
public:
    // Opens the stream one graph is written to, by its file name (see
    // file_name); throws cotrace::error when it cannot.
    using graph_opener = std::function<std::unique_ptr<std::ostream>(const std::string& file_name)>;

    // Every graph into `out`, one after another.
    explicit dot_sink(std::ostream& out, dot_limits limits = {}) : out_(&out), limits_(limits) {}
    // Each graph into a stream of its own.
    explicit dot_sink(graph_opener open, dot_limits limits = {})
        : open_(std::move(open)), limits_(limits) {}

    // Throws cotrace::error when a graph's own stream fails.
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

    // "<trace id>.dot", or "<trace id>-segment<N>.dot" for segment N > 0.
    static std::string file_name(const trace& t);

    static std::string escape(const std::string& text) { return dot_escape(text); }

private:
    std::ostream* out_ = nullptr;  // one stream for all, or
    graph_opener open_;            // a stream per graph
    dot_limits limits_;
    bool finished_ = false;
    std::uint64_t graphs_ = 0;
};

}  // namespace cotrace
