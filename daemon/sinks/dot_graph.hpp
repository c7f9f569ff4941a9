#pragma once
// One trace as one Graphviz digraph, small enough for `dot -Tsvg` to draw
// however many spans the trace holds.
//
// Spans are nodes (name, duration, threads, status; coloured when they
// failed or were cancelled). Edges: parent → child for each await, labelled
// with the co_await's file:line; spawn, wake and join links dashed and
// labelled by kind; waits on something untraced as a small note beside the
// span that waited, a line per site ("waited at file:line (X ms)").
//
// Two bounds keep the graph drawable, and each says what it left out:
// - siblings of one name and site under one parent (thousands of
//   socket.async_receive in a session) are one node "×N name" with their
//   total, shortest and longest duration; their children are summarised
//   the same way under it;
// - at most max_nodes nodes (wait notes and summaries included), filled
//   breadth first from the root; one more node says how many spans were not
//   drawn.

#include <cstddef>
#include <ostream>
#include <string>

#include "model/model.hpp"

namespace cotrace {

struct dot_limits {
    std::size_t max_nodes = 500;  // per graph, the node naming what was left out included
    std::size_t min_repeats = 4;  // siblings of one name and site drawn as one node from this many
};

// `t` as one complete `digraph "trace ID" { ... }`.
void write_dot_graph(std::ostream& out, const trace& t, const dot_limits& limits);

// `text` as the inside of a DOT double-quoted string: quotes and
// backslashes escaped (a backslash would otherwise start a label escape
// like \N), newlines as \n, other control characters and malformed UTF-8
// replaced, so any span name survives into the rendered graph.
std::string dot_escape(const std::string& text);

}  // namespace cotrace
