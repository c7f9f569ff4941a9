// Requests that cross processes (examples/rpc_client.cpp → rpc_server.cpp
// over loopback TCP, <cotrace/propagation.hpp>), and tracing several
// processes at once: real processes, real BPF.
//
// The client connects, says it is ready and waits for SIGUSR1, so every
// tracer is attached before its first request; the server answers one
// connection and exits, so each session ends with its target.

#include <signal.h>

#include <map>
#include <regex>
#include <set>

#include "support/e2e.hpp"

namespace e2e {
namespace {

constexpr int requests = 4;
constexpr const char* rpc_client_path = COTRACE_E2E_RPC_CLIENT;
constexpr const char* rpc_server_path = COTRACE_E2E_RPC_SERVER;
constexpr const char* rpc_client_source = COTRACE_E2E_RPC_CLIENT_SOURCE;  // a file that is not ELF

struct otlp_span {
    std::string trace_id, span_id, parent, name, service;
};

// Every span of every ExportTraceServiceRequest line.
std::vector<otlp_span> otlp_spans(const std::vector<std::string>& lines) {
    std::vector<otlp_span> out;
    for (const std::string& line : lines) {
        const json request = json::parse(line);
        for (const json& rs : request.at("resourceSpans")) {
            std::string service;
            for (const json& a : rs.at("resource").at("attributes"))
                if (a.at("key") == "service.name") service = a.at("value").at("stringValue");
            for (const json& ss : rs.at("scopeSpans"))
                for (const json& s : ss.at("spans"))
                    out.push_back({s.at("traceId"), s.at("spanId"), s.at("parentSpanId"), s.at("name"), service});
        }
    }
    return out;
}

struct rpc_pair {
    std::unique_ptr<process> server, client;
};

// A server for one connection and a client for `requests` requests, waiting.
rpc_pair start_rpc_pair() {
    rpc_pair p;
    p.server = process::spawn({rpc_server_path, "--connections", "1"});
    static const std::regex ready(R"(^rpc_server pid \d+ port (\d+) ready$)");
    const auto line = p.server->out().wait_for([](const std::string& l) { return std::regex_match(l, ready); });
    if (!line) throw std::runtime_error("rpc_server did not say it was ready: " + p.server->describe());
    std::smatch m;
    std::regex_match(*line, m, ready);
    p.client = process::spawn({rpc_client_path, "--port", m[1], "--requests", std::to_string(requests), "--wait-signal"});
    if (!p.client->out().wait_for([](const std::string& l) { return contains(l, " ready"); }))
        throw std::runtime_error("rpc_client did not say it was ready: " + p.client->describe());
    return p;
}

std::unique_ptr<process> start_cotrace(const std::vector<std::string>& args, const std::vector<pid_t>& pids) {
    std::vector<std::string> argv{paths::cotrace, "-v", "attach"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto c = process::spawn(argv);
    for (pid_t pid : pids)
        if (!c->err().wait_for([&](const std::string& l) { return is_attached_line(l, pid); }))
            throw std::runtime_error("cotrace did not say it attached to process " + std::to_string(pid) + ": " +
                                     c->describe());
    return c;
}

// The client's headers, one per request, in order.
std::vector<std::string> client_headers(process& client) {
    std::vector<std::string> headers;
    static const std::regex re(R"(^request \d+ traceparent (\S+) result \d+$)");
    for (const std::string& l : client.out().lines()) {
        std::smatch m;
        if (std::regex_match(l, m, re)) headers.push_back(m[1]);
    }
    return headers;
}

void finish(rpc_pair& p, const std::vector<process*>& tracers) {
    p.client->signal(SIGUSR1);
    const auto client = p.client->wait();
    ASSERT_TRUE(client && client->ok()) << p.client->describe();
    const auto server = p.server->wait();
    ASSERT_TRUE(server && server->ok()) << p.server->describe();
    for (process* t : tracers) {
        const auto st = t->wait();  // a session ends with its target(s)
        ASSERT_TRUE(st && st->ok()) << t->describe();
    }
}

// Each request: the client's trace (root client_request, calling span
// call_server) and the server's (root serve_request) share the header's
// trace id, and the server's root's parent is call_server's span id, which is
// the header's span id.
void expect_joined_per_request(const std::vector<otlp_span>& spans, const std::vector<std::string>& headers) {
    ASSERT_EQ(headers.size(), static_cast<std::size_t>(requests));
    std::set<std::string> trace_ids;
    for (const std::string& h : headers) {
        ASSERT_EQ(h.size(), 55u) << h;
        const std::string trace_id = h.substr(3, 32), span_id = h.substr(36, 16);
        trace_ids.insert(trace_id);
        std::map<std::string, otlp_span> by_name;
        std::size_t in_trace = 0;
        for (const otlp_span& s : spans)
            if (s.trace_id == trace_id) {
                ++in_trace;
                by_name[s.name.substr(0, s.name.find('('))] = s;
            }
        EXPECT_EQ(in_trace, 6u) << "client_request, prepare, call_server, serve_request, lookup, render in " << h;
        ASSERT_TRUE(by_name.count("call_server") && by_name.count("serve_request") && by_name.count("client_request"))
            << h;
        EXPECT_EQ(by_name["call_server"].span_id, span_id) << "the header names the calling span";
        EXPECT_EQ(by_name["call_server"].service, "rpc_client");
        EXPECT_EQ(by_name["serve_request"].parent, by_name["call_server"].span_id)
            << "the server's root is a child of the client's calling span";
        EXPECT_EQ(by_name["serve_request"].service, "rpc_server");
        EXPECT_EQ(by_name["client_request"].parent, "") << "the client's root has no parent";
        EXPECT_EQ(by_name["lookup"].parent, by_name["serve_request"].span_id);
    }
    EXPECT_EQ(trace_ids.size(), headers.size()) << "one trace id per request";
}

class cross_process : public test {};

TEST_F(cross_process, two_processes_each_traced_by_its_own_cotrace_export_one_trace_per_request_joined_at_the_calling_span) {
    rpc_pair p = start_rpc_pair();
    auto server_tracer = start_cotrace({"-p", std::to_string(p.server->pid()), "-f", "otlp"}, {p.server->pid()});
    auto client_tracer = start_cotrace({"-p", std::to_string(p.client->pid()), "-f", "otlp"}, {p.client->pid()});
    finish(p, {server_tracer.get(), client_tracer.get()});
    ASSERT_TRUE(server_tracer->out().wait_closed() && client_tracer->out().wait_closed());

    std::vector<otlp_span> spans = otlp_spans(server_tracer->out().lines());
    const std::vector<otlp_span> client_spans = otlp_spans(client_tracer->out().lines());
    EXPECT_EQ(spans.size(), static_cast<std::size_t>(3 * requests)) << server_tracer->describe();
    EXPECT_EQ(client_spans.size(), static_cast<std::size_t>(3 * requests)) << client_tracer->describe();
    spans.insert(spans.end(), client_spans.begin(), client_spans.end());
    expect_joined_per_request(spans, client_headers(*p.client));
}

TEST_F(cross_process, a_client_nobody_traces_sends_no_header_and_the_server_roots_its_own_traces) {
    rpc_pair p = start_rpc_pair();
    auto server_tracer = start_cotrace({"-p", std::to_string(p.server->pid()), "-f", "otlp"}, {p.server->pid()});
    finish(p, {server_tracer.get()});
    ASSERT_TRUE(server_tracer->out().wait_closed());
    for (const std::string& h : client_headers(*p.client)) EXPECT_EQ(h, "-") << "an untraced caller sends no traceparent";
    const std::vector<otlp_span> spans = otlp_spans(server_tracer->out().lines());
    std::set<std::string> trace_ids;
    for (const otlp_span& s : spans) {
        trace_ids.insert(s.trace_id);
        if (s.name.rfind("serve_request", 0) == 0) {
            EXPECT_EQ(s.parent, "") << "a root of its own";
        }
    }
    EXPECT_EQ(spans.size(), static_cast<std::size_t>(3 * requests));
    EXPECT_EQ(trace_ids.size(), static_cast<std::size_t>(requests));
}

TEST_F(cross_process, one_cotrace_attached_to_both_processes_exports_one_trace_per_request_joined_at_the_calling_span) {
    rpc_pair p = start_rpc_pair();
    auto tracer = start_cotrace({"-p", std::to_string(p.server->pid()), "-p", std::to_string(p.client->pid()), "-f",
                                 "otlp"},
                                {p.server->pid(), p.client->pid()});
    finish(p, {tracer.get()});
    ASSERT_TRUE(tracer->out().wait_closed());
    const std::vector<otlp_span> spans = otlp_spans(tracer->out().lines());
    EXPECT_EQ(spans.size(), static_cast<std::size_t>(6 * requests)) << tracer->describe();
    expect_joined_per_request(spans, client_headers(*p.client));
}

TEST_F(cross_process, one_cotrace_attached_to_both_processes_shows_each_server_trace_joined_to_the_clients_calling_span_in_jsonl) {
    rpc_pair p = start_rpc_pair();
    auto tracer = start_cotrace({"-p", std::to_string(p.server->pid()), "-p", std::to_string(p.client->pid()), "-f",
                                 "jsonl"},
                                {p.server->pid(), p.client->pid()});
    finish(p, {tracer.get()});
    const session_output out = collect_output(*tracer);
    std::map<std::string, json> by_id;  // session trace id -> trace
    for (const json& t : out.jsonl.traces) by_id[t.at("trace_id")] = t;
    std::size_t server_traces = 0, client_traces = 0;
    for (const json& t : out.jsonl.traces) {
        EXPECT_TRUE(t.at("complete").get<bool>()) << t.dump();
        if (t.at("pid") == p.client->pid()) {
            ++client_traces;
            continue;
        }
        ASSERT_EQ(t.at("pid"), p.server->pid()) << "traces carry their pid: " << t.dump();
        ++server_traces;
        ASSERT_TRUE(t.contains("joined")) << "the server's trace names the caller's: " << t.dump();
        const json& j = t.at("joined");
        EXPECT_EQ(j.at("pid"), p.client->pid());
        ASSERT_TRUE(by_id.count(j.at("trace_id"))) << "the caller's trace is in the same output: " << t.dump();
        const json& caller = by_id[j.at("trace_id")];
        const json* calling = nullptr;
        for (const json& s : caller.at("spans"))
            if (s.at("span_id") == j.at("span_id")) calling = &s;
        ASSERT_NE(calling, nullptr) << caller.dump();
        EXPECT_EQ(calling->at("name").get<std::string>().rfind("call_server", 0), 0u) << calling->dump();
        EXPECT_EQ(t.at("remote_parent"), calling->at("remote_id")) << "the header's span is the calling span";
        EXPECT_EQ(t.at("w3c_trace_id"), caller.at("w3c_trace_id"));
        EXPECT_EQ(t.at("spans").at(0).at("name").get<std::string>().rfind("serve_request", 0), 0u);
    }
    EXPECT_EQ(server_traces, static_cast<std::size_t>(requests));
    EXPECT_EQ(client_traces, static_cast<std::size_t>(requests));
}

TEST_F(cross_process, attach_binary_traces_a_process_started_after_attaching_from_its_first_request) {
    auto tracer = process::spawn({paths::cotrace, "-v", "attach", "--binary", rpc_server_path, "-f", "jsonl"});
    ASSERT_TRUE(tracer->err().wait_for([](const std::string& l) {
        return starts_with(l, "cotrace: attached ") && contains(l, " probe links to ");
    })) << tracer->describe();
    // Started now, and serving until told to stop: its names are read while it lives.
    auto server = process::spawn({rpc_server_path});
    static const std::regex ready(R"(^rpc_server pid \d+ port (\d+) ready$)");
    const auto line = server->out().wait_for([](const std::string& l) { return std::regex_match(l, ready); });
    ASSERT_TRUE(line) << server->describe();
    std::smatch m;
    std::regex_match(*line, m, ready);
    const completed client = run_to_completion({rpc_client_path, "--port", m[1], "--requests", std::to_string(requests)});
    ASSERT_TRUE(client.status.ok()) << client.describe();
    ASSERT_TRUE(tracer->out().wait_for_count(any_trace, requests)) << tracer->describe();
    tracer->signal(SIGINT);
    const auto st = tracer->wait();
    ASSERT_TRUE(st && st->ok()) << tracer->describe();
    server->signal(SIGTERM);
    server->wait();
    const session_output out = collect_output(*tracer);
    ASSERT_EQ(out.jsonl.traces.size(), static_cast<std::size_t>(requests)) << tracer->describe();
    for (const json& t : out.jsonl.traces) {
        EXPECT_EQ(t.at("pid"), server->pid());
        EXPECT_TRUE(t.at("complete").get<bool>()) << "begun after attach, in a process started after attach: " << t.dump();
        ASSERT_EQ(t.at("spans").size(), 3u) << t.dump();
        EXPECT_EQ(t.at("spans").at(0).at("name"), "serve_request(long)") << t.dump();
    }
}

TEST_F(cross_process, attaching_to_a_missing_pid_among_several_fails_in_one_line_naming_it) {
    const pid_t gone = vacant_pid();
    const completed r = run_to_completion(
        {paths::cotrace, "attach", "-p", std::to_string(getpid()), "-p", std::to_string(gone)});
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
    ASSERT_EQ(r.err.size(), 1u) << r.describe();
    EXPECT_TRUE(contains(r.err[0], "no process with PID " + std::to_string(gone))) << r.err[0];
}

TEST_F(cross_process, attach_binary_of_a_file_that_is_not_elf_fails_in_one_line_naming_it) {
    const completed r = run_to_completion({paths::cotrace, "attach", "--binary", rpc_client_source});
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
    ASSERT_EQ(r.err.size(), 1u) << r.describe();
    EXPECT_TRUE(contains(r.err[0], rpc_client_source)) << r.err[0];
}

}  // namespace
}  // namespace e2e
