// Asio's own shipped examples (Debian's libasio-doc), built unmodified with
// -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp", traced from
// their start with `cotrace run` and real BPF:
//
// - cpp11/http/server, a handler-style server: N requests on N connections
//   are N complete traces, each an `asio.connection` session with its
//   receive(s) and send(s) as children, linked from the accept that accepted
//   it; every accept is a trace of one span.
// - cpp17/coroutines_ts/echo_server, a coroutine server (port 55555, as
//   shipped): one trace per session, named by the coroutine's function as the
//   example passes it, its co_awaits flat children sited at echo_server.cpp.
//   A client that resets its connection ends the pending receive with status
//   error and the message text.
//
// And long sessions on examples/asio_echo: 200k messages traced from the
// start reach the output in parts while the session is open, and cotrace
// stays under 100 MiB; under --sample 2 each session is whole (every part,
// linked in order) or absent.
//
// These tests never skip: without root, BPF or uprobes they fail.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

using e2e::process;
using json = nlohmann::json;

constexpr std::chrono::milliseconds deadline = std::chrono::seconds{60};

constexpr const char* cotrace_bin = COTRACE_E2E_ASIO_COTRACE;
constexpr const char* http_server_bin = COTRACE_E2E_ASIO_SHIPPED_HTTP_SERVER;
constexpr const char* echo_server_bin = COTRACE_E2E_ASIO_SHIPPED_ECHO_SERVER;
constexpr const char* asio_echo_bin = COTRACE_E2E_ASIO_ECHO;
constexpr const char* client_bin = COTRACE_E2E_ASIO_ECHO_CLIENT;

constexpr unsigned shipped_echo_port = 55555;  // hard-coded in the example

class AsioShipped : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "these tests attach BPF programs to real processes: run them as root";
    }
};

// ---- sockets --------------------------------------------------------------------

int connect_to(unsigned port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// One HTTP/1.0 request on a connection of its own; the whole response.
std::string http_get(unsigned port, const std::string& path) {
    const int fd = connect_to(port);
    if (fd < 0) return "";
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return "";
    }
    std::string response;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    close(fd);
    return response;
}

// ---- cotrace --------------------------------------------------------------------

