// Requests in flight through the sinks: the jsonl in_flight record field by
// field, the tree's STUCK header, and the top view's screen.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "sinks/jsonl_sink.hpp"
#include "sinks/text_format.hpp"
#include "sinks/top_view.hpp"
#include "sinks/tree_sink.hpp"
#include "support/harness.hpp"

namespace {

using json = nlohmann::json;
using namespace cotrace_test;
using cotrace::in_flight_trace;

// handle_request awaits fetch_user, which awaits query, which waits on I/O
// at db.cpp:7 since 1040; snapshot at 1'000'001'040 (1 s later).
in_flight_trace hung_request(harness& h) {
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).at(1010),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).at(1020),
        suspend(T1, CHILD, AWAIT_GRANDCHILD_SITE, GRANDCHILD).code(CODE_GRANDCHILD).at(1030),
        suspend(T1, GRANDCHILD, IO_SITE).at(1040),
    });
    in_flight_trace out;
    h.assembler().in_flight(1'000'001'040, 0, [&](in_flight_trace& f) { out = f; });
    out.stuck = true;
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

TEST(InFlightSinks, JsonlWritesAnInFlightRecordWithWhereAndHowLongEachSpanWaits) {
    harness h;
    const in_flight_trace f = hung_request(h);
    std::ostringstream out;
    cotrace::jsonl_sink sink(out);
    ASSERT_TRUE(sink.on_in_flight(f));
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 1u);
    const json r = json::parse(lines[0]);
    EXPECT_EQ(r["type"], "in_flight");
    EXPECT_EQ(r["reason"], "stuck");
    EXPECT_EQ(r["stuck"], true);
    EXPECT_EQ(r["pid"], test_pid);
    EXPECT_EQ(r["trace_id"].get<std::string>().size(), 16u);
    EXPECT_EQ(r["start_ns"], 1010u);
    EXPECT_EQ(r["now_ns"], 1'000'001'040u);
    EXPECT_EQ(r["age_ns"], 1'000'000'030u);
    EXPECT_EQ(r["longest_wait_ns"], 1'000'000'020u);
    EXPECT_EQ(r["segment"], 0u);
    ASSERT_EQ(r["waiting"].size(), 3u);
    const json& leaf = r["waiting"][2];
    EXPECT_EQ(leaf["name"], "query(int)");
    EXPECT_EQ(leaf["file"], "/src/db.cpp");
    EXPECT_EQ(leaf["line"], 7u);
    EXPECT_EQ(leaf["function"], "query");
    EXPECT_EQ(leaf["since_ns"], 1040u);
    EXPECT_EQ(leaf["waited_ns"], 1'000'000'000u);
    EXPECT_TRUE(leaf["awaited"].is_null());
    EXPECT_EQ(r["waiting"][0]["awaited"], r["spans"][1]["span_id"]) << "the root awaits its traced child";
    ASSERT_EQ(r["spans"].size(), 3u);
    for (const json& s : r["spans"]) {
        EXPECT_EQ(s["status"], "running");
        EXPECT_TRUE(s["end_ns"].is_null());
    }
    EXPECT_TRUE(r["spans"][2]["suspends"][0]["end_ns"].is_null()) << "still suspended";
    EXPECT_TRUE(r["links"].is_array());
}

TEST(InFlightSinks, TheTreeSaysStuckThenEachSuspendedSpansWaitAndSiteThenTheTreeAsItIsNow) {
    harness h;
    in_flight_trace f = hung_request(h);
    std::ostringstream out;
    cotrace::tree_sink sink(out, false);
    ASSERT_TRUE(sink.on_in_flight(f));
    const auto lines = lines_of(out.str());
    ASSERT_GE(lines.size(), 5u) << out.str();
    EXPECT_EQ(lines[0].rfind("STUCK  trace ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("open 1000.00 ms  3 suspended"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[3], "  suspended 1000.00 ms at db.cpp:7  in query(int)");
    EXPECT_EQ(lines[4].rfind("trace ", 0), 0u) << "then the tree: " << lines[4];

    f.requested = true;
    f.stuck = false;
    std::ostringstream again;
    cotrace::tree_sink(again, false).on_in_flight(f);
    EXPECT_EQ(again.str().rfind("IN FLIGHT  trace ", 0), 0u) << again.str();
}

TEST(InFlightSinks, FormatsWithoutAnInFlightRecordSaySo) {
    harness h;
    const in_flight_trace f = hung_request(h);
    std::ostringstream out;
    for (const char* format : {"chrome", "dot", "stats", "otlp"}) {
        auto sink = cotrace::make_sink(format, out, {});
        ASSERT_TRUE(sink);
        EXPECT_FALSE(sink->on_in_flight(f)) << format << ": the session shows it as text on stderr";
    }
    EXPECT_TRUE(out.str().empty());
}

TEST(TopView, TheOldestRequestInFlightShowsWhereItWaitsAndTheScreenFits80x24) {
    harness h;
    const in_flight_trace f = hung_request(h);
    cotrace::top_view view(test_pid, false);
    // Finished requests: 40 of 1 ms each, 2 of them errors.
    cotrace::trace done;
    done.id = 99;
    done.pid = test_pid;
    for (int i = 0; i < 40; ++i) {
        cotrace::span s;
        s.id = static_cast<std::uint64_t>(i + 1);
        s.name = "serve(int)";
        s.start_ns = 500'000'000 + static_cast<std::uint64_t>(i);
        s.end_ns = s.start_ns + 1'000'000;
        s.status = i < 2 ? cotrace::span_status::exception : cotrace::span_status::ok;
        done.spans.push_back(s);
    }
    std::ostringstream first;
    view.render(first, 1'000, 24, 80);  // opens the first window at 1000 ns
    view.on_trace(done);
    view.add_in_flight(f);
    std::ostringstream out;
    view.render(out, 1'000'001'040, 24, 80);
    const auto lines = lines_of(out.str());
    ASSERT_LE(lines.size(), 24u) << out.str();
    for (const auto& l : lines) EXPECT_LE(cotrace::display_width(l), 80u) << l;
    EXPECT_EQ(lines[0].rfind("cotrace top  pid 4242  1 request in flight  1 finished", 0), 0u) << lines[0];
    std::string serve, oldest;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].rfind("serve(int)", 0) == 0) serve = lines[i];
        if (lines[i].rfind("OLDEST IN FLIGHT", 0) == 0 && i + 1 < lines.size()) oldest = lines[i + 1];
    }
    // 40 started in a window of 1 s; p50 and p99 of 1 ms durations read 1.0ms.
    EXPECT_NE(serve.find("40.0"), std::string::npos) << serve;
    EXPECT_NE(serve.find("1.0ms"), std::string::npos) << serve;
    EXPECT_EQ(serve.substr(serve.size() - 1), "2") << "errors: " << serve;
    EXPECT_NE(oldest.find("query(int) at db.cpp:7 for 1.0s"), std::string::npos) << out.str();
}

TEST(TopView, PercentilesComeFromTheDurationsSeenWithin2Percent) {
    cotrace::top_view::histogram hist;
    EXPECT_EQ(hist.percentile(0.5), 0u) << "nothing seen";
    for (int i = 0; i < 98; ++i) hist.add(1'000);
    hist.add(1'100);
    hist.add(1'000'000'000);
    const auto within = [](std::uint64_t got, double want) { return std::abs(static_cast<double>(got) - want) <= 0.016 * want; };
    EXPECT_TRUE(within(hist.percentile(0.5), 1'000)) << hist.percentile(0.5);
    EXPECT_TRUE(within(hist.percentile(0.99), 1'100)) << "10% apart is another bucket: " << hist.percentile(0.99);
    EXPECT_TRUE(within(hist.percentile(1.0), 1e9)) << hist.percentile(1.0);
    cotrace::top_view::histogram small;
    for (std::uint64_t ns : {3u, 5u, 7u}) small.add(ns);
    EXPECT_EQ(small.percentile(0.5), 5u) << "short durations are exact";
    small.add(~std::uint64_t{0});
    EXPECT_GT(small.percentile(1.0), std::uint64_t{1} << 63) << "the largest duration has a bucket";
}

}  // namespace
