#pragma once
// What every end-to-end test starts from: a GoogleTest fixture that requires
// root (these tests trace real processes with BPF and must fail, not skip,
// where that is impossible), and helpers to start the demo workload and
// cotrace and to wait for the lines that say they are ready.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cotrace_output.hpp"
#include "paths.hpp"
#include "pipeline_shape.hpp"
#include "process.hpp"
#include "semaphores.hpp"

namespace e2e {

class test : public ::testing::Test {
protected:
    void SetUp() override;
};

// Starts build/bin/pipeline with args and waits for "pipeline pid N ready".
std::unique_ptr<process> start_pipeline(const std::vector<std::string>& args);

// Starts `cotrace -v attach -p PID -f jsonl <extra...>` and waits for
// "cotrace: attached N probe links in process PID" on its stderr.
std::unique_ptr<process> start_attach(pid_t pid, const std::vector<std::string>& extra = {});

// Predicates over cotrace's stdout lines.
inline bool any_trace(const std::string& line) { return is_trace_line(line); }
inline bool complete_trace(const std::string& line) {
    return is_trace_line(line) && contains(line, "\"complete\":true");
}

// After cotrace has exited: its stdout as JSON lines, with the summary line
// of its stderr. Adds a failure for anything malformed or inconsistent.
struct session_output {
    jsonl_output jsonl;
    std::optional<summary_counts> stderr_summary;
};
session_output collect_output(process& cotrace);

// Adds a failure for every trace that is not what the pipeline builds
// (complete: exactly; incomplete: nothing misplaced). Returns how many were complete.
std::size_t expect_traces_are_right(const std::vector<json>& traces, pid_t pid);

// Test 8 of the suite, after every session whose target outlives it: the
// target's cotrace semaphores are all back to 0, i.e. no probe is left attached.
void expect_nothing_left_attached(const target_semaphores& semaphores, const std::string& when);

}  // namespace e2e
