#pragma once
// --format dot (being written).

#include <ostream>

#include "sink.hpp"

namespace cotrace {

class dot_sink : public trace_sink {
public:
    explicit dot_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace&) override {}

private:
    std::ostream& out_;
};

}  // namespace cotrace
