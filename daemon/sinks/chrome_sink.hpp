#pragma once
// --format chrome: Trace Event JSON, which Perfetto UI and chrome://tracing
// open. One object {"traceEvents":[...],"displayTimeUnit":"ns",...}: events
// are written as traces arrive and finish() closes it.
//
// What a trace becomes:
// - each span: an async slice ("b"/"e", cat "span", id = span id) over its
//   whole life, so overlapping spans never break nesting;
// - each run of a span (from its first run or a resumption to the next
//   suspension or its end): a complete slice ("X", cat "run") on the track of
//   the thread it ran on, which the model tells exactly (span.first_run_ns on
//   span.tids[0], then suspension.end_ns on suspension.resumed_tid); a run
//   whose thread the model does not tell (resumed_tid 0 in a model built
//   without it), or that would straddle another slice on its thread, is
//   nested under the span's async slice instead, so no thread is ever shown
//   busy with work it did not do;
// - flow arrows: a parent's suspension → the child's first run, the child's
//   end → the parent's resumption, a parent's run → a child begun in it
//   without an await, and each spawn, wake and join link from where and when
//   it was made to the target's first (spawn) or next (wake, join) run;
// - annotations: instant events; process and thread names: metadata events.
//
// Timestamps are microseconds, with nanoseconds as three decimals, counted
// from an origin one day before the first trace began (otherData names it in
// Unix-epoch ns). Absolute epoch microseconds need 51 bits, which leaves a
// double a quarter-microsecond step: readers would shift slices by up to
// 250 ns and break the nesting of adjacent runs. The day of slack keeps every
// ts positive for traces emitted after the first but begun before it
// (Perfetto drops events with a negative ts).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <utility>

#include "sinks/sink.hpp"

namespace cotrace {

class chrome_sink : public trace_sink {
public:
    explicit chrome_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

private:
    void start();
    void write(const nlohmann::ordered_json& event);
    void name_thread(std::uint32_t pid, std::uint32_t tid);

    std::ostream& out_;
    bool started_ = false;
    bool any_event_ = false;
    bool finished_ = false;
    bool has_origin_ = false;
    std::uint64_t origin_ns_ = 0;
    std::uint64_t next_flow_id_ = 1;
    std::uint64_t traces_ = 0;
    std::uint64_t runs_on_threads_ = 0;
    std::uint64_t runs_thread_unknown_ = 0;
    std::uint64_t runs_overlapping_ = 0;
    // Named once each; as many as the traced processes have threads.
    std::set<std::uint32_t> named_pids_;
    std::set<std::pair<std::uint32_t, std::uint32_t>> named_threads_;
};

}  // namespace cotrace
