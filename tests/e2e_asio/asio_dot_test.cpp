// --format dot of a long Asio session, traced with real BPF: `cotrace run
// -f dot -o DIR/` on examples/asio_echo serving one session of 20,000
// echoes writes a graph per trace (the session reaches the output in parts
// of 1000 operations), named by the trace ids the recording of the same
// session holds; Graphviz draws every one, and the thousand receives and
// sends of a part are two summary nodes, not a thousand boxes.
//
// It never skips: without root, BPF, uprobes or Graphviz it fails.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "support/cotrace_output.hpp"
#include "support/process.hpp"

namespace e2e_asio {
namespace {

namespace fs = std::filesystem;
using e2e::process;
using json = nlohmann::json;

constexpr std::chrono::milliseconds deadline = std::chrono::seconds{120};

constexpr const char* cotrace_bin = COTRACE_E2E_ASIO_COTRACE;
constexpr const char* asio_echo_bin = COTRACE_E2E_ASIO_ECHO;
constexpr const char* client_bin = COTRACE_E2E_ASIO_ECHO_CLIENT;
constexpr const char* dot_bin = COTRACE_E2E_ASIO_DOT;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_of(const std::string& text, const std::regex& what) {
    return static_cast<std::size_t>(std::distance(
        std::sregex_iterator(text.begin(), text.end(), what), std::sregex_iterator()));
}

struct scratch_dir {
    fs::path path;
    scratch_dir() {
        char templ[] = "/tmp/cotrace_asio_dot_XXXXXX";
        if (mkdtemp(templ)) path = templ;
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

TEST(AsioDot, ALongSessionIntoADirectoryIsAGraphPerTraceThatGraphvizDrawsWithItsRepeatsSummarised) {
    ASSERT_EQ(geteuid(), 0u) << "this test attaches BPF programs to a real process: run it as root";
    scratch_dir tmp;
    ASSERT_FALSE(tmp.path.empty());
    const fs::path dir = tmp.path / "graphs", recording = tmp.path / "session.cotrace";

    const unsigned port = free_port();
    // A ring that holds the session's whole burst (~80k events): what is
    // checked is the graphs, so a slow (sanitized) daemon must lose nothing.
    auto cotrace = process::spawn({cotrace_bin, "run", "-f", "dot", "-o", dir.string() + "/",
                                   "--ring-size", "67108864",
                                   "--save", recording.string(), "--", asio_echo_bin, "--port",
                                   std::to_string(port), "--sessions", "1"});
    ASSERT_TRUE(wait_listening(port, *cotrace, deadline)) << cotrace->describe();
    constexpr long messages = 20'000;
    const e2e::completed client =
        e2e::run_to_completion({client_bin, "--port", std::to_string(port), "--messages",
                                std::to_string(messages), "--timeout-s", "100"},
                               deadline);
    ASSERT_TRUE(client.status.ok()) << client.describe();
    // The server exits after its one session, and cotrace with it.
    const auto st = cotrace->wait(deadline);
    ASSERT_TRUE(st && st->ok()) << cotrace->describe();
    EXPECT_TRUE(cotrace->out().wait_closed(deadline));
    for (const std::string& line : cotrace->out().lines())  // the server's own lines only
        EXPECT_EQ(line.find("digraph"), std::string::npos)
            << "with -o DIR/ no graph goes to stdout";

    // What the graphs must be: the traces of the same session, from its recording.
    const e2e::completed report =
        e2e::run_to_completion({cotrace_bin, "report", recording.string(), "-f", "jsonl"});
    ASSERT_TRUE(report.status.ok()) << report.describe();
    const e2e::jsonl_output traces = e2e::parse_jsonl(report.out);
    ASSERT_TRUE(traces.bad.empty());
    std::set<std::string> want, have;
    std::size_t parts = 0, operations = 0;
    for (const json& t : traces.traces) {
        const std::uint64_t segment = t.value("segment", 0);
        want.insert(t.at("trace_id").get<std::string>() +
                    (segment ? "-segment" + std::to_string(segment) : std::string()) + ".dot");
        if (t.at("spans").at(0).at("name") == "session") {
            ++parts;
            operations += t.at("spans").size() - 1;
        }
    }
    for (const auto& e : fs::directory_iterator(dir)) have.insert(e.path().filename().string());
    EXPECT_EQ(have, want);
    EXPECT_GE(parts, 40u) << "the session in parts of at most 1000 operations";
    EXPECT_EQ(operations, static_cast<std::size_t>(2 * messages + 1));

    // Graphviz draws each one, small: a part's 1000 operations are a
    // summary of the receives and one of the sends.
    const std::regex node("class=\"node\"");
    const std::regex summary_of_receives("(×|&#215;)[0-9]+ socket\\.async_receive<");
    std::size_t summarised = 0, largest = 0;
    for (const std::string& name : have) {
        SCOPED_TRACE(name);
        const fs::path svg = tmp.path / (name + ".svg");
        const e2e::completed drawn =
            e2e::run_to_completion({dot_bin, "-Tsvg", (dir / name).string(), "-o", svg.string()});
        ASSERT_TRUE(drawn.status.ok())
            << "Graphviz (" << dot_bin << ") failed: " << drawn.describe();
        EXPECT_TRUE(drawn.err.empty()) << "Graphviz warned: " << drawn.describe();
        const std::string text = read_file(svg);
        const std::size_t nodes = count_of(text, node);
        EXPECT_GE(nodes, 1u);
        EXPECT_LE(nodes, 500u);
        largest = std::max(largest, nodes);
        summarised += count_of(text, summary_of_receives) > 0 ? 1 : 0;
    }
    EXPECT_GE(summarised, parts - 1) << "a part without its receives summarised";
    EXPECT_LE(largest, 20u) << "nodes in the largest graph";
}

}  // namespace
}  // namespace e2e_asio
