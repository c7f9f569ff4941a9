// An independent oracle: bpftrace counts the same probe firings cotrace
// turns into traces, over exactly the same window, and the counts must agree.
//
// The window. Both tracers must see the same firings, so neither may miss
// the start or the end:
//   - the pipeline is stopped (SIGSTOP, every thread) before either tracer
//     attaches, so nothing fires while one is attached and the other not;
//   - bpftrace's BEGIN runs only after all its probes are attached, so its
//     "oracle ready" line means attached; cotrace's -v "attached N probe
//     links" line is printed after every link is made;
//   - then SIGCONT: from here both see every firing;
//   - the end is SIGKILL of the pipeline: after it nothing fires, and both
//     tracers notice the exit by themselves, drain and report.
// Requests in flight at the SIGSTOP make partial spans in cotrace; the
// invariants below hold regardless, because each counts things cotrace
// creates from one firing seen in the window, whatever came before it.
//
// The invariants (protocol in probes/cotrace_probes.h):
//   1. every firing is one event: bpftrace's total == cotrace's "events"
//      (with 0 drops);
//   2. a span that is not partial is begun by exactly one firing, of one of
//      four kinds, and each such firing begins one:
//        scope_begin                  -> validate, record_metrics, write_audit_record
//        span_begin                   -> handle_request (sync_wait), lookup_* (when_all branches)
//        suspend with awaited != 0    -> parse, when_all, merge, render, render_error (lazy
//                                        tasks begin when first awaited)
//        link with kind spawn (1)     -> audit
//      so each count equals the number of non-partial spans of those
//      names, and their sum equals the number of non-partial spans;
//   3. an `event` firing yields at most one reported event (none when no
//      span is current on that thread, e.g. a scope begun before the window),
//      and an `end` firing ends at most one span.

#include <signal.h>

#include <map>
#include <regex>
#include <set>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Oracle : public test {};

std::map<std::string, std::uint64_t> bpftrace_counts(const std::vector<std::string>& lines) {
    static const std::regex re(R"(^@(\w+): (\d+)$)");
    std::map<std::string, std::uint64_t> out;
    std::smatch m;
    for (const std::string& l : lines)
        if (std::regex_match(l, m, re)) out[m[1]] = std::stoull(m[2]);
    return out;
}

