#pragma once
// Reading what cotrace prints: the JSON-lines output (`-f jsonl`, one object
// per line: {"type":"trace",...} as each trace completes, then one
// {"type":"summary",...}), the summary line on stderr, and the -v line that
// says the probes are attached.

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace e2e {

using json = nlohmann::json;

struct summary_counts {
    std::uint64_t events = 0, traces = 0, spans = 0, drops = 0, incomplete = 0;
};

// "cotrace: 858 events, 14 traces, 166 spans, 0 drops, 0 incomplete[, N evicted]"
std::optional<summary_counts> parse_summary_line(const std::string& line);
bool is_summary_line(const std::string& line);

// "cotrace: attached 10 probe links in process 4242" (printed with -v)
bool is_attached_line(const std::string& line, pid_t pid);

// A line of cotrace's stdout that is a trace object (cheap test, for waiting).
bool is_trace_line(const std::string& line);

struct jsonl_output {
    std::vector<json> traces;           // in output order
    std::vector<json> in_flight;        // {"type":"in_flight"} records (--stuck, SIGUSR1), in output order
    std::optional<json> summary;        // the summary object
    bool summary_is_last = false;       // nothing but non-JSON lines after it
    std::size_t summaries = 0;          // how many summary objects there were
    std::vector<std::string> bad;       // lines that start like JSON and do not parse, or unknown types
    std::vector<std::string> other;     // lines that are not JSON (a `run` command's own output)
};
jsonl_output parse_jsonl(const std::vector<std::string>& lines);

// The summary object's counts.
summary_counts counts_of(const json& summary_object);

// Checks the summary object against the traces it follows: traces, spans and
// incomplete must count exactly what was printed. Returns problems (empty: consistent).
std::vector<std::string> check_summary_matches(const jsonl_output& out);

}  // namespace e2e
