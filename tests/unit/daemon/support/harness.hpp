#pragma once
// An assembler wired to the fakes, with a small vocabulary of threads,
// frames, resume functions, sites and strings that the fake symbol source
// knows, and checks every assembled trace must pass.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "model/assembler.hpp"
#include "events.hpp"
#include "fakes.hpp"
#include "model/model.hpp"
#include "model/symbol_cache.hpp"

namespace cotrace_test {

// Threads of the traced process.
inline constexpr std::uint32_t T1 = 11, T2 = 12, T3 = 13;

// Coroutine frames (span addresses in the target).
inline constexpr std::uint64_t ROOT = 0x7f0000001000, CHILD = 0x7f0000002000, GRANDCHILD = 0x7f0000003000,
                               ROOT_B = 0x7f0000011000, CHILD_B = 0x7f0000012000,
                               WHEN_ALL = 0x7f0000004000, BRANCH_1 = 0x7f0000005000,
                               BRANCH_2 = 0x7f0000006000, BACKGROUND = 0x7f0000007000,
                               CALLBACK = 0x7f0000008000, OTHER = 0x7f0000009000;
// Synchronous scopes (addresses of scope guards on a thread's stack).
inline constexpr std::uint64_t SCOPE = 0x7ffd00000100, INNER_SCOPE = 0x7ffd00000080;
// A context token.
inline constexpr std::uint64_t TOKEN = 77;

// Resume functions (the first word of each frame) and their names.
inline constexpr std::uint64_t CODE_ROOT = 0x401000, CODE_CHILD = 0x402000, CODE_GRANDCHILD = 0x403000,
                               CODE_WHEN_ALL = 0x404000, CODE_BRANCH_1 = 0x405000,
                               CODE_BRANCH_2 = 0x406000, CODE_BACKGROUND = 0x407000,
                               CODE_CALLBACK = 0x408000, CODE_OTHER = 0x409000;

// Sites: struct cotrace_site addresses in the target's static data.
inline constexpr std::uint64_t MAIN_SITE = 0x500000,        // sync_wait in main
    AWAIT_CHILD_SITE = 0x500100,                            // handle_request awaits fetch_user
    AWAIT_GRANDCHILD_SITE = 0x500200,                       // fetch_user awaits query
    IO_SITE = 0x500300,                                     // query awaits the database (untraced)
    WHEN_ALL_SITE = 0x500400,                               // handle_request awaits when_all
    WHEN_ALL_INNER_SITE = 0x500500,                         // when_all awaits its branches
    PARSE_SCOPE_SITE = 0x500600,                            // COTRACE_SCOPE("parse")
    VALIDATE_SCOPE_SITE = 0x500700,                         // COTRACE_SCOPE("validate")
    ANNOTATE_SITE = 0x500800;                               // cotrace::annotate(...)

// String literals (annotation names).
inline constexpr std::uint64_t ROWS_TEXT = 0x600000, BYTES_TEXT = 0x600010;

// Most streams model `cotrace run`: the collector was there before the
// process ran traced code, so every thread starts outside any span.
inline cotrace::assembler_options traced_from_start() {
    cotrace::assembler_options options;
    options.threads_start_idle = true;
    return options;
}

class harness {
public:
    explicit harness(cotrace::assembler_options options = traced_from_start())
        : cache(&symbols), asm_(cache, out, options) {
        for (std::uint32_t pid : {test_pid, other_pid}) {
            symbols.add_function(pid, CODE_ROOT, "handle_request(int)")
                .add_function(pid, CODE_CHILD, "fetch_user(int)")
                .add_function(pid, CODE_GRANDCHILD, "query(int)")
                .add_function(pid, CODE_WHEN_ALL, "when_all")
                .add_function(pid, CODE_BRANCH_1, "lookup_stock(int)")
                .add_function(pid, CODE_BRANCH_2, "lookup_price(int)")
                .add_function(pid, CODE_BACKGROUND, "audit(int)")
                .add_function(pid, CODE_CALLBACK, "on_callback(int)")
                .add_function(pid, CODE_OTHER, "other(int)")
                .add_site(pid, MAIN_SITE, "main", "/src/main.cpp", 10)
                .add_site(pid, AWAIT_CHILD_SITE, "handle_request", "/src/pipeline.cpp", 42)
                .add_site(pid, AWAIT_GRANDCHILD_SITE, "fetch_user", "/src/pipeline.cpp", 57)
                .add_site(pid, IO_SITE, "query", "/src/db.cpp", 7)
                .add_site(pid, WHEN_ALL_SITE, "handle_request", "/src/pipeline.cpp", 117)
                .add_site(pid, WHEN_ALL_INNER_SITE, "when_all", "/inc/cotrace/when_all.hpp", 90)
                .add_site(pid, PARSE_SCOPE_SITE, "parse", "/src/pipeline.cpp", 60)
                .add_site(pid, VALIDATE_SCOPE_SITE, "validate", "/src/pipeline.cpp", 61)
                .add_site(pid, ANNOTATE_SITE, "parse", "/src/pipeline.cpp", 62)
                .add_text(pid, ROWS_TEXT, "rows")
                .add_text(pid, BYTES_TEXT, "bytes");
        }
    }

