#pragma once
// --format stats (being written).

#include <ostream>

#include "sink.hpp"

namespace cotrace {

class stats_sink : public trace_sink {
public:
    explicit stats_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace&) override {}

private:
    std::ostream& out_;
};

}  // namespace cotrace
