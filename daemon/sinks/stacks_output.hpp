#pragma once
// `cotrace stacks` output: an await tree per request, as text or JSON.
//
// JSON (one document):
//   {"pid": N, "frames": N, "bytes_scanned": N, "bytes_unreadable": N, "bytes_skipped": N, "scan_ns": N,
//    "interval_ns": N | null, "truncated": B,
//    "requests": [{"spans": [SPAN]}],
//    "other_coroutines": [{"name": "...", "count": N}]}
//   SPAN: {"name": "...", "state": "suspended|not started|done|layout unknown",
//          "frame": "0x...", "site": {"file", "function", "line"} | null,
//          "suspended_at_least_ns": N | null, "children_cut": N, "children": [SPAN...]}
// Without a tracer when a span suspended is not known: suspended_at_least_ns
// is a lower bound, set only with two scans (interval_ns apart) that found
// the frame at the same suspend point; null otherwise.

#include <ostream>

#include "model/stack_snapshot.hpp"

namespace cotrace {

void write_stacks_text(std::ostream& out, const stack_snapshot& snapshot);
void write_stacks_json(std::ostream& out, const stack_snapshot& snapshot);

}  // namespace cotrace
