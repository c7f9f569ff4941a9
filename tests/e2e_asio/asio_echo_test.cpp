// The Asio integration end to end, with real BPF: `cotrace attach` on
// examples/asio_echo (an unmodified Asio C++20 coroutine echo server built
// with -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp"), driven by
// examples/asio_echo_client with known traffic.
//
// A session of M messages is one trace: the session's coroutine, one span
// for its whole life, with its co_awaited operations as a flat sequence of
// children in order, each with its co_await's site (asio_echo.cpp):
//
//   session                        root; events: socket.close (its socket is destroyed)
//   ├─ socket.async_receive        message 1
//   ├─ socket.async_send           its echo
//   ├─ ...
//   └─ socket.async_receive        end of file: "asio.misc: End of file" = 2
//
// that is 2M + 2 spans, every one ended ok, linked (wake) from the accept
// that accepted the connection. Each accept is a trace of its own; the
// first began before cotrace attached, so that one is partial.
//
// These tests never skip: without root, BPF or uprobes they fail.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/semaphores.hpp"

namespace e2e_asio {
namespace {

// The child processes and the semaphore reader are tests/e2e's.
using e2e::completed;
using e2e::cotrace_notes_of;
using e2e::probe_semaphore;
using e2e::process;
using e2e::run_to_completion;
using e2e::starts_with;
using e2e::target_semaphores;

using json = nlohmann::json;

// How long any single wait here may take before the test fails (it only
// bounds a failure). Passed explicitly: the support's default is longer.
constexpr std::chrono::milliseconds deadline = std::chrono::seconds{30};

constexpr const char* cotrace_bin = COTRACE_E2E_ASIO_COTRACE;
constexpr const char* server_bin = COTRACE_E2E_ASIO_ECHO;                   // traced
constexpr const char* untraced_bin = COTRACE_E2E_ASIO_ECHO_UNTRACED;        // no flag
constexpr const char* compiled_out_bin = COTRACE_E2E_ASIO_ECHO_COMPILED_OUT;  // flag + COTRACE_ENABLED=0
constexpr const char* client_bin = COTRACE_E2E_ASIO_ECHO_CLIENT;

constexpr const char* receive = "socket.async_receive";
constexpr const char* send = "socket.async_send";

class AsioEcho : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "these tests attach BPF programs to real processes: run them as root";
    }
};

// ---- processes ------------------------------------------------------------------

struct echo_server {
    std::unique_ptr<process> proc;
    unsigned port = 0;
};

// Starts a server with --forever and waits for "asio_echo pid N port P ready".
echo_server start_server(const char* path, int threads) {
    echo_server s;
    s.proc = process::spawn({path, "--forever", "--threads", std::to_string(threads)});
    const std::regex ready("^asio_echo pid " + std::to_string(s.proc->pid()) + " port (\\d+) ready$");
    std::smatch m;
    const auto line =
        s.proc->out().wait_for([&](const std::string& l) { return std::regex_match(l, ready); }, deadline);
    if (!line || !std::regex_match(*line, m, ready))
        throw std::runtime_error("the server did not say it was ready: " + s.proc->describe());
    s.port = static_cast<unsigned>(std::stoul(m[1]));
    return s;
}

// Starts `cotrace -v attach -p PID -f jsonl` and waits until it says it attached.
std::unique_ptr<process> start_cotrace(pid_t pid) {
    auto c = process::spawn({cotrace_bin, "-v", "attach", "-p", std::to_string(pid), "-f", "jsonl"});
    const std::regex attached("^cotrace: attached [1-9]\\d* probe links in process " + std::to_string(pid) + "$");
    if (!c->err().wait_for([&](const std::string& l) { return std::regex_match(l, attached); }, deadline))
        throw std::runtime_error("cotrace did not say it attached: " + c->describe());
    return c;
}

std::vector<std::string> client_args(unsigned port, int connections, long messages) {
    return {client_bin, "--port", std::to_string(port), "--connections", std::to_string(connections),
            "--messages", std::to_string(messages), "--timeout-s", "20"};
}

// Runs the client to its end; a failure if any echo was wrong.
void drive(unsigned port, int connections, long messages) {
    const completed r = run_to_completion(client_args(port, connections, messages), deadline);
    ASSERT_TRUE(r.status.ok()) << "asio_echo_client: " << r.describe();
}

