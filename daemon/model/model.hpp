#pragma once
// The neutral value model the assembler produces and every sink reads.
// It knows nothing of BPF or of output formats.
//
// Names, files and annotation names are views into the strings the
// symbol_cache interned (each resolved once per process): they stay valid as
// long as that cache lives, which is the whole session, so a trace holds no
// string of its own and assembling one allocates nothing per event.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cotrace {

// A resolved site: where a co_await, a scope or an annotation is in source.
struct source_site {
    std::string_view function;
    std::string_view file;
    std::uint32_t line = 0;
    bool known() const { return line != 0 || !file.empty() || !function.empty(); }
};

enum class span_status : std::uint8_t { ok, exception, cancelled, running, error };
enum class span_kind : std::uint8_t { coroutine, scope };
enum class link_kind { spawn, wake, join };

const char* to_string(span_status s);
const char* to_string(link_kind k);

struct suspension {
    source_site site;
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;  // 0 while still suspended (or if it ended at epoch 0)
    std::uint64_t awaited = 0;  // span id of the traced child it waited for, or 0
    std::uint32_t resumed_tid = 0;  // the thread it ran on next; 0 while suspended (or never resumed)
};

struct annotation {
    std::string_view name;
    std::int64_t value = 0;
    std::uint64_t ts_ns = 0;
};

// Times are nanoseconds since the Unix epoch. One is held per live span:
// the small fields come last, so that the record packs without holes.
struct span {
    std::uint64_t id = 0;         // unique in a session, never 0
    std::uint64_t parent_id = 0;  // 0: the trace's root (or a partial span with no known parent)
    std::string_view name;
    source_site site;  // where it was started: the awaiting co_await, sync_wait call or scope
    std::uint64_t start_ns = 0;
    std::uint64_t first_run_ns = 0;  // when it first ran (as seen); later than start_ns when queued first
    std::uint64_t end_ns = 0;  // 0 while running; `status` says whether it ended
    // The threads it ran on, in the order it ran there, consecutive repeats
    // collapsed: A->B->A is {A, B, A}.
    std::vector<std::uint32_t> tids;
    std::vector<suspension> suspends;
    std::vector<annotation> events;
    // The span id other processes know it by (it sent them a traceparent
    // naming it: <cotrace/propagation.hpp>); 0: none, it has a session id only.
    std::uint64_t remote_id = 0;
    std::uint32_t thread_hops = 0;  // resumptions on another thread than the last run: tids.size() - 1
    span_kind kind = span_kind::coroutine;
    span_status status = span_status::running;
    bool partial = false;  // its beginning, or its parent, may not have been seen (attached mid-flight)
};

struct link {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    link_kind kind = link_kind::spawn;
    std::uint64_t ts_ns = 0;  // when it happened
    std::uint32_t tid = 0;    // on which thread
};

struct thread_name {
    std::uint32_t tid = 0;
    std::string_view name;  // the thread's comm, as captured while it ran
};

// What ties a trace to a request that crosses processes
// (<cotrace/propagation.hpp>): a base of the emitted trace and of the
// assembler's trace in progress, which hands it on whole.
struct cross_process_ids {
    // The W3C trace id the trace is known by (both 0: none), and when its
    // root continues a request from another process, the remote parent
    // span's id.
    std::uint64_t w3c_trace_hi = 0, w3c_trace_lo = 0;
    std::uint64_t remote_parent = 0;
    // When that remote parent was traced in this same session: its trace's
    // and its span's session ids (the callee's root is its child), else 0.
    std::uint64_t joined_trace = 0, joined_span = 0;
    std::uint32_t joined_pid = 0;
    bool has_w3c_id() const { return (w3c_trace_hi | w3c_trace_lo) != 0; }
};

struct trace : cross_process_ids {
    std::uint64_t id = 0;
    std::uint32_t pid = 0;
    // A trace too large or too long-lived to hold whole is emitted in
    // segments, in order, all with the same id: each holds the spans that
    // finished since the previous one, plus its still-open ancestors (status
    // running) so that every segment is a tree of its own.
    std::uint32_t segment = 0;
    std::string_view process_name;          // empty when not known
    std::vector<thread_name> thread_names;  // for the threads its spans ran on, when known
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;
    std::vector<span> spans;  // in order of beginning; spans[0] is the root
    std::vector<link> links;
    bool final_segment = true;  // false: more segments of this trace follow
    bool complete = true;
};

// Totals of a session, shown at the end.
struct session_summary {
    std::uint64_t events = 0;
    std::uint64_t traces = 0;
    std::uint64_t spans = 0;
    std::uint64_t drops = 0;
    std::uint64_t incomplete = 0;
    std::uint64_t evicted_traces = 0;
    std::uint64_t unattributed = 0;  // events naming no known span
};

}  // namespace cotrace
