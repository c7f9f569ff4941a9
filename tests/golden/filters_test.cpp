// --name, --trace, --min-duration and --limit on a committed recording, with
// exact expected counts: the expected output of each filter is computed from
// the unfiltered jsonl of the same recording (the lines of the traces the
// filter must keep, then the same summary line), never copied by hand.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/golden.hpp"

namespace {

using namespace golden;

// pipeline -n 6 --fail-every 3: requests 2 and 5 fail their stock lookup
// and render an error page.
const std::string rec = "pipeline-6-fail3";

class Filters : public testing::Test {
protected:
    void SetUp() override {
        all = parse_jsonl(read_file(expected(rec, "jsonl")));
        ASSERT_EQ(all.traces.size(), 6u);
        summary = read_file(expected(rec, "summary"));
        ASSERT_FALSE(summary.empty());
    }

    // `cotrace report REC -f jsonl ARGS...`: its output and stderr.
    outcome report(std::vector<std::string> args, std::string& output) {
        temp_dir tmp;
        const fs::path out = tmp / "out.jsonl";
        args.insert(args.begin(), {"report", recording(rec).string(), "-f", "jsonl", "-o", out.string()});
        outcome r = cotrace_cmd(args);
        output = read_file(out);
        return r;
    }

    // The filter keeps exactly `kept`, in order; stderr says how many were shown.
    void expect_kept(const std::vector<std::string>& args, const std::vector<trace_line>& kept) {
        std::string output;
        const outcome r = report(args, output);
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        EXPECT_TRUE(same_text(all.with_only(kept), output, "filtered output"));
        // The summary counts what was assembled, then what was shown (when
        // that is fewer).
        std::string want = summary;
        if (kept.size() != all.traces.size())
            want.insert(want.size() - 1, ", " + std::to_string(kept.size()) + " shown");
        EXPECT_TRUE(same_text(want, r.err, "stderr"));
    }

    std::vector<trace_line> where(bool (*keep)(const trace_line&)) const {
        std::vector<trace_line> out;
        for (const trace_line& t : all.traces)
            if (keep(t)) out.push_back(t);
        return out;
    }

    jsonl_output all;
    std::string summary;
};

TEST_F(Filters, NameKeepsExactlyTheFailingRequests) {
    const auto failing = where([](const trace_line& t) { return t.request_id() % 3 == 2; });
    ASSERT_EQ(failing.size(), 2u);
    for (const trace_line& t : all.traces)
        EXPECT_EQ(t.has_span_matching("render_error*"), t.request_id() % 3 == 2) << t.id();
    expect_kept({"--name", "render_error*"}, failing);
    // The glob matches whole names.
    expect_kept({"--name", "render_error"}, {});
    expect_kept({"--name", "*"}, all.traces);
}

TEST_F(Filters, TraceKeepsThatTraceOnly) {
    const trace_line third = all.traces.at(2);
    expect_kept({"--trace", third.id()}, {third});
    // As printed, or with 0x, in either case.
    std::string upper = third.id();
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    expect_kept({"--trace", "0x" + upper}, {third});
    expect_kept({"--trace", "00000000deadbeef"}, {});
}

TEST_F(Filters, LimitKeepsTheFirstN) {
    expect_kept({"--limit", "2"}, {all.traces.at(0), all.traces.at(1)});
    expect_kept({"--limit", "6"}, all.traces);
    expect_kept({"--limit", "100"}, all.traces);
}

TEST_F(Filters, MinDurationKeepsExactlyTheTracesLastingAtLeastThatLong) {
    std::vector<std::uint64_t> durations;
    for (const trace_line& t : all.traces) durations.push_back(t.duration_ns());
    std::sort(durations.begin(), durations.end());
    // At the median duration, a nanosecond above it, and in microseconds.
    for (const std::uint64_t at : {durations[0], durations[2], durations[3], durations[3] + 1, durations[5],
                                   durations[5] + 1}) {
        SCOPED_TRACE(at);
        std::vector<trace_line> kept;
        for (const trace_line& t : all.traces)
            if (t.duration_ns() >= at) kept.push_back(t);
        expect_kept({"--min-duration", std::to_string(at) + "ns"}, kept);
    }
    const std::uint64_t micros = durations[2] / 1000;  // rounded down: that trace stays
    std::vector<trace_line> kept;
    for (const trace_line& t : all.traces)
        if (t.duration_ns() >= micros * 1000) kept.push_back(t);
    EXPECT_GE(kept.size(), 4u);
    expect_kept({"--min-duration", std::to_string(micros) + "us"}, kept);
}

TEST_F(Filters, FiltersCombineAndLimitCountsWhatPassedTheOthers) {
    const auto failing = where([](const trace_line& t) { return t.request_id() % 3 == 2; });
    ASSERT_EQ(failing.size(), 2u);
    expect_kept({"--name", "render_error*", "--limit", "1"}, {failing.at(0)});
    expect_kept({"--name", "render_error*", "--trace", failing.at(1).id()}, {failing.at(1)});
    expect_kept({"--name", "render_error*", "--trace", all.traces.at(0).id()}, {});
}

TEST_F(Filters, ApplyToEveryFormat) {
    // The tree of --trace ID: that one trace.
    const trace_line third = all.traces.at(2);
    const outcome r = cotrace_cmd({"report", recording(rec).string(), "-f", "tree", "--trace", third.id()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    std::size_t headers = 0;
    for (const std::string& line : lines_of(r.out))
        if (line.rfind("trace ", 0) == 0) {
            ++headers;
            EXPECT_EQ(line.rfind("trace " + third.id() + " ", 0), 0u) << line;
        }
    EXPECT_EQ(headers, 1u);
    // Stats over the failing requests only: two of everything they ran.
    const outcome s = cotrace_cmd({"report", recording(rec).string(), "-f", "stats", "--name", "render_error*"});
    ASSERT_EQ(s.exit_code, 0) << s.describe();
    EXPECT_EQ(s.out.rfind("2 traces, ", 0), 0u) << s.out;
}

}  // namespace
