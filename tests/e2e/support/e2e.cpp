#include "e2e.hpp"

#include <unistd.h>

#include <stdexcept>

namespace e2e {

void test::SetUp() {
    ASSERT_EQ(geteuid(), 0u) << "the end-to-end tests attach BPF programs to real processes: run them as root";
}

std::unique_ptr<process> start_pipeline(const std::vector<std::string>& args) {
    std::vector<std::string> argv{paths::pipeline};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = process::spawn(argv);
    const std::string ready = "pipeline pid " + std::to_string(p->pid()) + " ready";
    if (!p->out().wait_for([&](const std::string& l) { return l == ready; }))
        throw std::runtime_error("the pipeline did not print \"" + ready + "\": " + p->describe());
    return p;
}

std::unique_ptr<process> start_attach(pid_t pid, const std::vector<std::string>& extra) {
    std::vector<std::string> argv{paths::cotrace, "-v", "attach", "-p", std::to_string(pid), "-f", "jsonl"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto c = process::spawn(argv);
    if (!c->err().wait_for([&](const std::string& l) { return is_attached_line(l, pid); }))
        throw std::runtime_error("cotrace did not say it attached to process " + std::to_string(pid) + ": " +
                                 c->describe());
    return c;
}

session_output collect_output(process& cotrace) {
    session_output s;
    EXPECT_TRUE(cotrace.out().wait_closed()) << cotrace.describe();
    EXPECT_TRUE(cotrace.err().wait_closed()) << cotrace.describe();
    s.jsonl = parse_jsonl(cotrace.out().lines());
    for (const std::string& line : cotrace.err().lines())
        if (auto c = parse_summary_line(line)) s.stderr_summary = c;
    EXPECT_TRUE(s.stderr_summary.has_value())
        << "no line \"cotrace: N events, N traces, N spans, N drops, N incomplete\" on stderr\n"
        << cotrace.describe();
    for (const std::string& p : check_summary_matches(s.jsonl)) ADD_FAILURE() << p;
    if (s.jsonl.summary && s.stderr_summary) {
        const summary_counts j = counts_of(*s.jsonl.summary), e = *s.stderr_summary;
        EXPECT_EQ(j.events, e.events) << "the jsonl summary and the stderr summary disagree";
        EXPECT_EQ(j.traces, e.traces) << "the jsonl summary and the stderr summary disagree";
        EXPECT_EQ(j.spans, e.spans) << "the jsonl summary and the stderr summary disagree";
        EXPECT_EQ(j.drops, e.drops) << "the jsonl summary and the stderr summary disagree";
        EXPECT_EQ(j.incomplete, e.incomplete) << "the jsonl summary and the stderr summary disagree";
    }
    return s;
}

std::size_t expect_traces_are_right(const std::vector<json>& traces, pid_t pid) {
    for (const std::string& problem : check_traces(traces, pid)) ADD_FAILURE() << problem;
    std::size_t complete = 0;
    for (const json& t : traces)
        if (t.at("complete").get<bool>()) ++complete;
    return complete;
}

void expect_nothing_left_attached(const target_semaphores& semaphores, const std::string& when) {
    EXPECT_TRUE(semaphores.wait_all_zero())
        << "cotrace probes are still attached " << when << ": semaphores " << semaphores.describe();
}

}  // namespace e2e
