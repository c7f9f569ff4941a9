#pragma once
// Where finished traces go: the assembler's one output, which filters and
// sinks implement. Neither side needs to know the other.

#include "model/model.hpp"

namespace cotrace {

class trace_consumer {
public:
    virtual ~trace_consumer() = default;
    virtual void on_trace(const trace& t) = 0;
};

}  // namespace cotrace
