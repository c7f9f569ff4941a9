#pragma once
// --format dot: Graphviz DOT of each trace's path of execution. One digraph
// for the whole session with one cluster per trace, so `dot -Tsvg` renders
// the whole output (a file of several digraphs renders only the first).
// Written as traces arrive; finish() closes the digraph. Left to right,
// because span names are long; dot stacks the clusters of such a graph
// bottom-up in the order they are written, so the latest trace is on top.
//
// Spans are nodes (name, duration, threads, status; coloured when they
// failed or were cancelled). Edges: parent → child for each await, labelled
// with the co_await's file:line; spawn, wake and join links dashed and
// labelled by kind; waits on something untraced as a small note beside the
// span that waited, a line per site ("waited at file:line (X ms)").

#include <cstdint>
#include <ostream>
#include <string>

#include "sinks/sink.hpp"

namespace cotrace {

class dot_sink : public trace_sink {
public:
    explicit dot_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

    // `text` as the inside of a DOT double-quoted string: quotes and
    // backslashes escaped (a backslash would otherwise start a label escape
    // like \N), newlines as \n, other control characters and malformed UTF-8
    // replaced, so any span name survives into the rendered graph.
    static std::string escape(const std::string& text);

private:
    void start();

    std::ostream& out_;
    bool started_ = false;
    bool finished_ = false;
    std::uint64_t traces_ = 0;  // numbers the clusters and keeps node names unique
};

}  // namespace cotrace
