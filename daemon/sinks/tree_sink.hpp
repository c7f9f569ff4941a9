#pragma once
// --format tree (the default): each trace as a tree of spans, with durations,
// threads, where each span waited and its annotations. Colour only on a tty.

#include <ostream>

#include "sinks/sink.hpp"

namespace cotrace {

class tree_sink : public trace_sink {
public:
    tree_sink(std::ostream& out, bool colour) : out_(out), colour_(colour) {}
    void on_trace(const trace& t) override;

private:
    std::ostream& out_;
    bool colour_;
};

}  // namespace cotrace
