// `cotrace attach -p PID`: tracing a process that is already running.

#include <signal.h>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Attach : public test {};

TEST_F(Attach, ByPidTracesRequestsExactlyUntilInterruptedThenDetachesAndLeavesTheTargetRunning) {
    auto pipeline = start_pipeline({"--forever", "-q", "--interval-ms", "5"});
    const target_semaphores semaphores(pipeline->pid());
    ASSERT_TRUE(semaphores.all_zero()) << "probes attached before cotrace: " << semaphores.describe();

    auto cotrace = start_attach(pipeline->pid());
    EXPECT_TRUE(semaphores.all_nonzero()) << "cotrace said it attached, but not every probe is: "
                                          << semaphores.describe();
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 10))
        << "fewer than 10 complete traces: " << cotrace->describe();

    cotrace->signal(SIGINT);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << "cotrace did not exit after SIGINT: " << cotrace->describe();
    EXPECT_TRUE(st->exited && st->code == 0) << cotrace->describe();

    const session_output out = collect_output(*cotrace);
    EXPECT_TRUE(out.jsonl.other.empty()) << "cotrace -f jsonl printed something else on stdout: "
                                         << out.jsonl.other.front();
    EXPECT_GE(expect_traces_are_right(out.jsonl.traces, pipeline->pid()), 10u);
    ASSERT_TRUE(out.jsonl.summary.has_value());
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);

    EXPECT_TRUE(pipeline->running()) << "the traced process did not survive cotrace: " << pipeline->describe();
    expect_nothing_left_attached(semaphores, "after cotrace exited on SIGINT");
}

TEST_F(Attach, MidFlightGivesExactCompleteTracesAndPartialOnesWithNoMisplacedSpan) {
    // Two clients with no pause: requests are always in flight, so the
    // first events cotrace sees belong to spans that began before it.
    auto pipeline = start_pipeline({"--forever", "-q", "--clients", "2", "--interval-ms", "0"});
    const target_semaphores semaphores(pipeline->pid());

    auto cotrace = start_attach(pipeline->pid());
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 10))
        << "fewer than 10 complete traces: " << cotrace->describe();
    cotrace->signal(SIGINT);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << "cotrace did not exit after SIGINT: " << cotrace->describe();
    EXPECT_TRUE(st->exited && st->code == 0) << cotrace->describe();

    const session_output out = collect_output(*cotrace);
    EXPECT_GE(expect_traces_are_right(out.jsonl.traces, pipeline->pid()), 10u);
    std::size_t with_partial = 0;
    for (const json& t : out.jsonl.traces) {
        bool partial = false;
        for (const json& s : t.at("spans")) partial = partial || s.at("partial").get<bool>();
        if (partial) {
            ++with_partial;
            EXPECT_FALSE(t.at("complete").get<bool>()) << "a trace with a partial span is marked complete:\n"
                                                       << render_trace(t);
        }
    }
    EXPECT_GE(with_partial, 1u) << "attached while requests were in flight, yet no span is partial";
    ASSERT_TRUE(out.jsonl.summary.has_value());
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);

    EXPECT_TRUE(pipeline->running()) << pipeline->describe();
    expect_nothing_left_attached(semaphores, "after cotrace exited on SIGINT");
}

}  // namespace
}  // namespace e2e
