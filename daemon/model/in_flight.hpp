#pragma once
// A request still in flight, as it is at one moment: what the assembler
// holds of an open trace, copied out so that a sink can show it while the
// request goes on (a hung request is visible before it ends, or without
// it ever ending).

#include <cstdint>
#include <vector>

#include "model/model.hpp"

namespace cotrace {

struct in_flight_trace {
    // The spans held now, in order of beginning. Open spans have status
    // running and end_ns 0; a span suspended now has its last suspension
    // with end_ns 0. Spans that finished and were already emitted in a
    // segment are not there (trace.segment says how many went out).
    // start_ns is the trace's beginning, end_ns the time of the snapshot.
    trace t;
    // A span suspended now: its index in t.spans and how long it has waited.
    struct waiting_span {
        std::uint32_t index = 0;
        std::uint64_t waited_ns = 0;
    };
    std::vector<waiting_span> waiting;  // in order of beginning
    std::uint64_t now_ns = 0;           // the snapshot's time (Unix epoch)
    std::uint64_t longest_wait_ns = 0;  // the longest of `waiting`, 0 when none waits
    bool stuck = false;  // a span has waited past the session's --stuck threshold
    bool requested = false;  // shown on demand (SIGUSR1, a key), not because it became stuck

    const span& span_of(const waiting_span& w) const { return t.spans[w.index]; }
    // Since its beginning, as of the snapshot.
    std::uint64_t age_ns() const { return now_ns > t.start_ns ? now_ns - t.start_ns : 0; }
};

}  // namespace cotrace
