#pragma once
// The assembler: a stream of probe events in, finished traces out.
//
// It rebuilds what the application never computes (DESIGN.md §3): span ids
// from (pid, frame address, generation), parents from suspend/span_begin/
// spawn events, the span current on each thread from the order of events on
// that thread, and trace ids from the root of each await chain. It knows
// nothing of BPF (events come from any source) or of output formats (traces
// go to a trace_consumer).

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cotrace_probes.h"
#include "model/model.hpp"
#include "model/symbol_cache.hpp"
#include "model/trace_consumer.hpp"

namespace cotrace {

struct assembler_options {
    // Added to event timestamps (CLOCK_MONOTONIC) to give Unix-epoch times.
    std::int64_t clock_offset_ns = 0;
    // Bounds on memory: past them the oldest open trace is emitted early,
    // marked incomplete, and counted as evicted.
    std::size_t max_open_spans = 1'000'000;
    std::size_t max_open_traces = 100'000;
    // True when the collector was there before the process ran any traced
    // code (`run`): every thread then starts outside any span. Otherwise a
    // thread's state is unknown until it is seen leaving its spans, and a
    // span begun there with no known current span may belong to a request
    // that began before the collector attached: it is marked partial.
    bool threads_start_idle = false;
};

class assembler {
public:
    assembler(symbol_cache& symbols, trace_consumer& out, assembler_options options = {});
    ~assembler();
    assembler(const assembler&) = delete;
    assembler& operator=(const assembler&) = delete;

    void on_event(const cotrace_event& e);
    // The collector's running total of lost events: every trace open now may
    // have lost some, so each is marked incomplete.
    void on_drops(std::uint64_t total_dropped);
    // Emits every open trace, marked incomplete (end of the session).
    void flush();

    const session_summary& summary() const { return summary_; }
    std::size_t open_traces() const { return traces_.size(); }
    std::size_t open_spans() const { return open_span_count_; }

private:
    struct open_trace;
    struct process;

    process& process_of(std::uint32_t pid);
    open_trace* trace_of(std::uint64_t span_id);
    span* find_span(std::uint64_t span_id);
    std::uint64_t live_span(const process& p, std::uint64_t frame) const;
    std::uint64_t current_span(process& p, std::uint32_t tid);
    // The parent of a span begun on e.tid without an explicit one; sets
    // `uncertain` when the thread may be inside a span begun before attach.
    std::uint64_t implicit_parent(process& p, const cotrace_event& e, bool& uncertain);
    std::uint64_t begin_span(process& p, const cotrace_event& e, std::uint64_t frame,
                             std::uint64_t parent_id, span_kind kind, bool partial);
    std::uint64_t known_or_partial(process& p, const cotrace_event& e, std::uint64_t frame);
    void pop_running(process& p, std::uint32_t tid, std::uint64_t span_id);
    // span_id runs on e.tid from e.ts_ns: ends its pending suspension, counts
    // a thread hop, and makes it the thread's current span.
    void run_on(process& p, const cotrace_event& e, std::uint64_t span_id);
    void finish_span(process& p, const cotrace_event& e, std::uint64_t span_id, span_status st);
    void add_link(const cotrace_event& e, std::uint64_t from, std::uint64_t to, link_kind kind);
    void emit(std::uint64_t trace_id, bool forced);
    void enforce_bounds();
    std::uint64_t epoch(std::uint64_t ts) const;
    std::string coroutine_name(std::uint32_t pid, const cotrace_event& e, std::uint64_t frame,
                               bool code_in_event);

    symbol_cache& symbols_;
    trace_consumer& out_;
    assembler_options options_;
    session_summary summary_;
    std::uint64_t next_span_id_ = 1;
    std::uint64_t dropped_seen_ = 0;
    std::size_t open_span_count_ = 0;

    std::unordered_map<std::uint32_t, std::unique_ptr<process>> processes_;
    std::unordered_map<std::uint64_t, std::unique_ptr<open_trace>> traces_;
    std::list<std::uint64_t> trace_order_;  // open traces, oldest first
    // span id -> (trace id, index in trace.spans), for spans of open traces
    std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> span_index_;
};

}  // namespace cotrace