std::unique_ptr<process> start_run(const std::vector<std::string>& command) {
    std::vector<std::string> argv{cotrace_bin, "run", "-f", "jsonl", "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return process::spawn(argv);
}

// SIGINT: cotrace passes it on to the server (which stops on it) and exits.
e2e::jsonl_output stop(process& cotrace) {
    cotrace.signal(SIGINT);
    const auto st = cotrace.wait(deadline);
    EXPECT_TRUE(st.has_value()) << "cotrace did not exit after SIGINT: " << cotrace.describe();
    EXPECT_TRUE(cotrace.out().wait_closed(deadline)) << cotrace.describe();
    e2e::jsonl_output out = e2e::parse_jsonl(cotrace.out().lines());
    EXPECT_TRUE(out.bad.empty()) << "malformed output: " << out.bad.front();
    EXPECT_TRUE(out.summary.has_value()) << cotrace.describe();
    if (out.summary) {
        EXPECT_EQ(out.summary->at("drops"), 0) << out.summary->dump();
    }
    return out;
}

const json& root_of(const json& t) { return t.at("spans").at(0); }

bool root_named(const std::string& line, const std::string& name) {
    if (!e2e::is_trace_line(line)) return false;
    const json t = json::parse(line, nullptr, false);
    return !t.is_discarded() && root_of(t).at("name") == name && t.at("complete").get<bool>();
}

std::string render(const json& t) {
    std::ostringstream s;
    s << "trace " << t.value("trace_id", "?") << (t.value("complete", false) ? " complete" : " incomplete") << "\n";
    for (const json& sp : t.at("spans")) {
        s << "  " << sp.at("span_id").get<std::string>() << " <- "
          << (sp.at("parent_id").is_null() ? std::string("none") : sp.at("parent_id").get<std::string>()) << "  "
          << sp.at("name").get<std::string>() << "  " << sp.at("status").get<std::string>() << "  "
          << sp.at("site").at("file").get<std::string>() << ":" << sp.at("site").at("line");
        for (const json& e : sp.at("events")) s << "  [" << e.at("name").get<std::string>() << "=" << e.at("value") << "]";
        s << "\n";
    }
    s << "  links " << t.at("links").dump() << "\n";
    return s.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The span ids of the one-span accept traces.
std::set<std::string> accept_spans(const std::vector<json>& traces) {
    std::set<std::string> ids;
    for (const json& t : traces)
        if (t.at("spans").size() == 1 && root_of(t).at("name") == "socket.async_accept")
            ids.insert(root_of(t).at("span_id").get<std::string>());
    return ids;
}

// Every span of t but the root is the root's child (flat), in order of beginning.
void expect_flat(const json& t) {
    const json& spans = t.at("spans");
    for (std::size_t i = 1; i < spans.size(); ++i) {
        EXPECT_EQ(spans[i].at("parent_id"), root_of(t).at("span_id")) << "not flat:\n" << render(t);
        EXPECT_GE(spans[i].at("start_ns").get<std::uint64_t>(), spans[i - 1].at("start_ns").get<std::uint64_t>())
            << render(t);
    }
}

// ---- the HTTP server ------------------------------------------------------------------

TEST_F(AsioShipped, TheHttpServerServesNRequestsOnNConnectionsAsNCompleteConnectionTracesEachLinkedFromItsAccept) {
    char dir_template[] = "/tmp/cotrace-asio-http-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string root = dir_template;
    std::ofstream(root + "/index.html") << "<html>cotrace</html>\n";

    const unsigned port = free_port();
    auto cotrace = start_run({http_server_bin, "127.0.0.1", std::to_string(port), root});
    ASSERT_TRUE(wait_listening(port, *cotrace, deadline)) << cotrace->describe();

    constexpr int requests = 12;
    for (int i = 0; i < requests; ++i) {
        const std::string response = http_get(port, "/index.html");
        ASSERT_TRUE(response.rfind("HTTP/1.0 200 OK", 0) == 0 && e2e::contains(response, "<html>cotrace</html>"))
            << "request " << i << ": " << response;
    }
    EXPECT_TRUE(cotrace->out().wait_for_count(
        [](const std::string& l) { return root_named(l, "asio.connection"); }, requests, deadline))
        << cotrace->describe();
    const e2e::jsonl_output out = stop(*cotrace);

    std::vector<json> connections;
    for (const json& t : out.traces)
        if (root_of(t).at("name") == "asio.connection") connections.push_back(t);
    const std::set<std::string> accepts = accept_spans(out.traces);
    EXPECT_EQ(connections.size(), static_cast<std::size_t>(requests));
    EXPECT_GE(accepts.size(), static_cast<std::size_t>(requests)) << "one trace per accept";
    for (const json& t : connections) {
        EXPECT_TRUE(t.at("complete").get<bool>()) << render(t);
        expect_flat(t);
        int receives = 0, sends = 0;
        for (const json& s : t.at("spans")) {
            EXPECT_EQ(s.at("status"), "ok") << render(t);
            receives += s.at("name") == "socket.async_receive";
            sends += s.at("name") == "socket.async_send";
        }
        EXPECT_GE(receives, 1) << render(t);
        EXPECT_GE(sends, 1) << render(t);
        EXPECT_EQ(receives + sends + 1, static_cast<int>(t.at("spans").size())) << render(t);
        const json& links = t.at("links");
        ASSERT_EQ(links.size(), 1u) << render(t);
        EXPECT_EQ(links[0].at("kind"), "wake") << render(t);
        EXPECT_EQ(links[0].at("to"), root_of(t).at("span_id")) << render(t);
        EXPECT_TRUE(accepts.count(links[0].at("from").get<std::string>())) << "not linked from an accept:\n"
                                                                          << render(t);
    }
    std::remove((root + "/index.html").c_str());
    rmdir(root.c_str());
}

// ---- the coroutine echo server ---------------------------------------------------------

constexpr const char* echo_name = "asio::awaitable<void> echo(asio::ip::tcp::socket)";

TEST_F(AsioShipped, TheCoroutineEchoServerIsOneTracePerSessionNamedByItsFunctionWithFlatSitedChildren) {
    ASSERT_FALSE(listening(shipped_echo_port)) << "port 55555, which the example uses, is taken";
    auto cotrace = start_run({echo_server_bin});
    ASSERT_TRUE(wait_listening(shipped_echo_port, *cotrace, deadline)) << cotrace->describe();

    constexpr int sessions = 3;
    constexpr long messages = 5;
    const e2e::completed client = e2e::run_to_completion(
        {client_bin, "--port", std::to_string(shipped_echo_port), "--connections", std::to_string(sessions),
         "--messages", std::to_string(messages), "--timeout-s", "30"},
        deadline);
    ASSERT_TRUE(client.status.ok()) << client.describe();
    EXPECT_TRUE(cotrace->out().wait_for_count([](const std::string& l) { return root_named(l, echo_name); },
                                              sessions, deadline))
        << cotrace->describe();
    const e2e::jsonl_output out = stop(*cotrace);

    const std::set<std::string> accepts = accept_spans(out.traces);
    int seen = 0;
    for (const json& t : out.traces) {
        if (root_of(t).at("name") != echo_name) continue;
        ++seen;
        EXPECT_TRUE(t.at("complete").get<bool>()) << render(t);
        expect_flat(t);
        const json& spans = t.at("spans");
        ASSERT_EQ(spans.size(), static_cast<std::size_t>(2 * messages + 2)) << render(t);
        std::map<std::string, std::set<long>> lines;  // per operation name
        for (std::size_t i = 1; i < spans.size(); ++i) {
            const json& s = spans[i];
            EXPECT_EQ(s.at("name"), i % 2 == 1 ? "socket.async_receive" : "socket.async_send") << render(t);
            EXPECT_EQ(s.at("status"), "ok") << render(t);
            EXPECT_EQ(s.at("site").at("function"), echo_name) << render(t);
            EXPECT_TRUE(ends_with(s.at("site").at("file").get<std::string>(), "cpp17/coroutines_ts/echo_server.cpp"))
                << render(t);
            lines[s.at("name").get<std::string>()].insert(s.at("site").at("line").get<long>());
        }
        EXPECT_EQ(lines["socket.async_receive"].size(), 1u) << "every receive at one co_await:\n" << render(t);
        EXPECT_EQ(lines["socket.async_send"].size(), 1u) << "every send at one co_await:\n" << render(t);
        EXPECT_NE(lines["socket.async_receive"], lines["socket.async_send"]) << render(t);
        ASSERT_EQ(spans.back().at("events").size(), 1u) << render(t);
        EXPECT_EQ(spans.back().at("events")[0].at("name"), "asio.misc: End of file") << render(t);
        EXPECT_EQ(spans.back().at("events")[0].at("value"), 2) << render(t);
        ASSERT_EQ(t.at("links").size(), 1u) << render(t);
        EXPECT_TRUE(accepts.count(t.at("links")[0].at("from").get<std::string>())) << render(t);
    }
    EXPECT_EQ(seen, sessions);
}

TEST_F(AsioShipped, AConnectionResetByTheClientEndsThePendingReceiveWithStatusErrorAndTheMessageText) {
    ASSERT_FALSE(listening(shipped_echo_port)) << "port 55555, which the example uses, is taken";
    auto cotrace = start_run({echo_server_bin});
    ASSERT_TRUE(wait_listening(shipped_echo_port, *cotrace, deadline)) << cotrace->describe();

    // One echo, so the server's next receive is pending; then a reset
    // (SO_LINGER 0: close sends RST, not FIN).
    const int fd = connect_to(shipped_echo_port);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "ping", 4), 4);
    char buf[4];
    std::size_t got = 0;
    while (got < 4) {
        const ssize_t n = read(fd, buf + got, 4 - got);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    const linger reset{1, 0};
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    close(fd);
    EXPECT_TRUE(cotrace->out().wait_for_count([](const std::string& l) { return root_named(l, echo_name); }, 1,
                                              deadline))
        << cotrace->describe();
    const e2e::jsonl_output out = stop(*cotrace);

    bool found = false;
    for (const json& t : out.traces) {
        if (root_of(t).at("name") != echo_name) continue;
        found = true;
        const json& spans = t.at("spans");
        ASSERT_EQ(spans.size(), 4u) << "receive, send, the receive that was reset:\n" << render(t);
        const json& last = spans.back();
        EXPECT_EQ(last.at("name"), "socket.async_receive") << render(t);
        EXPECT_EQ(last.at("status"), "error") << render(t);
        ASSERT_EQ(last.at("events").size(), 1u) << render(t);
        EXPECT_EQ(last.at("events")[0].at("name"), "asio.system: Connection reset by peer") << render(t);
        EXPECT_EQ(last.at("events")[0].at("value"), ECONNRESET) << render(t);
        EXPECT_EQ(spans[1].at("status"), "ok") << render(t);
        EXPECT_EQ(spans[2].at("status"), "ok") << render(t);
    }
    EXPECT_TRUE(found) << "no session trace";
}

// ---- a long session ----------------------------------------------------------------------

// Peak resident memory of a process, in KiB (VmHWM).
long peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmHWM:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 12, '\n');
    }
    return -1;
}

