// --format stats against a string stream: exact figures on known durations,
// the nearest-rank percentile method, ordering and alignment of the table,
// and the bounded sample past its cap.

#include "sinks/stats_sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sinks/sink.hpp"
#include "support/sample_traces.hpp"

namespace {

using namespace cotrace_sinks_test;
using cotrace::stats_sink;

constexpr std::size_t number_columns =
    11;  // count total p50 p90 p99 max susp/span hops/span exc cancel err

struct row {
    std::string name;
    std::vector<std::string> cells;  // the number columns, as printed
    const std::string& operator[](const char* column) const {
        static const std::vector<std::string> names{"count", "total", "p50",       "p90",
                                                    "p99",   "max",   "susp/span", "hops/span",
                                                    "exc",   "cancel", "err"};
        return cells.at(static_cast<std::size_t>(std::find(names.begin(), names.end(), column) -
                                                 names.begin()));
    }
};

struct table {
    std::string header;
    std::vector<std::string> lines;  // the column heads, then one per name
    std::map<std::string, row> rows;
    std::vector<std::string> order;
};

// Names may hold spaces: the last ten fields of a line are the numbers.
table parse(const std::string& text) {
    table t;
    std::istringstream in(text);
    std::getline(in, t.header);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '~') continue;
        t.lines.push_back(line);
        std::istringstream fields(line);
        std::vector<std::string> words;
        for (std::string w; fields >> w;) words.push_back(w);
        if (words.size() < number_columns + 1) continue;
        row r;
        r.cells.assign(words.end() - number_columns, words.end());
        for (auto w = words.begin(); w != words.end() - number_columns; ++w)
            r.name += (r.name.empty() ? "" : " ") + *w;
        if (r.name == "name") continue;  // the column heads
        t.order.push_back(r.name);
        t.rows[r.name] = r;
    }
    return t;
}

std::string render(const std::vector<cotrace::trace>& traces,
                   std::size_t cap = stats_sink::default_reservoir_cap,
                   cotrace::session_summary summary = {}) {
    std::ostringstream out;
    stats_sink sink(out, cap);
    for (const auto& t : traces) sink.on_trace(t);
    sink.finish(summary);
    return out.str();
}

// One trace of `durations_ns.size()` ended spans named `name`, in the given order.
cotrace::trace spans_named(std::string_view name, const std::vector<std::uint64_t>& durations_ns,
                           std::uint64_t first_id = 1000) {
    cotrace::trace t;
    t.id = first_id;
    t.pid = PID;
    t.start_ns = us(0);
    std::uint64_t id = first_id;
    for (std::uint64_t d : durations_ns) {
        t.spans.push_back(make_span(id++, t.spans.empty() ? 0 : first_id, name, us(0), us(0) + d,
                                    span_status::ok, {T1}));
        t.end_ns = std::max(t.end_ns, us(0) + d);
    }
    return t;
}

TEST(StatsSink, DurationsOfOneToAHundredMillisecondsGiveExactNearestRankPercentiles) {
    std::vector<std::uint64_t> durations;
    for (std::uint64_t ms = 1; ms <= 100; ++ms) durations.push_back(ms * 1'000'000);
    std::shuffle(durations.begin(), durations.end(), std::mt19937(7));
    const table t = parse(render({spans_named("step()", durations)}));
    ASSERT_TRUE(t.rows.count("step()")) << t.header;
    const row& r = t.rows.at("step()");
    EXPECT_EQ(r["count"], "100");
    EXPECT_EQ(r["total"], "5050.000");
    EXPECT_EQ(r["p50"], "50.000");
    EXPECT_EQ(r["p90"], "90.000");
    EXPECT_EQ(r["p99"], "99.000");
    EXPECT_EQ(r["max"], "100.000");
}

TEST(StatsSink, NearestRankIsTheSmallestValueWithAtLeastPPercentAtOrBelowIt) {
    EXPECT_EQ(stats_sink::percentile({}, 50), 0u);
    EXPECT_EQ(stats_sink::percentile({7}, 1), 7u);
    EXPECT_EQ(stats_sink::percentile({7}, 99), 7u);
    const std::vector<std::uint64_t> four{10, 20, 30, 40};
    EXPECT_EQ(stats_sink::percentile(four, 25), 10u);  // rank ceil(1.0) = 1
    EXPECT_EQ(stats_sink::percentile(four, 26), 20u);  // rank ceil(1.04) = 2
    EXPECT_EQ(stats_sink::percentile(four, 50), 20u);
    EXPECT_EQ(stats_sink::percentile(four, 90), 40u);  // rank ceil(3.6) = 4
    EXPECT_EQ(stats_sink::percentile(four, 100), 40u);
    std::vector<std::uint64_t> thousand(1000);
    std::iota(thousand.begin(), thousand.end(), 1);
    EXPECT_EQ(stats_sink::percentile(thousand, 99), 990u);
    EXPECT_EQ(stats_sink::percentile(thousand, 50), 500u);
}

TEST(StatsSink, TheHeaderCountsTracesSpansAndNames) {
    cotrace::session_summary summary;
    summary.drops = 3;
    const table t = parse(render(all_traces(), stats_sink::default_reservoir_cap, summary));
    // 4 traces (the partial one incomplete), 12 spans, 12 distinct names.
    EXPECT_EQ(t.header.rfind("4 traces (1 incomplete), 12 spans, 12 names, 3 events dropped", 0),
              0u)
        << t.header;
    EXPECT_EQ(t.rows.size(), 12u);
}