    static constexpr std::uint32_t other_pid = 5151;

    // Feeds events in order. Events without a timestamp are stamped 10 ns
    // after the latest one so far; explicit timestamps are kept as they are.
    void play(std::initializer_list<event> events) {
        for (event e : events) {
            if (e.raw.ts_ns == 0) e.raw.ts_ns = clock_ += 10;
            clock_ = std::max(clock_, e.raw.ts_ns);
            asm_.on_event(e);
        }
    }
    // The timestamp the next unstamped event gets.
    std::uint64_t next_ts() const { return clock_ + 10; }

    cotrace::assembler& assembler() { return asm_; }
    const cotrace::session_summary& summary() const { return asm_.summary(); }
    const std::vector<cotrace::trace>& traces() const { return out.traces; }

    fake_symbols symbols;
    cotrace::symbol_cache cache;
    collecting_consumer out;

private:
    cotrace::assembler asm_;
    std::uint64_t clock_ = 1000;
};

inline std::uint64_t trace_id(std::uint32_t pid, std::uint32_t n) { return (std::uint64_t{pid} << 32) | n; }

// The only span named `name` in t (fails the test when there is not exactly one).
inline const cotrace::span& span_named(const cotrace::trace& t, const std::string& name) {
    const cotrace::span* found = nullptr;
    int count = 0;
    for (const cotrace::span& s : t.spans)
        if (s.name == name) {
            found = &s;
            ++count;
        }
    EXPECT_EQ(count, 1) << "spans named " << name;
    static const cotrace::span none{};
    return found ? *found : none;
}

inline std::vector<std::string> span_names(const cotrace::trace& t) {
    std::vector<std::string> names;
    for (const cotrace::span& s : t.spans) names.emplace_back(s.name);
    return names;
}

// What every trace must satisfy, whatever the input: ids unique and non-zero,
// spans[0] a root, every parent in the trace (or 0), no negative duration.
inline ::testing::AssertionResult well_formed(const cotrace::trace& t) {
    if (t.spans.empty()) return ::testing::AssertionFailure() << "trace with no spans";
    if (t.spans[0].parent_id != 0) return ::testing::AssertionFailure() << "spans[0] has a parent";
    if (t.end_ns < t.start_ns) return ::testing::AssertionFailure() << "trace ends before it starts";
    std::set<std::uint64_t> ids;
    for (const cotrace::span& s : t.spans) {
        if (s.id == 0 || !ids.insert(s.id).second)
            return ::testing::AssertionFailure() << "span id " << s.id << " zero or repeated";
    }
    for (const cotrace::span& s : t.spans) {
        if (s.parent_id != 0 && !ids.count(s.parent_id))
            return ::testing::AssertionFailure() << s.name << ": parent " << s.parent_id << " not in the trace";
        if (s.end_ns != 0 && s.end_ns < s.start_ns)
            return ::testing::AssertionFailure()
                   << s.name << ": ends at " << s.end_ns << " before it starts at " << s.start_ns;
        // The status says whether it ended (an end at epoch 0 is an end).
        if (s.status == cotrace::span_status::running && s.end_ns != 0)
            return ::testing::AssertionFailure() << s.name << ": running with an end";
        for (const cotrace::suspension& su : s.suspends)
            if (su.end_ns != 0 && su.end_ns < su.start_ns)
                return ::testing::AssertionFailure() << s.name << ": suspension at " << su.site.file << ":"
                                                     << su.site.line << " ends at " << su.end_ns
                                                     << " before it starts at " << su.start_ns;
    }
    for (const cotrace::link& l : t.links)
        if (!ids.count(l.to)) return ::testing::AssertionFailure() << "link to a span not in the trace";
    return ::testing::AssertionSuccess();
}

}  // namespace cotrace_test