// The threads of a process, from /proc/PID/task.
std::set<long> threads_of(pid_t pid) {
    std::set<long> out;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') out.insert(std::stol(e->d_name));
        closedir(d);
    }
    return out;
}

// ---- cotrace's output --------------------------------------------------------------

std::optional<json> trace_of_line(const std::string& line) {
    if (!starts_with(line, "{\"type\":\"trace\"")) return std::nullopt;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

const json& root_of(const json& t) { return t.at("spans").at(0); }

bool is_session(const json& t) { return root_of(t).at("name") == "session"; }

bool is_complete_session_line(const std::string& line) {
    const auto t = trace_of_line(line);
    return t && t->at("complete").get<bool>() && is_session(*t);
}

bool is_partial_rooted_line(const std::string& line) {
    const auto t = trace_of_line(line);
    return t && root_of(*t).at("partial").get<bool>();
}

struct cotrace_output {
    std::vector<json> traces;
    std::optional<json> summary;
    std::vector<std::string> other;  // anything else on stdout
};

// Stops cotrace with SIGINT (expecting exit 0) and parses what it printed.
cotrace_output stop_cotrace(process& c) {
    c.signal(SIGINT);
    const auto st = c.wait(deadline);
    EXPECT_TRUE(st && st->ok()) << "cotrace did not exit 0 after SIGINT: " << c.describe();
    EXPECT_TRUE(c.out().wait_closed(deadline)) << c.describe();
    cotrace_output out;
    for (const std::string& line : c.out().lines()) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            out.other.push_back(line);
        else if (j.value("type", "") == "trace")
            out.traces.push_back(std::move(j));
        else if (j.value("type", "") == "summary")
            out.summary = std::move(j);
        else
            out.other.push_back(line);
    }
    EXPECT_TRUE(out.other.empty()) << "unexpected output line: " << out.other.front();
    EXPECT_TRUE(out.summary.has_value()) << "no summary object: " << c.describe();
    return out;
}

std::string render(const json& t) {
    std::ostringstream s;
    s << "trace " << t.value("trace_id", "?") << (t.value("complete", false) ? " complete" : " incomplete") << "\n";
    for (const json& sp : t.at("spans")) {
        s << "  " << sp.at("span_id").get<std::string>() << " <- "
          << (sp.at("parent_id").is_null() ? std::string("none") : sp.at("parent_id").get<std::string>()) << "  "
          << sp.at("name").get<std::string>() << (sp.at("partial").get<bool>() ? " (partial)" : "") << "  "
          << sp.at("status").get<std::string>() << "  tids " << sp.at("tids").dump();
        for (const json& e : sp.at("events")) s << "  [" << e.at("name").get<std::string>() << "=" << e.at("value") << "]";
        s << "\n";
    }
    return s.str();
}

