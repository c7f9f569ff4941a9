// `cotrace run -- CMD`: CMD is started with the probes already attached, so
// every request is traced from the first, and cotrace exits with CMD's status.

#include <cstdio>
#include <set>
#include <string>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Run : public test {};

// Runs `cotrace run -f jsonl -- pipeline <args>` to completion.
std::unique_ptr<process> run_pipeline(const std::vector<std::string>& args) {
    std::vector<std::string> argv{paths::cotrace, "run", "-f", "jsonl", "--", paths::pipeline};
    argv.insert(argv.end(), args.begin(), args.end());
    auto c = process::spawn(argv);
    EXPECT_TRUE(c->wait().has_value()) << "cotrace run did not finish: " << c->describe();
    return c;
}

// Every request 0..n-1 is one complete trace of exactly the expected shape.
void expect_every_request_traced_exactly(process& cotrace, int n) {
    const session_output out = collect_output(cotrace);
    // CMD shares cotrace's stdout: its only line (with -q) is the ready line.
    ASSERT_EQ(out.jsonl.other.size(), 1u) << cotrace.describe();
    int pid = 0;
    ASSERT_EQ(std::sscanf(out.jsonl.other[0].c_str(), "pipeline pid %d ready", &pid), 1) << out.jsonl.other[0];

    EXPECT_EQ(out.jsonl.traces.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(expect_traces_are_right(out.jsonl.traces, pid), static_cast<std::size_t>(n))
        << "every trace must be complete: the probes were attached before the first request";
    std::multiset<int> ids;
    for (const json& t : out.jsonl.traces)
        if (auto id = request_id_of(t)) ids.insert(*id);
    std::string missing, repeated;
    for (int i = 0; i < n; ++i) {
        if (ids.count(i) == 0) missing += " " + std::to_string(i);
        if (ids.count(i) > 1) repeated += " " + std::to_string(i);
    }
    EXPECT_TRUE(missing.empty()) << "requests with no trace:" << missing;
    EXPECT_TRUE(repeated.empty()) << "requests in more than one trace:" << repeated;

    ASSERT_TRUE(out.jsonl.summary.has_value());
    const summary_counts s = counts_of(*out.jsonl.summary);
    EXPECT_EQ(s.traces, static_cast<std::uint64_t>(n));
    EXPECT_EQ(s.drops, 0u);
    EXPECT_EQ(s.incomplete, 0u);
}

TEST_F(Run, TracesEveryRequestFromTheFirstWithTheExactStructureAndExitsWithTheCommandsStatus) {
    auto cotrace = run_pipeline({"-n", "14", "-q", "--threads", "2"});
    ASSERT_TRUE(cotrace->status().has_value());
    EXPECT_EQ(cotrace->status()->describe(), "exit status 0") << cotrace->describe();
    expect_every_request_traced_exactly(*cotrace, 14);
}

// cotrace looks for newly mapped objects with probes while it runs (dlopen).
// A command that outlives that rescan must still be traced once per request,
// exactly as a short one.
TEST_F(Run, TracesEveryRequestOfALongerRunningCommandExactlyOnce) {
    auto cotrace = run_pipeline({"-n", "150", "-q", "--interval-ms", "8"});
    ASSERT_TRUE(cotrace->status().has_value());
    EXPECT_EQ(cotrace->status()->describe(), "exit status 0") << cotrace->describe();
    expect_every_request_traced_exactly(*cotrace, 150);
}

TEST_F(Run, ExitsWithTheStatusTheCommandExitsWithWhenItFails) {
    // The pipeline rejects a negative request count (a CLI11 validation error).
    const completed alone = run_to_completion({paths::pipeline, "--requests", "-1"});
    ASSERT_TRUE(alone.status.exited) << alone.describe();
    ASSERT_NE(alone.status.code, 0) << alone.describe();

    const completed traced =
        run_to_completion({paths::cotrace, "run", "-f", "jsonl", "--", paths::pipeline, "--requests", "-1"});
    EXPECT_TRUE(traced.status.exited) << traced.describe();
    EXPECT_EQ(traced.status.code, alone.status.code) << traced.describe();
}

}  // namespace
}  // namespace e2e
