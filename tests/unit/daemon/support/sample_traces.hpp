#pragma once
// Traces built by hand from the model (daemon/model/model.hpp), the way the
// assembler would emit them for known event streams, for the chrome, dot and
// stats sinks.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"

namespace cotrace_sinks_test {

using cotrace::link_kind;
using cotrace::span;
using cotrace::span_kind;
using cotrace::span_status;
using cotrace::suspension;
using cotrace::trace;

// Threads of the traced process.
inline constexpr std::uint32_t PID = 4242, T1 = 4243, T2 = 4244, T3 = 4245;
// A second process with a single thread.
inline constexpr std::uint32_t OTHER_PID = 777;

// Spans built here first run at their start (set first_run_ns for one queued
// first, or 0 for one never seen running).
// Times: microseconds after a Unix-epoch base, in nanoseconds.
inline constexpr std::uint64_t BASE_NS = 1'700'000'000'000'000'000ULL;
inline constexpr std::uint64_t us(std::uint64_t micros) { return BASE_NS + micros * 1000; }

inline cotrace::source_site site(const char* file, std::uint32_t line, const char* function = "f") {
    return {function, file, line};
}

// resumed_on: the thread it ran on next (0: never resumed, or a model that
// does not tell).
inline suspension wait(cotrace::source_site where, std::uint64_t start, std::uint64_t end,
                       std::uint64_t awaited = 0, std::uint32_t resumed_on = 0) {
    suspension s;
    s.site = std::move(where);
    s.start_ns = start;
    s.end_ns = end;
    s.awaited = awaited;
    s.resumed_tid = resumed_on;
    return s;
}

inline span make_span(std::uint64_t id, std::uint64_t parent, std::string_view name, std::uint64_t start,
                      std::uint64_t end, span_status status, std::vector<std::uint32_t> tids,
                      std::uint32_t hops = 0) {
    span s;
    s.id = id;
    s.parent_id = parent;
    s.name = name;  // literals: they outlive every trace
    s.start_ns = start;
    s.first_run_ns = start;
    s.end_ns = end;
    s.status = status;
    s.tids = std::move(tids);
    s.thread_hops = hops;
    return s;
}

// Span ids of request_trace().
inline constexpr std::uint64_t ROOT = 1, VALIDATE = 2, FETCH = 3, WHEN_ALL = 4, LOOKUP = 5,
                               MERGE = 6, AUDIT = 7, LESS = 8;

// handle_request(int) [T1 → T2 → T3, ok]
// ├─ validate              scope, nested in the root's first run on T1
// ├─ fetch_user(int)       awaited at pipeline.cpp:20; waits on db.cpp:7, resumes on T2
// ├─ when_all              awaited at pipeline.cpp:21; waits at when_all.hpp:79; exception
// │  ├─ lookup(int, std::vector<int>)   branch, T2 → T3, the last to finish (joins)
// │  └─ merge(int, std::string)         branch, overlaps lookup, T2 → T1, exception
// └─ audit(int)            spawned at 900 µs by the root on T3, queued, first runs on T2 at 1080
//    └─ operator<          scope inside audit
// The root also waits on net.cpp:5 (untraced) and annotates bytes = 512.
// Every suspension says where it resumed (resumed_tid) and every link when
// and where it was made, as the assembler records them.
inline trace request_trace() {
    trace t;
    t.id = 0x0000109200000001;
    t.pid = PID;
    t.complete = true;
    t.start_ns = us(0);
    t.end_ns = us(1200);

    span root = make_span(ROOT, 0, "handle_request(int)", us(0), us(1000), span_status::ok,
                          {T1, T2, T3}, 2);
    root.site = site("/src/main.cpp", 9, "main");
    root.suspends = {wait(site("/src/pipeline.cpp", 20), us(100), us(400), FETCH, T2),
                     wait(site("/src/pipeline.cpp", 21), us(450), us(800), WHEN_ALL, T3),
                     wait(site("/src/net.cpp", 5), us(850), us(900), 0, T3)};
    root.events.push_back({"bytes", 512, us(950)});

    span validate = make_span(VALIDATE, ROOT, "validate", us(20), us(60), span_status::ok, {T1});
    validate.kind = span_kind::scope;
    validate.site = site("/src/pipeline.cpp", 15, "validate");

    span fetch =
        make_span(FETCH, ROOT, "fetch_user(int)", us(100), us(400), span_status::ok, {T1, T2}, 1);
    fetch.site = site("/src/pipeline.cpp", 20);
    fetch.suspends = {wait(site("/src/db.cpp", 7), us(200), us(300), 0, T2)};

    span when_all = make_span(WHEN_ALL, ROOT, "when_all", us(450), us(800), span_status::exception,
                              {T2, T3}, 1);
    when_all.site = site("/src/pipeline.cpp", 21);
    when_all.suspends = {wait(site("/inc/cotrace/when_all.hpp", 79), us(470), us(780), 0, T3)};

    span lookup = make_span(LOOKUP, WHEN_ALL, "lookup(int, std::vector<int>)", us(480), us(760),
                            span_status::ok, {T2, T3}, 1);
    lookup.suspends = {wait(site("/src/pool.hpp", 30), us(500), us(600), 0, T3)};

    span merge = make_span(MERGE, WHEN_ALL, "merge(int, std::string)", us(505), us(700),
                           span_status::exception, {T2, T1}, 1);
    merge.suspends = {wait(site("/src/pool.hpp", 30), us(520), us(620), 0, T1)};

    span audit = make_span(AUDIT, ROOT, "audit(int)", us(900), us(1200), span_status::ok, {T2});
    audit.first_run_ns = us(1080);  // queued on the pool until then

    span less = make_span(LESS, AUDIT, "operator<", us(1100), us(1150), span_status::ok, {T2});
    less.kind = span_kind::scope;
    less.site = site("/src/audit.cpp", 3, "operator<");

    t.spans = {root, validate, fetch, when_all, lookup, merge, audit, less};
    // The join is made by lookup's final suspend, just after its end.
    t.links = {{ROOT, AUDIT, link_kind::spawn, us(900), T3},
               {LOOKUP, WHEN_ALL, link_kind::join, us(760), T3},
               {MERGE, LOOKUP, link_kind::wake, us(510), T2}};
    return t;
}

// Span ids of partial_trace().
inline constexpr std::uint64_t POLL = 20, SAY = 21;

// Attached mid-flight: poll_loop() was first seen suspending, ran once on T1
// (the assembler counts that resumption as its first run) and is still
// suspended awaiting a child that was cancelled (destroyed while suspended:
// its suspension closed at its end, never resumed). The child's name needs
// escaping everywhere.
inline trace partial_trace() {
    trace t;
    t.id = 0x0000109200000002;
    t.pid = PID;
    t.complete = false;
    t.start_ns = us(5000);
    t.end_ns = us(5300);

    span poll = make_span(POLL, 0, "poll_loop()", us(5000), 0, span_status::running, {T1});
    poll.partial = true;
    poll.first_run_ns = us(5100);
    poll.suspends = {wait(site("/src/loop.cpp", 9), us(5000), us(5100), 0, T1),
                     wait(site("/src/loop.cpp", 12), us(5200), 0, SAY)};

    span say = make_span(SAY, POLL, "say(\"hi\") \\ <now> & {x|y}", us(5200), us(5300),
                         span_status::cancelled, {T1});
    say.suspends = {wait(site("/src/say.cpp", 1), us(5250), us(5300))};

    t.spans = {poll, say};
    return t;
}

inline constexpr std::uint64_t WANDER = 30;

// A span that ran four times, between untraced waits, on two threads, one of
// them twice apart (T1, T2, T2, T1): tids and thread_hops alone could not
// tell which run was where after the first; resumed_tid does.
inline trace wandering_trace() {
    trace t;
    t.id = 0x0000109200000003;
    t.pid = PID;
    t.start_ns = us(8000);
    t.end_ns = us(8400);
    span s = make_span(WANDER, 0, "wander()", us(8000), us(8400), span_status::ok, {T1, T2}, 2);
    s.suspends = {wait(site("/src/w.cpp", 1), us(8050), us(8100), 0, T2),
                  wait(site("/src/w.cpp", 2), us(8150), us(8200), 0, T2),
                  wait(site("/src/w.cpp", 3), us(8250), us(8300), 0, T1)};
    t.spans = {s};
    return t;
}

inline constexpr std::uint64_t LONE = 40;

// Another process: one span on its main thread.
inline trace other_process_trace() {
    trace t;
    t.id = 0x0000030900000001;
    t.pid = OTHER_PID;
    t.start_ns = us(9000);
    t.end_ns = us(9010);
    t.spans = {make_span(LONE, 0, "lone()", us(9000), us(9010), span_status::ok, {OTHER_PID})};
    return t;
}

inline std::vector<trace> all_traces() {
    return {request_trace(), partial_trace(), wandering_trace(), other_process_trace()};
}

inline std::vector<std::string> all_span_names() {
    std::vector<std::string> names;
    for (const trace& t : all_traces())
        for (const span& s : t.spans) names.emplace_back(s.name);
    return names;
}

}  // namespace cotrace_sinks_test
