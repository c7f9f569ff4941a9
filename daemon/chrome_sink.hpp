#pragma once
// --format chrome (being written).

#include <ostream>

#include "sink.hpp"

namespace cotrace {

class chrome_sink : public trace_sink {
public:
    explicit chrome_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace&) override {}

private:
    std::ostream& out_;
};

}  // namespace cotrace