TEST_F(Oracle, BpftraceCountsTheSameProbeFiringsAsCotraceReports) {
    auto pipeline = start_pipeline({"--forever", "-q", "--clients", "2", "--interval-ms", "1"});
    const pid_t pid = pipeline->pid();
    const target_semaphores semaphores(pid);
    pipeline->signal(SIGSTOP);
    ASSERT_TRUE(pipeline->wait_stopped()) << pipeline->describe();

    const std::string usdt = std::string("usdt:") + paths::pipeline + ":cotrace:";
    const std::string program =
        "BEGIN { printf(\"oracle ready\\n\"); }\n" +
        usdt + "* { @firings = count(); }\n" +
        usdt + "scope_begin { @scope_begin = count(); }\n" +
        usdt + "span_begin { @span_begin = count(); }\n" +
        usdt + "suspend /arg2 != 0/ { @suspend_awaiting = count(); }\n" +
        usdt + "link /arg2 == 1/ { @spawn = count(); }\n" +
        usdt + "event { @event = count(); }\n" +
        usdt + "end { @end = count(); }\n";
    auto oracle = process::spawn({paths::bpftrace, "-p", std::to_string(pid), "-e", program});
    ASSERT_TRUE(oracle->out().wait_for([](const std::string& l) { return l == "oracle ready"; }))
        << "bpftrace did not attach: " << oracle->describe();

    auto cotrace = start_attach(pid);
    EXPECT_TRUE(semaphores.all_nonzero()) << semaphores.describe();

    pipeline->signal(SIGCONT);
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 20)) << cotrace->describe();
    pipeline->signal(SIGKILL);
    ASSERT_TRUE(pipeline->wait().has_value());

    const auto cst = cotrace->wait();
    ASSERT_TRUE(cst.has_value()) << "cotrace did not exit with its target: " << cotrace->describe();
    EXPECT_TRUE(cst->exited && cst->code == 0) << cotrace->describe();
    const auto ost = oracle->wait();
    ASSERT_TRUE(ost.has_value()) << "bpftrace did not exit with its target: " << oracle->describe();
    oracle->out().wait_closed();

    const session_output out = collect_output(*cotrace);
    ASSERT_TRUE(out.jsonl.summary.has_value());
    const summary_counts summary = counts_of(*out.jsonl.summary);
    ASSERT_EQ(summary.drops, 0u) << "with drops the counts cannot agree";
    // (The shape of each trace is the attach tests' business: here only counts.)

    auto counts = bpftrace_counts(oracle->out().lines());
    ASSERT_TRUE(counts.count("firings")) << oracle->describe();

    // 1. every firing is one event
    EXPECT_EQ(summary.events, counts["firings"]);

    // 2. spans whose beginning was seen, by the firing that begins them
    const std::set<std::string> scopes{"validate", "record_metrics", "write_audit_record"};
    const std::set<std::string> begun{"handle_request(services&, int)", "lookup_user(services&, int)",
                                      "lookup_stock(services&, int)", "lookup_price(services&, int)"};
    const std::set<std::string> awaited{"parse(int)", "when_all", "merge(int, std::string, int, double)",
                                        "render(services&, quote)", "render_error(services&, int)"};
    std::uint64_t n_scopes = 0, n_begun = 0, n_awaited = 0, n_spawned = 0, n_whole = 0, n_events = 0, n_ended = 0;
    std::uint64_t n_spawned_any = 0;
    for (const json& t : out.jsonl.traces) {
        for (const json& s : t.at("spans")) {
            n_events += s.at("events").size();
            if (s.at("status") != "running") ++n_ended;
            n_spawned_any += s.at("name") == "audit(int)";
            // Partial spans are of two kinds: begun before cotrace attached
            // (their beginning unseen: no start site), and begun after it on
            // a thread whose state it did not know yet (parent uncertain, but
            // the beginning firing was seen: they carry their start site).
            // A spawned span has no start site: partial, it may be either
            // kind, so spawns are checked within bounds below.
            const bool partial = s.at("partial").get<bool>();
            const std::string name = s.at("name");
            if (!partial) n_spawned += name == "audit(int)";
            const bool beginning_seen = !partial || s.at("site").at("line").get<int>() != 0;
            if (!beginning_seen || name == "audit(int)") continue;
            ++n_whole;
            n_scopes += scopes.count(name);
            n_begun += begun.count(name);
            n_awaited += awaited.count(name);
        }
    }
    EXPECT_EQ(n_scopes, counts["scope_begin"]) << "scope spans vs scope_begin firings";
    EXPECT_EQ(n_begun, counts["span_begin"]) << "handle_request and lookup spans vs span_begin firings";
    EXPECT_EQ(n_awaited, counts["suspend_awaiting"]) << "awaited-child spans vs suspend firings with a child";
    // Every spawn firing made an audit span, certain or partial; spans begun
    // before attach add partial ones: certain <= firings <= all.
    EXPECT_LE(n_spawned, counts["spawn"]) << "non-partial audit spans vs spawn link firings";
    EXPECT_GE(n_spawned_any, counts["spawn"]) << "audit spans vs spawn link firings";
    EXPECT_EQ(n_whole, counts["scope_begin"] + counts["span_begin"] + counts["suspend_awaiting"])
        << "every span (but spawned ones) whose beginning was seen must come from exactly one beginning firing";

    // 3. upper bounds
    EXPECT_LE(n_events, counts["event"]);
    EXPECT_LE(n_ended, counts["end"]);
    EXPECT_GT(n_events, 0u);
}

}  // namespace
}  // namespace e2e