TEST(StatsSink, RowsAreSortedByTotalTimeLargestFirstInAlignedColumns) {
    std::vector<cotrace::trace> traces{spans_named("small", {1'000, 2'000}, 100),
                                       spans_named("large one", {5'000'000}, 200),
                                       spans_named("middle", {400'000, 400'000, 400'000}, 300)};
    const std::string text = render(traces);
    const table t = parse(text);
    EXPECT_EQ(t.order, (std::vector<std::string>{"large one", "middle", "small"}));
    EXPECT_EQ(t.rows.at("middle")["total"], "1.200");
    ASSERT_EQ(t.lines.size(), 4u);  // heads and three names
    for (const std::string& line : t.lines) EXPECT_EQ(line.size(), t.lines.front().size()) << text;
    // Numbers are right-aligned under their heads.
    const std::size_t total_end = t.lines[0].find("total") + 5;
    for (const std::string& line : t.lines) EXPECT_NE(line[total_end - 1], ' ') << line;
}

TEST(StatsSink, MeansOfSuspendsAndHopsAndCountsOfExceptionsAndCancellations) {
    const table t = parse(render(all_traces()));
    const row& root = t.rows.at("handle_request(int)");
    EXPECT_EQ(root["count"], "1");
    EXPECT_EQ(root["total"], "1.000");
    EXPECT_EQ(root["susp/span"], "3.00");
    EXPECT_EQ(root["hops/span"], "2.00");
    EXPECT_EQ(t.rows.at("merge(int, std::string)")["exc"], "1");
    EXPECT_EQ(t.rows.at("when_all")["exc"], "1");
    EXPECT_EQ(t.rows.at("say(\"hi\") \\ <now> & {x|y}")["cancel"], "1");
    EXPECT_EQ(t.rows.at("handle_request(int)")["exc"], "0");

    // Two spans of one name: means are per span.
    cotrace::trace two = spans_named("hop()", {1'000'000, 3'000'000});
    two.spans[0].thread_hops = 3;
    two.spans[0].suspends.resize(2);
    two.spans[1].suspends.resize(1);
    const table two_table = parse(render({two}));
    const row& hop = two_table.rows.at("hop()");
    EXPECT_EQ(hop["susp/span"], "1.50");
    EXPECT_EQ(hop["hops/span"], "1.50");
}

TEST(StatsSink, SpansStillRunningAreCountedButHaveNoDuration) {
    const table t = parse(render({partial_trace()}));
    const row& poll = t.rows.at("poll_loop()");
    EXPECT_EQ(poll["count"], "1");
    for (const char* c : {"total", "p50", "p90", "p99", "max"}) EXPECT_EQ(poll[c], "-") << c;
    // A cancelled span ended: it has a duration.
    EXPECT_EQ(t.rows.at("say(\"hi\") \\ <now> & {x|y}")["max"], "0.100");
}

TEST(StatsSink, PastTheCapPercentilesAreEstimatedFromASampleWhileCountTotalAndMaxStayExact) {
    // 10 000 durations of 1..10 000 µs through a sample of 1 000.
    std::vector<std::uint64_t> durations(10'000);
    for (std::size_t i = 0; i < durations.size(); ++i) durations[i] = (i + 1) * 1'000;
    std::shuffle(durations.begin(), durations.end(), std::mt19937(11));
    const std::string text = render({spans_named("busy()", durations)}, 1'000);
    const table t = parse(text);
    const row& r = t.rows.at("busy()");
    EXPECT_EQ(r["count"], "10000");
    EXPECT_EQ(r["total"], "50005.000");
    EXPECT_EQ(r["max"], "10.000");
    ASSERT_EQ(r["p50"][0], '~');
    EXPECT_NEAR(std::atof(r["p50"].c_str() + 1), 5.0, 0.5);
    EXPECT_NEAR(std::atof(r["p90"].c_str() + 1), 9.0, 0.3);
    EXPECT_NEAR(std::atof(r["p99"].c_str() + 1), 9.9, 0.2);
    EXPECT_NE(text.find("~ estimated from a uniform sample of 1000"), std::string::npos);
    // Within the cap, nothing is marked.
    EXPECT_EQ(render({spans_named("busy()", durations)}, 10'000).find('~'), std::string::npos);
}

TEST(StatsSink, TheSameInputPrintsTheSameTable) {
    std::vector<std::uint64_t> durations(5'000);
    std::iota(durations.begin(), durations.end(), 1);
    std::shuffle(durations.begin(), durations.end(), std::mt19937(3));
    EXPECT_EQ(render({spans_named("a()", durations)}, 100),
              render({spans_named("a()", durations)}, 100));
}

TEST(StatsSink, LongNamesAreCutSoTheNumbersStayInLine) {
    const std::string long_name(150, 'x');
    const std::string text =
        render({spans_named(long_name, {1'000}), spans_named("short", {2'000}, 2000)});
    EXPECT_EQ(text.find(long_name), std::string::npos);
    EXPECT_NE(text.find(std::string(59, 'x') + "…"), std::string::npos);
    const table t = parse(text);
    ASSERT_EQ(t.rows.size(), 2u);
    EXPECT_EQ(t.rows.at("short")["max"], "0.002");
}

TEST(StatsSink, ASessionWithNoTracesSaysSo) {
    const std::string text = render({});
    EXPECT_EQ(text.rfind("0 traces, 0 spans, 0 names", 0), 0u) << text;
}

TEST(StatsSink, TheRegistryMakesItForFormatStats) {
    std::ostringstream out;
    auto sink = cotrace::make_sink("stats", out, {});
    ASSERT_NE(sink, nullptr);
    sink->on_trace(request_trace());
    sink->finish({});
    EXPECT_TRUE(parse(out.str()).rows.count("handle_request(int)"));
}

}  // namespace