// ---- the expected shapes --------------------------------------------------------------

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Checks a session trace: its root (named `root_name`, partial or not), then
// children named `names`, each the root's child (flat), in order, ended ok,
// sited at a co_await of session() in asio_echo.cpp (one line for receives,
// another for sends), never run on a thread that is not the server's. The
// last child sees the end of file; the root records the socket's close.
std::vector<std::string> check_flat_session(const json& t, const std::string& root_name, bool partial,
                                            const std::vector<std::string>& names, const std::set<long>& threads) {
    std::vector<std::string> problems;
    const json& spans = t.at("spans");
    if (spans.size() != names.size() + 1) {
        problems.push_back(std::to_string(spans.size()) + " spans, expected " + std::to_string(names.size() + 1));
        return problems;
    }
    const json& root = spans[0];
    if (root.at("name") != root_name) problems.push_back("root named " + root.at("name").dump());
    if (!root.at("parent_id").is_null()) problems.push_back("the root has a parent");
    if (root.at("partial").get<bool>() != partial) problems.push_back(partial ? "root not partial" : "root partial");
    if (root.at("status") != "ok") problems.push_back("root status " + root.at("status").dump());
    for (const json& tid : root.at("tids"))
        if (!threads.count(tid.get<long>())) problems.push_back("root ran on a thread not the server's");
    const json& root_events = root.at("events");
    if (root_events.size() != 1 || root_events[0].at("name") != "socket.close" || root_events[0].at("value") != 0)
        problems.push_back("root: expected the one event socket.close = 0, got " + root_events.dump());
    std::optional<long> receive_line, send_line;
    for (std::size_t i = 1; i < spans.size(); ++i) {
        const json& s = spans[i];
        const std::string at = "span " + std::to_string(i) + " (" + s.at("name").get<std::string>() + "): ";
        if (s.at("name") != names[i - 1]) problems.push_back(at + "expected the name " + names[i - 1]);
        if (s.at("parent_id") != root.at("span_id")) problems.push_back(at + "not a child of the root");
        if (s.at("partial").get<bool>()) problems.push_back(at + "unexpectedly partial");
        if (s.at("status") != "ok") problems.push_back(at + "status " + s.at("status").get<std::string>());
        if (s.at("end_ns").is_null() || s.at("end_ns").get<std::uint64_t>() < s.at("start_ns").get<std::uint64_t>())
            problems.push_back(at + "no end, or an end before its start");
        if (i > 1 && s.at("start_ns").get<std::uint64_t>() < spans[i - 1].at("end_ns").get<std::uint64_t>())
            problems.push_back(at + "begins before the one before it ended");
        for (const json& tid : s.at("tids"))
            if (!threads.count(tid.get<long>())) problems.push_back(at + "ran on a thread not the server's");
        const json& site = s.at("site");
        if (site.at("function") != "session" || !ends_with(site.at("file").get<std::string>(), "asio_echo.cpp") ||
            site.at("line").get<long>() <= 0)
            problems.push_back(at + "expected a site in session() of asio_echo.cpp, got " + site.dump());
        auto& line = s.at("name") == receive ? receive_line : send_line;
        if (!line) line = site.at("line").get<long>();
        if (site.at("line") != *line) problems.push_back(at + "a site on another line than its kind's before");
        const json& events = s.at("events");
        if (i + 1 < spans.size()) {
            if (!events.empty()) problems.push_back(at + "has events " + events.dump());
        } else if (events.size() != 1 || events[0].at("name") != "asio.misc: End of file" || events[0].at("value") != 2) {
            problems.push_back(at + "expected the event \"asio.misc: End of file\" = 2, got " + events.dump());
        }
    }
    if (receive_line && send_line && *receive_line == *send_line) problems.push_back("receive and send share a site");
    return problems;
}

// A receive and a send per message, then the receive that sees the end of file.
std::vector<std::string> session_names(long messages) {
    std::vector<std::string> names;
    for (long m = 0; m < messages; ++m) {
        names.push_back(receive);
        names.push_back(send);
    }
    names.push_back(receive);
    return names;
}

std::vector<std::string> check_session(const json& t, long messages, pid_t pid, const std::set<long>& threads) {
    std::vector<std::string> problems = check_flat_session(t, "session", false, session_names(messages), threads);
    if (!t.at("complete").get<bool>()) problems.push_back("marked incomplete");
    if (t.at("pid").get<long>() != pid) problems.push_back("pid " + t.at("pid").dump());
    const json& links = t.at("links");
    if (links.size() != 1 || links[0].at("kind") != "wake" || links[0].at("to") != root_of(t).at("span_id"))
        problems.push_back("expected one wake link to the root (from its accept), got " + links.dump());
    return problems;
}

bool is_accept(const json& t) {
    const json& spans = t.at("spans");
    return spans.size() == 1 && (spans[0].at("name") == "socket.async_accept" || spans[0].at("partial").get<bool>());
}

