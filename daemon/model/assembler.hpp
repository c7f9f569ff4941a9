#pragma once
// The assembler: a stream of probe events in, finished traces out.
//
// It rebuilds what the application never computes (DESIGN.md §3): span ids
// from (pid, frame address, generation), parents from suspend/span_begin/
// spawn events, the span current on each thread from the order of events on
// that thread, and trace ids from the root of each await chain. It knows
// nothing of BPF (events come from any source) or of output formats (traces
// go to a trace_consumer).
//
// Memory is bounded by the options, whatever the stream: everything it holds
// (spans, finished or not, their suspensions, annotations and links) counts.
// A trace that outgrows the bounds, or whose root has been open longer than
// segment_after_ns, is emitted in segments (trace.segment), each a tree of
// the spans finished since the previous one and their ancestors still held.
// In the steady state it allocates nothing per event or per span: traces,
// spans and their vectors are reused.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cotrace_probes.h"
#include "model/in_flight.hpp"
#include "model/model.hpp"
#include "model/stable_vector.hpp"
#include "model/symbol_cache.hpp"
#include "model/trace_consumer.hpp"
#include "model/u64_map.hpp"

namespace cotrace {

struct assembler_options {
    // Added to event timestamps (CLOCK_MONOTONIC) to give Unix-epoch times.
    std::int64_t clock_offset_ns = 0;
    // Bounds on memory. Past max_open_spans spans held (finished or not),
    // or 4x as many records held (spans, suspensions, annotations, links),
    // the trace that grew most, or else the oldest, emits what it can as a
    // segment; a trace holding only open spans is emitted whole, marked
    // incomplete and counted as evicted. Past max_open_traces the oldest is
    // evicted.
    std::size_t max_open_spans = 200'000;
    std::size_t max_open_traces = 100'000;
    // A trace holding more records than this emits what it finished as a
    // segment: segments (and the output lines they make) stay small.
    std::size_t max_trace_records = 8192;
    // A trace whose root is open longer than this emits what finished so far
    // as a segment (long-lived sessions show while they run); 0: never.
    std::uint64_t segment_after_ns = 1'000'000'000;
    // True when the collector was there before the process ran any traced
    // code (`run`): every thread then starts outside any span. Otherwise a
    // thread's state comes from the collector's thread-state records
    // (thread_idle, thread_in_span); in a stream without any, it is unknown
    // until the thread is seen leaving its spans, and a span begun there with
    // no known current span may belong to a request that began before the
    // collector attached: it is marked partial.
    bool threads_start_idle = false;
};

class assembler {
public:
    assembler(symbol_cache& symbols, trace_consumer& out, assembler_options options = {});
    ~assembler();
    assembler(const assembler&) = delete;
    assembler& operator=(const assembler&) = delete;

    void on_event(const cotrace_event& e);
    // The collector's running total of lost events, for the summary. Where
    // they were lost is in the stream itself: the next event of a thread
    // that lost some carries COTRACE_EVF_AFTER_LOSS, and the traces that
    // thread was running, and those it touches until it is seen idle again,
    // are marked incomplete (a span whose first event was lost begins a
    // partial trace when it is next seen).
    void on_drops(std::uint64_t total_dropped);
    // Emits every open trace, marked incomplete (end of the session).
    void flush();

    // The requests in flight now (`now_ts` on the events' clock,
    // CLOCK_MONOTONIC): each open trace with a span suspended for at least
    // min_wait_ns (0: every open trace) is copied into a snapshot and passed
    // to `visit` (which may mark it stuck), roughly oldest first. `want`,
    // when given, is asked first with the trace's id: false skips the copy
    // (a trace shown already). Reads only: what the assembler holds and will
    // emit is unchanged. Costs one pass over the spans held (and a copy of
    // each trace visited), nothing per event.
    void in_flight(std::uint64_t now_ts, std::uint64_t min_wait_ns,
                   const std::function<void(in_flight_trace&)>& visit,
                   const std::function<bool(std::uint64_t trace_id)>& want = {}) const;

    const session_summary& summary() const { return summary_; }
    std::size_t open_traces() const { return open_trace_count_; }
    std::size_t open_spans() const { return open_span_count_; }  // spans held, finished or not
    std::size_t held_records() const { return held_; }

private:
    struct held_trace;
    struct open_trace;
    struct process;
    struct thread_state;
    struct span_ref {
        std::uint32_t slot = 0;   // in slots_
        std::uint32_t index = 0;  // in its trace's spans
    };
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};

