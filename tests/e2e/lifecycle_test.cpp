// Either side dying: the target killed while traced, and the tracer killed
// while attached.

#include <signal.h>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Lifecycle : public test {};

bool request_line(const std::string& line) { return starts_with(line, "request "); }

TEST_F(Lifecycle, WhenTheTargetIsKilledCotraceFlushesEverythingAndExitsByItself) {
    auto pipeline = start_pipeline({"--forever", "-q", "--interval-ms", "5"});
    auto cotrace = start_attach(pipeline->pid());
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 1)) << cotrace->describe();

    pipeline->signal(SIGKILL);
    ASSERT_TRUE(pipeline->wait().has_value());
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << "cotrace did not notice its target died: " << cotrace->describe();
    EXPECT_TRUE(st->exited && st->code == 0) << cotrace->describe();

    // Flushed: the summary object is last (and on stderr), the counts match
    // what was printed, and what was in flight when the target died comes
    // out marked incomplete with nothing misplaced. (The exact shape of
    // complete traces is the attach tests' business.)
    const session_output out = collect_output(*cotrace);
    std::size_t complete = 0;
    for (const json& t : out.jsonl.traces) {
        if (t.at("complete").get<bool>()) {
            ++complete;
            continue;
        }
        for (const std::string& p : check_incomplete_trace(t, pipeline->pid())) ADD_FAILURE() << p << "\n" << render_trace(t);
    }
    EXPECT_GE(complete, 1u);
    ASSERT_TRUE(out.jsonl.summary.has_value());
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);
}

TEST_F(Lifecycle, WhenCotraceIsKilledTheTargetKeepsServingAndItsSemaphoresReturnToZero) {
    // Not quiet: each served request prints a line, which shows progress.
    auto pipeline = start_pipeline({"--forever", "--interval-ms", "5"});
    const target_semaphores semaphores(pipeline->pid());
    ASSERT_GE(semaphores.size(), 10u) << "one semaphore per probe of COTRACE_PROBE_LIST";
    ASSERT_TRUE(semaphores.all_zero()) << semaphores.describe();

    auto cotrace = start_attach(pipeline->pid());
    EXPECT_TRUE(semaphores.all_nonzero()) << "attached, yet some semaphores are 0: " << semaphores.describe();
    ASSERT_TRUE(cotrace->out().wait_for_count(any_trace, 1)) << cotrace->describe();

    cotrace->signal(SIGKILL);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->signal, SIGKILL) << st->describe();

    // The kernel detaches when the dead tracer's perf fds close.
    EXPECT_TRUE(semaphores.wait_all_zero()) << "semaphores after cotrace was killed: " << semaphores.describe();
    const std::size_t served = pipeline->out().count(request_line);
    EXPECT_TRUE(pipeline->out().wait_for_count(request_line, served + 5))
        << "the target stopped serving after its tracer was killed: " << pipeline->describe();
    EXPECT_TRUE(pipeline->running()) << pipeline->describe();
}

}  // namespace
}  // namespace e2e