// Attach, serve `sessions` concurrent sessions of `messages` each, detach;
// every session must be one exact trace. Returns the session traces.
std::vector<json> trace_sessions(echo_server& server, int sessions, long messages) {
    const pid_t pid = server.proc->pid();
    const target_semaphores semaphores(pid);
    EXPECT_TRUE(semaphores.all_zero()) << "probes attached before cotrace: " << semaphores.describe();

    auto cotrace = start_cotrace(pid);
    EXPECT_TRUE(semaphores.all_nonzero()) << "cotrace said it attached, but not every probe is: "
                                          << semaphores.describe();
    drive(server.port, sessions, messages);
    EXPECT_TRUE(cotrace->out().wait_for_count(is_complete_session_line,
                                              static_cast<std::size_t>(sessions), deadline))
        << "fewer than " << sessions << " complete session traces: " << cotrace->describe();
    const cotrace_output out = stop_cotrace(*cotrace);

    const std::set<long> threads = threads_of(pid);
    std::vector<json> session_traces, accepts;
    for (const json& t : out.traces) {
        if (is_session(t))
            session_traces.push_back(t);
        else if (is_accept(t))
            accepts.push_back(t);
        else
            ADD_FAILURE() << "a trace that is neither a session nor an accept:\n" << render(t);
    }
    EXPECT_EQ(session_traces.size(), static_cast<std::size_t>(sessions)) << "one trace per session expected";
    for (const json& t : session_traces)
        for (const std::string& p : check_session(t, messages, pid, threads))
            ADD_FAILURE() << "session trace: " << p << "\n" << render(t);

    // The listener: one trace per accept. The first began before cotrace
    // attached (partial); one more per connection; the last still waits.
    EXPECT_EQ(accepts.size(), static_cast<std::size_t>(sessions) + 1);
    std::set<std::string> accept_spans;
    for (std::size_t i = 0; i < accepts.size(); ++i) {
        const json& s = root_of(accepts[i]);
        accept_spans.insert(s.at("span_id").get<std::string>());
        const bool first = s.at("partial").get<bool>(), last = s.at("status") == "running";
        EXPECT_EQ(accepts[i].at("complete").get<bool>(), !first && !last) << render(accepts[i]);
        if (!first) {
            EXPECT_EQ(s.at("name"), "socket.async_accept") << render(accepts[i]);
        }
        if (!last) {
            EXPECT_EQ(s.at("status"), "ok") << render(accepts[i]);
        }
    }
    for (const json& t : session_traces)
        EXPECT_TRUE(accept_spans.count(t.at("links").at(0).at("from").get<std::string>()))
            << "a session not linked from an accept:\n" << render(t);

    if (out.summary) {
        EXPECT_EQ(out.summary->at("drops"), 0) << out.summary->dump();
        EXPECT_EQ(out.summary->at("traces"), 2 * sessions + 1) << out.summary->dump();
        EXPECT_EQ(out.summary->at("incomplete"), 2) << out.summary->dump();
        EXPECT_EQ(out.summary->at("spans"), sessions * (2 * messages + 2) + sessions + 1) << out.summary->dump();
    }

    // Detached again: every semaphore back to 0, and the server still serves.
    EXPECT_TRUE(semaphores.wait_all_zero(deadline)) << "probes still attached after cotrace exited: "
                                                    << semaphores.describe();
    EXPECT_TRUE(server.proc->running()) << "the server did not survive cotrace: " << server.proc->describe();
    drive(server.port, 2, 3);
    return session_traces;
}

// ---- tests ------------------------------------------------------------------------------

TEST_F(AsioEcho, EachSessionIsOneCompleteTraceOfItsReceivesAndSendsInOrderThenDetachingLeavesNoProbe) {
    auto server = start_server(server_bin, 1);
    const auto sessions = trace_sessions(server, 3, 4);
    // One io_context thread: the main thread, whose id is the process id.
    // (An operation that completes cleanly runs in its coroutine: no thread
    // of its own.)
    for (const json& t : sessions)
        for (const json& s : t.at("spans"))
            if (!s.at("tids").empty() || s.at("name") == "session") {
                EXPECT_EQ(s.at("tids"), json::array({server.proc->pid()})) << render(t);
            }
}

// Which of the two threads runs a handler is the io_context's choice (under
// light load one thread often runs them all), so the test does not demand
// hops; it demands that every step is recorded on the thread that really ran
// it: one of the server's two io_context threads, one thread per step (a
// handler invocation does not move), and a session's shape unchanged.
// (Thread hops themselves are asserted exactly on the pipeline demo, whose
// thread pool hops by construction: tests/e2e.)
TEST_F(AsioEcho, OnTwoThreadsEverySessionKeepsItsShapeAndEachStepIsRecordedOnTheServerThreadThatRanIt) {
    auto server = start_server(server_bin, 2);
    const std::set<long> threads = threads_of(server.proc->pid());
    ASSERT_EQ(threads.size(), 2u) << "expected the two io_context threads, and no other";
    const auto sessions = trace_sessions(server, 4, 20);

    for (const json& t : sessions) {
        for (const json& s : t.at("spans")) {
            const json& tids = s.at("tids");
            if (s.at("name") == "session") continue;  // the coroutine runs wherever its operations complete
            ASSERT_LE(tids.size(), 1u) << "an operation completes on one thread:\n" << render(t);
            if (tids.empty()) continue;  // a co_await that completed without an error runs in its coroutine
            EXPECT_EQ(threads.count(tids.at(0).get<long>()), 1u)
                << "a step on a thread that is not the server's:\n" << render(t);
        }
    }
}

