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

}  // namespace
}  // namespace e2e
