#pragma once
// --format tree (the default): each trace as a tree of spans, with durations,
// threads, where each span waited and its annotations. Colour only on a tty.
// Columns are the same for every line of a trace: names padded to the
// longest, then duration, status, threads. Names read as people write C++
// (short_name: the standard library's defaults elided); with a width, no
// line is longer: names are shortened in the middle to make room, and what
// still does not fit is cut with "…".

#include <ostream>

#include "sinks/sink.hpp"

namespace cotrace {

class tree_sink : public trace_sink {
public:
    // width: of the longest line, in columns (0: no limit).
    tree_sink(std::ostream& out, bool colour, std::size_t width = 0) : out_(out), colour_(colour), width_(width) {}
    void on_trace(const trace& t) override;
    // A header (STUCK or IN FLIGHT, how long it has been open, each
    // suspended span's wait and file:line), then the tree as it is now.
    bool on_in_flight(const in_flight_trace& f) override;

private:
    std::ostream& out_;
    bool colour_;
    std::size_t width_;
};

}  // namespace cotrace
