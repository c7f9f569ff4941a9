#pragma once
// The trace examples/pipeline.cpp builds for request id i, and checks of
// cotrace's JSON traces against it.
//
// From pipeline.cpp (default --fail-every 7), spans in order of beginning:
//
//   handle_request(services&, int)            root; begun by sync_wait on a client thread
//   ├─ parse(int)                              awaited inline
//   │  └─ validate                             COTRACE_SCOPE
//   ├─ when_all                                awaited; one suspend inside when_all.hpp
//   │  ├─ lookup_user(services&, int)          begun by when_all on the client thread,
//   │  ├─ lookup_stock(services&, int)         each hops to the pool (2 suspends each);
//   │  └─ lookup_price(services&, int)         the last to finish joins when_all
//   ├─ merge(int, std::string, int, double)    ┐ when i % 7 != 6
//   ├─ render(services&, quote)                ┘ event bytes = size of the page
//   ├─ render_error(services&, int)            when i % 7 == 6: lookup_stock and
//   │                                            when_all end with "exception"
//   ├─ record_metrics                          scope on the legacy thread; event request = i
//   └─ audit(int)                              spawned (link spawn root → audit)
//      └─ write_audit_record                   scope; event request = i
//
// Every co_await of a span is one suspend, at the file and line of that
// co_await (the line its `co_await` keyword is on, DESIGN.md section 3). The
// lines are found by scanning the sources (paths from CMake) for the co_await
// keywords in each coroutine, so the tests hard-code no line numbers. A
// span's "site" is where it was started: the co_await that awaited it, the
// sync_wait call of the root, the COTRACE_SCOPE line of a scope.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "cotrace_output.hpp"

namespace e2e {

// Lines of interest in examples/pipeline.cpp and include/cotrace/when_all.hpp.
struct pipeline_source {
    std::string pipeline_file;  // path suffix the suspends' "file" must end with
    std::string when_all_file;

    int sync_wait = 0;  // cotrace::sync_wait(handle_request(...)): the root's site
    // handle_request's co_awaits
    int await_parse = 0, await_when_all = 0, await_merge = 0, await_render = 0, await_render_error = 0,
        await_legacy = 0;
    // the co_awaits inside each coroutine, in source order
    std::vector<int> lookup_user, lookup_stock, lookup_price, render, render_error, parse, merge, audit;
    int when_all_inner = 0;  // when_all.hpp: co_await detail::when_all_awaiter (variadic overload)
    int scope_validate = 0, scope_record_metrics = 0, scope_write_audit_record = 0;

    static const pipeline_source& get();  // scanned once; throws if a text is missing
};

inline constexpr int fail_every = 7;  // pipeline's default --fail-every
inline bool request_fails(int id) { return id % fail_every == fail_every - 1; }

// The value of render's "bytes" event for request id: the size of the page
// "user<id>: <id*10> at <std::to_string(9.5 + id)>".
long long expected_page_bytes(int id);

// The request id of a trace: the value of a "request" event (record_metrics
// or write_audit_record), if it has one.
std::optional<int> request_id_of(const json& trace);

// A complete trace, checked exactly against the shape above for its request
// id. `pid`: the traced process (0: not checked). Returns the differences
// (empty: exact).
std::vector<std::string> check_complete_trace(const json& trace, pid_t pid = 0);

// A trace marked complete=false (attached mid-flight, or flushed while in
// flight). Checks that it has a reason to be incomplete (a partial span, or
// a span still running) and that nothing in it is misplaced: every parent_id
// is null or names an earlier span of the same trace, every parent/child
// pair of known names is a pair the pipeline makes, and every request id in
// it is the same. Returns the problems (empty: fine).
std::vector<std::string> check_incomplete_trace(const json& trace, pid_t pid = 0);

// Either of the above, by the trace's "complete" flag.
std::vector<std::string> check_trace(const json& trace, pid_t pid = 0);

// A compact rendering of a trace for failure messages.
std::string render_trace(const json& trace);

// Checks every trace of an output; returns one message per bad trace (at most
// `limit`, then a count of the rest).
std::vector<std::string> check_traces(const std::vector<json>& traces, pid_t pid = 0, std::size_t limit = 3);

}  // namespace e2e