TEST_F(AsioShipped, ALongSessionTracedFromItsStartReachesTheOutputInPartsWhileOpenAndCotraceStaysUnder100MiB) {
    const unsigned port = free_port();
    auto cotrace = start_run({asio_echo_bin, "--port", std::to_string(port), "--forever"});
    ASSERT_TRUE(wait_listening(port, *cotrace, deadline)) << cotrace->describe();

    constexpr long messages = 200'000, pause_at = 100'000;
    auto client = process::spawn({client_bin, "--port", std::to_string(port), "--messages", std::to_string(messages),
                                  "--pause-after", std::to_string(pause_at), "--timeout-s", "120"});
    ASSERT_TRUE(client->out().wait_for([](const std::string& l) { return l == "asio_echo_client paused"; },
                                       std::chrono::seconds{120}))
        << client->describe();
    // The session is open (its client waits): the parts of its first half are
    // out already, each when its operations were done.
    const auto is_part = [](const std::string& l) { return root_named(l, "session"); };
    EXPECT_TRUE(cotrace->out().wait_for_count(is_part, 190, deadline))
        << "fewer than 190 parts while the session is open: " << cotrace->out().count(is_part);
    EXPECT_TRUE(client->running());

    client->signal(SIGUSR1);
    const auto st = client->wait(std::chrono::seconds{120});
    ASSERT_TRUE(st && st->ok()) << client->describe();
    // The last part ends with the session: 400,001 operations, 1000 a part.
    EXPECT_TRUE(cotrace->out().wait_for_count(is_part, 401, deadline)) << cotrace->out().count(is_part);
    const long peak_kib = peak_rss_kib(cotrace->pid());
    EXPECT_GT(peak_kib, 0);
    EXPECT_LT(peak_kib, 100 * 1024) << "cotrace's peak RSS over the long session, KiB";
    const e2e::jsonl_output out = stop(*cotrace);

    // The parts: each a flat trace of at most 1000 co_awaits, linked from the
    // part before; together every operation of the session, once.
    std::vector<json> parts;
    for (const json& t : out.traces)
        if (root_of(t).at("name") == "session") parts.push_back(t);
    std::size_t operations = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const json& t = parts[i];
        EXPECT_TRUE(t.at("complete").get<bool>()) << render(t);
        EXPECT_LE(t.at("spans").size(), 1001u);
        operations += t.at("spans").size() - 1;
        // A part open longer than the assembler's time bound goes out in
        // segments of the same trace: only its first segment is linked.
        if (i > 0 && t.value("segment", 0) == 0) {
            ASSERT_EQ(t.at("links").size(), 1u);
            EXPECT_NE(t.at("links")[0].at("from"), root_of(t).at("span_id"));
        }
    }
    EXPECT_EQ(operations, static_cast<std::size_t>(2 * messages + 1));
}