TEST_F(AsioEcho, SessionsAlreadyOpenWhenCotraceAttachesAreMarkedPartialNotPassedOffAsComplete) {
    auto server = start_server(server_bin, 1);
    const pid_t pid = server.proc->pid();
    const target_semaphores semaphores(pid);

    // Two sessions, each paused after 2 of its 6 echoes: their next receive
    // began before cotrace attached.
    constexpr long messages = 6, before = 2;
    auto args = client_args(server.port, 2, messages);
    args.insert(args.end(), {"--pause-after", std::to_string(before)});
    auto client = process::spawn(args);
    ASSERT_TRUE(client->out().wait_for(
        [](const std::string& l) { return l == "asio_echo_client paused"; }, deadline))
        << client->describe();

    auto cotrace = start_cotrace(pid);
    client->signal(SIGUSR1);
    const auto st = client->wait(deadline);
    ASSERT_TRUE(st && st->ok()) << client->describe();
    EXPECT_TRUE(cotrace->out().wait_for_count(is_partial_rooted_line, 2, deadline)) << cotrace->describe();
    const cotrace_output out = stop_cotrace(*cotrace);

    // The receive in flight (begun before cotrace attached) roots each trace
    // as a partial span, a session of its own from there: the rest of the
    // coroutine's co_awaits are its children, flat and sited, as in a session
    // traced whole. (Had the server not yet begun that receive when cotrace
    // attached, the root would be the completion of the send before it, and
    // that receive its first child.) Nothing is a complete session.
    std::vector<std::string> names;
    for (long m = before; m < messages; ++m) {
        names.push_back(send);
        names.push_back(receive);
    }
    std::vector<std::string> names_from_send{receive};
    names_from_send.insert(names_from_send.end(), names.begin(), names.end());
    const std::set<long> threads{pid};
    EXPECT_EQ(out.traces.size(), 2u);
    for (const json& t : out.traces) {
        EXPECT_FALSE(t.at("complete").get<bool>()) << "a partial trace marked complete:\n" << render(t);
        const auto& expected = t.at("spans").size() == names_from_send.size() + 1 ? names_from_send : names;
        // The partial root is named from what ran on its thread when cotrace
        // attached (the innermost coroutine function on that thread's stack,
        // Asio's own frame here), or "?": its name is not what this checks.
        const std::string root_name = t.at("spans").at(0).at("name").get<std::string>();
        for (const std::string& p : check_flat_session(t, root_name, true, expected, threads))
            ADD_FAILURE() << "mid-flight session: " << p << "\n" << render(t);
    }
    if (out.summary) {
        EXPECT_EQ(out.summary->at("incomplete"), 2) << out.summary->dump();
        EXPECT_EQ(out.summary->at("drops"), 0) << out.summary->dump();
    }
    EXPECT_TRUE(semaphores.wait_all_zero(deadline)) << semaphores.describe();
}

TEST_F(AsioEcho, WithCotraceDisabledTheFlagCompilesToNoProbeAndTheServerServesTheSameTraffic) {
    const auto probes_of = [](const char* path) {
        std::set<std::string> names;
        for (const probe_semaphore& n : cotrace_notes_of(path)) names.insert(n.probe);
        return names;
    };
    EXPECT_EQ(probes_of(server_bin), (std::set<std::string>{"async_begin", "resume", "end", "event", "suspend", "link"}))
        << "the traced server's probes";
    EXPECT_TRUE(probes_of(compiled_out_bin).empty()) << "COTRACE_ENABLED=0 left probes in " << compiled_out_bin;
    EXPECT_TRUE(probes_of(untraced_bin).empty()) << "the build without the flag has probes";

    auto server = start_server(compiled_out_bin, 2);
    drive(server.port, 3, 10);
    const completed attach =
        run_to_completion({cotrace_bin, "attach", "-p", std::to_string(server.proc->pid())}, deadline);
    EXPECT_EQ(attach.status.code, 1) << attach.describe();
    EXPECT_TRUE(!attach.err.empty() && attach.err.front().find("has no cotrace probes") != std::string::npos)
        << attach.describe();
    EXPECT_TRUE(server.proc->running()) << server.proc->describe();
}

}  // namespace
}  // namespace e2e_asio
