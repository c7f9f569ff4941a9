#include "cotrace_output.hpp"

#include <regex>
#include <set>
#include <utility>

namespace e2e {

namespace {
const std::regex& summary_regex() {
    static const std::regex re(
        R"(^cotrace: (\d+) events, (\d+) traces, (\d+) spans, (\d+) drops, (\d+) incomplete(, \d+ evicted)?$)");
    return re;
}
}  // namespace

std::optional<summary_counts> parse_summary_line(const std::string& line) {
    std::smatch m;
    if (!std::regex_match(line, m, summary_regex())) return std::nullopt;
    summary_counts c;
    c.events = std::stoull(m[1]);
    c.traces = std::stoull(m[2]);
    c.spans = std::stoull(m[3]);
    c.drops = std::stoull(m[4]);
    c.incomplete = std::stoull(m[5]);
    return c;
}

bool is_summary_line(const std::string& line) { return parse_summary_line(line).has_value(); }

bool is_attached_line(const std::string& line, pid_t pid) {
    static const std::regex re(R"(^cotrace: attached (\d+) probe links in process (\d+)$)");
    std::smatch m;
    return std::regex_match(line, m, re) && std::stoull(m[1]) > 0 && std::stoll(m[2]) == pid;
}

bool is_trace_line(const std::string& line) { return line.rfind("{\"type\":\"trace\"", 0) == 0; }

jsonl_output parse_jsonl(const std::vector<std::string>& lines) {
    jsonl_output out;
    for (const std::string& line : lines) {
        if (line.empty() || line[0] != '{') {
            out.other.push_back(line);
            continue;
        }
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("type")) {
            out.bad.push_back(line);
            continue;
        }
        if (j["type"] == "trace") {
            out.traces.push_back(std::move(j));
            out.summary_is_last = false;
        } else if (j["type"] == "summary") {
            out.summary = std::move(j);
            ++out.summaries;
            out.summary_is_last = true;
        } else if (j["type"] == "in_flight") {
            out.in_flight.push_back(std::move(j));
            out.summary_is_last = false;
        } else {
            out.bad.push_back(line);
        }
    }
    return out;
}

summary_counts counts_of(const json& s) {
    summary_counts c;
    c.events = s.at("events").get<std::uint64_t>();
    c.traces = s.at("traces").get<std::uint64_t>();
    c.spans = s.at("spans").get<std::uint64_t>();
    c.drops = s.at("drops").get<std::uint64_t>();
    c.incomplete = s.at("incomplete").get<std::uint64_t>();
    return c;
}

std::vector<std::string> check_summary_matches(const jsonl_output& out) {
    std::vector<std::string> problems;
    if (!out.summary) return {"no summary object in the output"};
    if (out.summaries != 1) problems.push_back(std::to_string(out.summaries) + " summary objects, expected 1");
    if (!out.summary_is_last) problems.push_back("the summary object is not the last object of the output");
    if (!out.bad.empty()) problems.push_back("unparsable output line: " + out.bad.front());
    const summary_counts c = counts_of(*out.summary);
    // A trace emitted in segments is one trace: counted at its final
    // segment, its spans once each (a segment repeats the ancestors it holds).
    std::uint64_t traces = 0, spans = 0, incomplete = 0;
    std::set<std::pair<std::string, std::string>> seen_spans;
    for (const json& t : out.traces) {
        for (const json& s : t.at("spans"))
            if (seen_spans.emplace(t.at("trace_id").get<std::string>(), s.at("span_id").get<std::string>()).second)
                ++spans;
        if (!t.value("final_segment", true)) continue;
        ++traces;
        if (!t.at("complete").get<bool>()) ++incomplete;
    }
    if (c.traces != traces)
        problems.push_back("summary traces " + std::to_string(c.traces) + ", printed " + std::to_string(traces));
    if (c.spans != spans)
        problems.push_back("summary spans " + std::to_string(c.spans) + ", printed " + std::to_string(spans));
    if (c.incomplete != incomplete)
        problems.push_back("summary incomplete " + std::to_string(c.incomplete) + ", printed " +
                           std::to_string(incomplete));
    return problems;
}

}  // namespace e2e