// The parts of long sessions under --sample 2. Every part is a trace whose
// root is named "session"; a part that is not its session's first is linked
// from the part before. Grouped by trace (a part may go out in segments),
// then chained by those links: each chain must be one whole session.
TEST_F(AsioShipped, UnderSampleTwoEachLongSessionIsWholeWithEveryPartLinkedInOrderOrAbsent) {
    constexpr int sessions = 6;
    constexpr long messages = 2000;  // 4001 co_awaits: 5 parts of at most 1000
    const unsigned port = free_port();
    // The traces go to a file: the server's own last line goes to stdout as it exits.
    char path_template[] = "/tmp/cotrace-asio-sample-XXXXXX";
    const int fd = mkstemp(path_template);
    ASSERT_GE(fd, 0);
    close(fd);
    const std::string path = path_template;
    auto cotrace = process::spawn({cotrace_bin, "run", "-f", "jsonl", "-o", path, "--sample", "2", "--", asio_echo_bin,
                                   "--port", std::to_string(port), "--sessions", std::to_string(sessions)});
    ASSERT_TRUE(wait_listening(port, *cotrace, deadline)) << cotrace->describe();
    const e2e::completed client = e2e::run_to_completion(
        {client_bin, "--port", std::to_string(port), "--connections", std::to_string(sessions), "--messages",
         std::to_string(messages), "--timeout-s", "120"},
        std::chrono::seconds{120});
    ASSERT_TRUE(client.status.ok()) << client.describe();
    // The server exits once every session has ended, and cotrace with it.
    const auto st = cotrace->wait(deadline);
    ASSERT_TRUE(st && st->ok()) << cotrace->describe();
    std::vector<std::string> lines;
    {
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    std::remove(path.c_str());
    const e2e::jsonl_output out = e2e::parse_jsonl(lines);
    ASSERT_TRUE(out.bad.empty()) << "malformed output: " << out.bad.front().substr(0, 400);
    ASSERT_TRUE(out.summary.has_value()) << cotrace->describe();
    EXPECT_EQ(out.summary->at("drops"), 0) << out.summary->dump();

    struct part {
        std::string root;                  // its root's span id
        std::set<std::string> operations;  // its other spans' ids
        std::vector<std::string> linked_from;
        bool complete = true;
        std::string shown;  // for messages
    };
    std::map<std::string, part> parts;  // by trace id
    for (const json& t : out.traces) {
        if (root_of(t).at("name") != "session") continue;
        part& p = parts[t.at("trace_id").get<std::string>()];
        p.root = root_of(t).at("span_id").get<std::string>();
        for (std::size_t i = 1; i < t.at("spans").size(); ++i)
            p.operations.insert(t.at("spans")[i].at("span_id").get<std::string>());
        for (const json& l : t.at("links"))
            if (l.at("to") == p.root) p.linked_from.push_back(l.at("from").get<std::string>());
        p.complete = p.complete && t.at("complete").get<bool>();
        p.shown += render(t);
    }
    std::map<std::string, std::string> part_by_root, next_of;  // root span id -> trace id; part -> its next
    for (const auto& [id, p] : parts) part_by_root[p.root] = id;
    std::set<std::string> firsts;
    for (const auto& [id, p] : parts) {
        EXPECT_TRUE(p.complete) << p.shown;
        EXPECT_LE(p.linked_from.size(), 1u) << p.shown;
        const auto before = p.linked_from.empty() ? part_by_root.end() : part_by_root.find(p.linked_from[0]);
        if (before == part_by_root.end()) {
            firsts.insert(id);  // linked from an accept (or from nothing kept): a session's first part
            continue;
        }
        EXPECT_TRUE(next_of.emplace(before->second, id).second) << "two parts continue one:\n" << p.shown;
    }
    std::size_t chained = 0;
    for (const std::string& first : firsts) {
        std::size_t operations = 0, count = 0;
        for (std::string id = first; count <= parts.size();) {  // bounded: a cycle would be a bug
            operations += parts.at(id).operations.size();
            ++count;
            const auto next = next_of.find(id);
            if (next == next_of.end()) break;
            id = next->second;
        }
        const std::string shown = "first part " + first;
        chained += count;
        EXPECT_GT(count, 3u) << "a session of " << count << " parts (" << shown << ")";
        EXPECT_EQ(operations, static_cast<std::size_t>(2 * messages + 1))
            << "a session with gaps or stray operations (" << shown << ")";
    }
    EXPECT_EQ(chained, parts.size()) << "parts that belong to no kept session";
    // At least one session of each kind; counted by name, every other one is kept.
    EXPECT_GE(firsts.size(), 1u) << "no session kept";
    EXPECT_LT(firsts.size(), static_cast<std::size_t>(sessions)) << "no session dropped";
    EXPECT_EQ(firsts.size(), static_cast<std::size_t>(sessions / 2));
}

}  // namespace
}  // namespace e2e_asio
