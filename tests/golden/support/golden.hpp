#pragma once
// What the golden tests share: the files under tests/golden, running
// `cotrace` (and Graphviz) as a child process, and reading its JSON lines.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace golden {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The binaries of this build directory, and the source tree's golden files.
inline const std::string cotrace = COTRACE_GOLDEN_COTRACE;
inline const std::string pipeline = COTRACE_GOLDEN_PIPELINE;
inline const std::string dot_program = COTRACE_GOLDEN_DOT;
inline const fs::path golden_dir = COTRACE_GOLDEN_DIR;

// The committed recordings (data/NAME.cotrace) and the formats each is
// compared in (expected/NAME.FORMAT, plus expected/NAME.summary: the line
// cotrace prints on stderr). update.sh writes the same set.
const std::vector<std::string>& recordings();
const std::vector<std::string>& formats();
fs::path recording(const std::string& name);
fs::path expected(const std::string& name, const std::string& ext);

struct outcome {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
    std::string out, err;
    // For failure messages.
    std::string describe() const;
};

// Runs argv[0] (a path) with NO_COLOR=1, stdin /dev/null, stdout and stderr
// captured, and waits for it.
outcome run(const std::vector<std::string>& argv);

// `cotrace ARGS...` (this build's).
outcome cotrace_cmd(std::vector<std::string> args);

// A fresh directory, removed with what it holds.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& bytes);
std::vector<std::string> lines_of(const std::string& text);

// Passes when the files hold the same bytes; otherwise fails with `diff -u`
// (its first lines) and how to regenerate expected files.
testing::AssertionResult same_bytes(const fs::path& expected_file, const fs::path& actual_file);
testing::AssertionResult same_text(const std::string& expected, const std::string& actual,
                                   const std::string& what);

// One trace per line of --format jsonl output.
struct trace_line {
    std::string raw;  // the line, as printed
    json doc;
    std::string id() const { return doc.at("trace_id"); }
    std::uint64_t duration_ns() const {
        return doc.at("end_ns").get<std::uint64_t>() - doc.at("start_ns").get<std::uint64_t>();
    }
    bool complete() const { return doc.at("complete").get<bool>(); }
    bool has_span_matching(const std::string& glob) const;
    // The demo's request id: the value of the "request" annotation
    // (record_metrics, write_audit_record), or -1.
    int request_id() const;
    // Its spans as sorted "parent name > name" strings: the request's shape.
    std::vector<std::string> shape() const;
};
// --format jsonl output: trace lines, then one summary line.
struct jsonl_output {
    std::vector<trace_line> traces;
    std::string summary;  // the summary line, as printed ("" if absent)
    // The output a filter keeping `kept` of these traces must print: their
    // lines in order, then the same summary (it counts what was assembled).
    std::string with_only(const std::vector<trace_line>& kept) const;
};
jsonl_output parse_jsonl(const std::string& text);

// Span ids in jsonl are hexadecimal strings.
std::uint64_t hex_id(const json& v);

}  // namespace golden
