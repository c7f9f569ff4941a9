#pragma once
// --format chrome: Trace Event JSON, which Perfetto UI (ui.perfetto.dev) and
// Chrome DevTools' performance panel open, and speedscope imports. One object
// {"traceEvents":[...],"displayTimeUnit":"ns",...}: events are written as
// traces arrive and finish() closes it.
//
// What a trace becomes:
// - each request (trace) on "requests" tracks: every span a complete slice
//   ("X", cat "span") over its whole life, nested under its parent, with its
//   details in args (ids, status, site, exact nanoseconds). Concurrent
//   siblings (when_all branches, spawned work) that cannot nest on one track
//   go on the next track; a request's tracks are reused by later requests
//   that do not overlap it, so the number of tracks follows concurrency, not
//   the session's length. They are threads of the traced process with ids
//   from request_track_tid_base up, above any real thread id (Linux caps
//   tids at 2^22);
// - each run of a span (from its first run or a resumption to the next
//   suspension or its end): a complete slice ("X", cat "run") on the track of
//   the thread it ran on, which the model tells exactly (span.first_run_ns on
//   span.tids[0], then suspension.end_ns on suspension.resumed_tid). Its args
//   are the same for every run of a coroutine, so viewers that aggregate by
//   name and args (speedscope) add them up. A run whose thread the model
//   does not tell, or that would straddle another slice on its thread, is an
//   async slice ("b"/"e", id = span id) instead, so no thread is ever shown
//   busy with work it did not do. A run shorter than half a microsecond at
//   the start of a longer slice on its thread is left out (it would be a
//   zero-length slice there, which speedscope cannot place);
// - flow arrows between runs: a parent's suspension → the child's first run,
//   the child's end → the parent's resumption, a parent's run → a child begun
//   in it without an await, every resumption on another thread than the run
//   before it ("resume"), and each spawn, wake and join link from where it
//   was made to the target's first (spawn) or next (wake, join) run;
// - annotations: instant events on the thread (or request track) they
//   happened on; process and thread names: metadata events, the target's own
//   names when the trace carries them ("process N"/"thread N" otherwise).
//
// Timestamps are whole microseconds: every ts and every end (ts + dur) is a
// model time in nanoseconds rounded to the nearest microsecond, and dur is
// the difference of the rounded ends. Rounding keeps order, so a child never
// starts before its parent and runs that touch in the model touch in the
// output, also in a viewer's floating-point arithmetic (integers are exact in
// a double). Nanoseconds survive in the request slices' args. They count
// from an origin one day before the first trace began, on a microsecond
// (otherData names it in Unix-epoch ns): the day of slack keeps every ts
// positive for traces emitted after the first but begun before it (Perfetto
// drops events with a negative ts).
//
// A flow event is bound to a slice by having its ts, thread and category
// (DevTools binds exactly so): "s" at the start of the run it leaves, "f"
// at the start of the run it enters; an arrow between runs that start in
// the same microsecond is left out (DevTools would drop it, and nothing
// could be seen of it). Events of a trace are written in time
// order, with an "f" before the run it enters and an "s" after the run it
// leaves (Perfetto binds "f" to the next slice begun on its thread and "s"
// to the slice open there).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "sinks/sink.hpp"

namespace cotrace {

class chrome_sink : public trace_sink {
public:
    static constexpr std::uint32_t request_track_tid_base = 0x40000000;

    explicit chrome_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

private:
    void start();
    void write(const nlohmann::ordered_json& event);
    void name_process(const trace& t);
    void name_thread(std::uint32_t pid, std::uint32_t tid, const std::string& name);
    // Request tracks (by index) for `lanes` lanes of a trace over [start_us, end_us].
    std::vector<std::uint32_t> request_tracks(std::uint32_t pid, std::size_t lanes, std::uint64_t start_us,
                                              std::uint64_t end_us);

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
    std::uint64_t runs_hidden_ = 0;
    std::uint64_t flows_ = 0;
    std::uint64_t flows_left_out_ = 0;
    // Names written, per process and per thread (rewritten when a later
    // trace knows a better one); as many as the traced processes have threads.
    std::map<std::uint32_t, std::string> process_names_;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> thread_names_;
    // Per process: each request track's end (µs) so far.
    std::map<std::uint32_t, std::vector<std::uint64_t>> request_track_busy_until_;
};

}  // namespace cotrace