    // The last process and thread looked up are asked for again on most
    // events: those answers are inline, the lookups out of line.
    process& process_of(std::uint32_t pid) {
        return last_process_ && last_pid_ == pid ? *last_process_ : find_process(pid);
    }
    process& find_process(std::uint32_t pid);
    thread_state& thread_of(process& p, std::uint32_t tid);
    thread_state& find_thread(process& p, std::uint32_t tid);
    open_trace* trace_of(std::uint64_t span_id);
    span* find_span(std::uint64_t span_id);
    std::uint64_t live_span(const process& p, std::uint64_t frame) const;
    std::uint64_t current_span(thread_state& t);
    // The parent of a span begun on e.tid without an explicit one; sets
    // `uncertain` when the thread may be inside a span begun before attach.
    std::uint64_t implicit_parent(process& p, thread_state& t, bool& uncertain);
    std::uint64_t begin_span(process& p, const cotrace_event& e, std::uint64_t frame,
                             std::uint64_t parent_id, span_kind kind, bool partial);
    std::uint64_t begin_placeholder(process& p, const cotrace_event& e, std::uint64_t code);
    std::uint64_t begin_unseen(process& p, const cotrace_event& e, std::uint64_t frame);
    std::uint64_t known_or_partial(process& p, thread_state& t, const cotrace_event& e, std::uint64_t frame);
    void pop_running(thread_state& t, std::uint64_t span_id);
    // Events of t were lost just before this one: forget what runs on it.
    void lose_track(thread_state& t);
    void taint(std::uint64_t span_id);  // its trace may miss events
    // span_id's end was lost (its frame begins anew): its trace no longer waits for it.
    void end_unseen(std::uint64_t span_id);
    bool orphaned(std::uint64_t span_id) const;
    void emit_settled();  // the traces end_unseen left with nothing open
    void taint_frame(process& p, std::uint64_t frame);
    // span_id runs on e.tid from e.ts_ns: ends its pending suspension, counts
    // a thread hop, and makes it the thread's current span.
    void run_on(thread_state& t, const cotrace_event& e, std::uint64_t span_id);
    void finish_span(process& p, thread_state& t, const cotrace_event& e, std::uint64_t span_id,
                     span_status st);
    void add_link(const cotrace_event& e, std::uint64_t from, std::uint64_t to, link_kind kind);
    void on_collector_event(process& p, const cotrace_event& e);

    std::uint32_t new_trace(const cotrace_event& e, process& p);
    // A trace rooted on a thread inside a remote_enter scope continues that remote trace.
    void continue_remote(held_trace& t, const thread_state& th);
    // Sets t.joined_* when its remote parent is a span of this session.
    void resolve_join(held_trace& t) const;
    // The model's trace for what `ot` holds (its spans and links lent, put back by take_back).
    trace& lend(open_trace& ot);
    void take_back(open_trace& ot);
    // remote_span: the span current on this thread is known elsewhere by these ids.
    void announce_remote(thread_state& th, const cotrace_event& e);
    span& new_span(open_trace& ot);
    void emit(std::uint32_t slot, bool forced);
    // Emits what `slot` can give up as a segment; false when it holds only
    // open spans with nothing finished in them.
    bool emit_segment(std::uint32_t slot);
    void release(open_trace& ot);
    // Hands the spares past ot's spans to the free list.
    void trim_spares(open_trace& ot);
    std::uint64_t segment_due_at(std::uint64_t last_cut) const;
    void order_push_back(std::uint32_t slot);
    void order_remove(std::uint32_t slot);
    // After every event: whether a bound is passed, or the oldest trace is
    // due a segment (a few compares, inline); the work itself out of line.
    bool bounds_due(std::uint64_t now) const;
    void enforce_bounds(std::uint64_t now);
    void cut_to_bounds(std::uint64_t now);
    void note_growth(std::uint32_t slot);
    void fill_names(trace& t);
    // The process's and threads' names for t, from what p knows of them.
    static void fill_names(const process& p, trace& t);
    std::uint64_t epoch(std::uint64_t ts) const;
    std::string_view coroutine_name(std::uint32_t pid, const cotrace_event& e, std::uint64_t frame,
                                    bool code_in_event);

    symbol_cache& symbols_;
    trace_consumer& out_;
    assembler_options options_;
    session_summary summary_;
    std::uint64_t next_span_id_ = 1;
    std::uint64_t dropped_seen_ = 0;
    std::size_t open_span_count_ = 0;  // spans held
    std::size_t open_trace_count_ = 0;
    std::size_t held_ = 0;  // records held: spans, suspensions, annotations, links

    std::unordered_map<std::uint32_t, std::unique_ptr<process>> processes_;
    std::uint32_t last_pid_ = 0;
    process* last_process_ = nullptr;

    // Open traces live in slots, reused; references to them stay valid.
    stable_vector<open_trace> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::uint32_t order_head_ = no_slot, order_tail_ = no_slot;  // oldest first
    std::vector<std::uint32_t> settled_;  // slots end_unseen completed during this event
    std::uint32_t biggest_ = no_slot;  // the trace holding most records, roughly
    const open_trace* biggest_trace_ = nullptr;  // slots_[biggest_] (slots never move)
    std::uint64_t head_due_at_ = 0;  // segment_due_at(slots_[order_head_].last_cut)
    u64_map<span_ref> span_index_;             // span id -> where it is, for spans held
    u64_map<std::uint64_t> awaited_by_;        // child span id -> the span suspended awaiting it
    // Remote span id (remote_span's) -> the span of this session it names,
    // so a callee traced in this session joins its caller's span.
    struct remote_origin {
        std::uint64_t trace_hi = 0, trace_lo = 0;
        std::uint64_t trace = 0, span = 0;
        std::uint32_t pid = 0;
    };
    u64_map<remote_origin> remote_spans_;
    std::vector<span> free_spans_;             // emitted spans, their vectors kept for reuse
    std::size_t spare_spans_ = 0;              // emitted spans kept in place in their slots
    trace segment_;                            // scratch for segments
    trace emitted_;                            // scratch for a trace emitted whole
    std::vector<std::uint8_t> scratch_;        // per span, while cutting a segment
};

}  // namespace cotrace
