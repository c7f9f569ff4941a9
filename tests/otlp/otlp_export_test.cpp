// --otlp-endpoint against a stand-in collector on loopback: every span
// arrives, as OTLP/HTTP JSON the OpenTelemetry definitions decode; 503s are
// retried until delivery; a collector that is gone or never answers costs
// the session nothing but the spans, which are counted as dropped.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "otlp_receiver.hpp"
#include "support/e2e.hpp"

namespace e2e {
namespace {

using otlp_test::otlp_receiver;

class OtlpExport : public test {};

constexpr int requests = 12;

struct export_line {
    std::uint64_t sent = 0, requests = 0, dropped = 0;
};

// "cotrace: otlp: 150 spans sent to http://... in 2 requests, 0 dropped[ (last error: ...)]"
std::optional<export_line> export_summary(process& cotrace) {
    static const std::regex re(R"(cotrace: otlp: (\d+) spans sent to \S+ in (\d+) requests, (\d+) dropped.*)");
    for (const std::string& line : cotrace.err().lines()) {
        std::smatch m;
        if (std::regex_match(line, m, re))
            return export_line{std::stoull(m[1]), std::stoull(m[2]), std::stoull(m[3])};
    }
    return std::nullopt;
}

std::unique_ptr<process> run_with_endpoint(const std::string& endpoint) {
    auto c = process::spawn({paths::cotrace, "run", "-f", "jsonl", "--otlp-endpoint", endpoint, "--", paths::pipeline,
                             "-n", std::to_string(requests), "-q"});
    EXPECT_TRUE(c->wait().has_value()) << "cotrace run did not finish: " << c->describe();
    return c;
}

// What the collector received, decoded and checked by the OpenTelemetry
// project's generated protobuf code (tests/otlp/check_otlp.js).
json decode_with_opentelemetry(const std::vector<otlp_test::received_request>& received) {
    const std::string file = testing::TempDir() + "otlp-bodies.jsonl";
    {
        // A refused attempt is sent again: what was delivered is what was accepted.
        std::ofstream out(file);
        for (const auto& r : received)
            if (r.status == 200) out << r.body << '\n';
    }
    const completed check = run_to_completion({COTRACE_OTLP_NODE, COTRACE_OTLP_CHECKER, file});
    EXPECT_TRUE(check.status.ok()) << check.describe();
    EXPECT_EQ(check.out.size(), 1u) << check.describe();
    return check.out.empty() ? json::object() : json::parse(check.out.back());
}

void expect_everything_delivered(process& cotrace, const otlp_receiver& receiver) {
    ASSERT_TRUE(cotrace.status() && cotrace.status()->ok()) << cotrace.describe();
    const session_output out = collect_output(cotrace);
    ASSERT_TRUE(out.jsonl.summary.has_value()) << cotrace.describe();
    const summary_counts jsonl = counts_of(*out.jsonl.summary);
    ASSERT_EQ(jsonl.traces, static_cast<std::uint64_t>(requests));

    const auto received = receiver.requests();
    ASSERT_FALSE(received.empty());
    for (const auto& r : received) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.path, "/v1/traces");
        EXPECT_EQ(r.content_type, "application/json");
    }
    const json counts = decode_with_opentelemetry(received);
    const auto summary = export_summary(cotrace);
    ASSERT_TRUE(summary.has_value()) << cotrace.describe();
    EXPECT_EQ(summary->sent, jsonl.spans) << cotrace.describe();
    EXPECT_EQ(summary->dropped, 0u) << cotrace.describe();
    EXPECT_EQ(summary->requests, received.size());
    EXPECT_EQ(counts.value("spans", 0u), jsonl.spans);
    EXPECT_EQ(counts.value("traces", 0u), jsonl.traces);
    EXPECT_EQ(counts.value("roots", 0u), jsonl.traces);
}

TEST_F(OtlpExport, EverySpanReachesTheCollectorAsOtlpJsonWhileTracing) {
    otlp_receiver receiver([](std::size_t) { return 200; });
    auto cotrace = run_with_endpoint(receiver.endpoint());
    expect_everything_delivered(*cotrace, receiver);
}

TEST_F(OtlpExport, ACollectorAnswering503IsRetriedUntilItTakesTheSpans) {
    otlp_receiver receiver([](std::size_t n) { return n < 3 ? 503 : 200; });
    auto cotrace = run_with_endpoint(receiver.endpoint());
    expect_everything_delivered(*cotrace, receiver);
    EXPECT_GE(receiver.requests().size(), 4u) << "three refusals, then at least one delivery";
}

TEST_F(OtlpExport, ACollectorThatIsGoneCostsOnlyTheSpansWhichAreCounted) {
    auto cotrace = run_with_endpoint("http://127.0.0.1:" + std::to_string(otlp_test::unused_port()));
    ASSERT_TRUE(cotrace->status() && cotrace->status()->ok()) << cotrace->describe();
    const session_output out = collect_output(*cotrace);
    ASSERT_TRUE(out.jsonl.summary.has_value());
    const summary_counts jsonl = counts_of(*out.jsonl.summary);
    EXPECT_EQ(jsonl.traces, static_cast<std::uint64_t>(requests)) << "tracing goes on without the collector";
    EXPECT_EQ(jsonl.incomplete, 0u);
    const auto summary = export_summary(*cotrace);
    ASSERT_TRUE(summary.has_value()) << cotrace->describe();
    EXPECT_EQ(summary->sent, 0u);
    EXPECT_EQ(summary->dropped, jsonl.spans) << cotrace->describe();
}

TEST_F(OtlpExport, ACollectorThatNeverAnswersDoesNotHoldTheSessionOpen) {
    otlp_receiver receiver([](std::size_t) { return 0; });
    const auto start = std::chrono::steady_clock::now();
    auto cotrace = run_with_endpoint(receiver.endpoint());
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(cotrace->status() && cotrace->status()->ok()) << cotrace->describe();
    // The export gives up 5 s after the target's end; nothing else waits on it.
    EXPECT_LT(took, std::chrono::seconds(20)) << cotrace->describe();
    const auto summary = export_summary(*cotrace);
    ASSERT_TRUE(summary.has_value()) << cotrace->describe();
    EXPECT_EQ(summary->sent, 0u);
    EXPECT_GT(summary->dropped, 0u);
}

TEST_F(OtlpExport, AnEndpointThatIsNotAnHttpUrlIsAUsageError) {
    const completed c = run_to_completion({paths::cotrace, "run", "--otlp-endpoint", "localhost:4318", "--",
                                           paths::pipeline, "-n", "1", "-q"});
    EXPECT_EQ(c.status.describe(), "exit status 2") << c.describe();
    ASSERT_EQ(c.err.size(), 1u) << c.describe();
    EXPECT_NE(c.err[0].find("http://"), std::string::npos) << c.err[0];
}

}  // namespace
}  // namespace e2e
