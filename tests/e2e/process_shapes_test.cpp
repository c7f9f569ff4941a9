// Traces stay right on processes shaped like real software: a server whose
// acceptor thread (plain code) spawns each request onto a pool, attached
// mid-flight or while idle; coroutines in a linked shared library and in a
// plugin loaded with dlopen while traced; a program that exits within a
// millisecond, under CPU contention; a binary deleted while it runs.

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/e2e.hpp"

namespace e2e {
namespace {

const std::string server_path = COTRACE_E2E_SERVER;
const std::string plugin_path = COTRACE_E2E_SERVER_PLUGIN;
const std::string short_lived_path = COTRACE_E2E_SHORT_LIVED;
constexpr std::size_t server_max_in_flight = 4;  // examples/server/server.cpp

class ProcessShapes : public test {};

std::optional<std::int64_t> event_value(const json& span, const std::string& name) {
    for (const json& e : span.at("events"))
        if (e.at("name") == name) return e.at("value").get<std::int64_t>();
    return std::nullopt;
}

struct server_request {
    int id = -1;
    bool enriched = false;  // went through the plugin
};

// A complete trace of the server, checked exactly: handle_request, with
// check_request -> validate_fields (the linked library), and, when the
// plugin was loaded, enrich_request -> lookup_extra (the plugin); the result
// annotation agrees with the spans. Adds failures; returns what it was.
std::optional<server_request> expect_exact_server_trace(const json& t) {
    const std::string what = t.dump().substr(0, 2000);
    const json& spans = t.at("spans");
    std::map<std::string, const json*> by_name;
    std::map<std::string, std::string> name_of_id;
    for (const json& s : spans) {
        const std::string name = s.at("name");
        EXPECT_EQ(by_name.count(name), 0u) << "span " << name << " twice: " << what;
        by_name[name] = &s;
        name_of_id[s.at("span_id")] = name;
        EXPECT_FALSE(s.at("partial").get<bool>()) << what;
        EXPECT_EQ(s.at("status"), "ok") << what;
    }
    const auto parent_name = [&](const std::string& name) -> std::string {
        const json& p = by_name.at(name)->at("parent_id");
        return p.is_null() ? "(root)" : name_of_id[p.get<std::string>()];
    };
    const std::string root = "handle_request(cotrace::thread_pool&, int)";
    const std::map<std::string, std::string> plain{{root, "(root)"},
                                                   {"server::check_request(int)", root},
                                                   {"server::validate_fields(int)", "server::check_request(int)"}};
    std::map<std::string, std::string> expected = plain;
    const bool enriched = by_name.count("enrich_request(int)") > 0;
    if (enriched) {
        expected["enrich_request(int)"] = root;
        expected["lookup_extra(int)"] = "enrich_request(int)";
    }
    EXPECT_EQ(by_name.size(), expected.size()) << what;
    for (const auto& [name, parent] : expected) {
        if (!by_name.count(name)) {
            ADD_FAILURE() << "no span " << name << ": " << what;
            return std::nullopt;
        }
        EXPECT_EQ(parent_name(name), parent) << name << ": " << what;
    }
    const auto id = event_value(*by_name.at(root), "request");
    const auto result = event_value(*by_name.at(root), "result");
    if (!id || !result) {
        ADD_FAILURE() << "the request's annotations are missing: " << what;
        return std::nullopt;
    }
    const std::int64_t checked = *id % 97 + 1;
    EXPECT_EQ(*result, enriched ? checked + *id * 3 + 1 : checked) << what;
    return server_request{static_cast<int>(*id), enriched};
}

std::unique_ptr<process> start_server(const std::vector<std::string>& args) {
    std::vector<std::string> argv{server_path};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = process::spawn(argv);
    const std::string ready = "server pid " + std::to_string(p->pid()) + " ready";
    if (!p->out().wait_for([&](const std::string& l) { return l == ready; }))
        throw std::runtime_error("the server did not print \"" + ready + "\": " + p->describe());
    return p;
}

// The server's own count of what it served ("served N"), after it exited.
int served_by(process& server) {
    EXPECT_TRUE(server.out().wait_closed());
    for (const std::string& l : server.out().lines()) {
        int n = 0;
        if (std::sscanf(l.c_str(), "served %d", &n) == 1) return n;
    }
    ADD_FAILURE() << "the server did not say how many requests it served: " << server.describe();
    return -1;
}

// Stops the server (it finishes what is in flight) and then the session.
session_output stop_server_and_collect(process& server, process& cotrace) {
    server.signal(SIGTERM);
    const auto status = server.wait();
    EXPECT_TRUE(status && status->ok()) << server.describe();
    EXPECT_TRUE(cotrace.wait().has_value()) << "cotrace did not end with its target: " << cotrace.describe();
    return collect_output(cotrace);
}

bool plugin_attached(const std::string& line) {
    return contains(line, "probe links in ") && contains(line, "libserver_plugin.so");
}

TEST_F(ProcessShapes, RunTracesEveryRequestExactlyWithCoroutinesInALinkedLibraryAndInAPluginLoadedMidway) {
    // The traces go to a file: the server's own lines would share cotrace's stdout.
    const std::string traces = std::filesystem::temp_directory_path() / ("cotrace-server-" + std::to_string(getpid()));
    const completed r = run_to_completion({paths::cotrace, "run", "-f", "jsonl", "-o", traces, "--", server_path, "-n",
                                           "40", "--plugin", plugin_path, "--plugin-after", "20", "--interval-us", "100"});
    ASSERT_TRUE(r.status.ok()) << r.describe();
    std::vector<std::string> lines;
    {
        std::ifstream f(traces);
        for (std::string l; std::getline(f, l);) lines.push_back(l);
    }
    std::filesystem::remove(traces);
    const jsonl_output out = parse_jsonl(lines);
    ASSERT_EQ(out.traces.size(), 40u) << r.describe();
    std::set<int> ids;
    for (const json& t : out.traces) {
        ASSERT_TRUE(t.at("complete").get<bool>()) << t.dump();
        const auto request = expect_exact_server_trace(t);
        ASSERT_TRUE(request.has_value());
        ids.insert(request->id);
        // The plugin is loaded before request 20 is accepted: from its first
        // request on, its coroutines are traced.
        if (request->id >= 20) {
            EXPECT_TRUE(request->enriched) << "request " << request->id << ": " << t.dump();
        }
    }
    EXPECT_EQ(ids.size(), 40u);
    ASSERT_TRUE(out.summary.has_value());
    EXPECT_EQ(counts_of(*out.summary).incomplete, 0u);
}

TEST_F(ProcessShapes, RunDetachesAPluginsProbesWhenItIsUnloadedAndKeepsTracingTheRestExactly) {
    const std::string traces = std::filesystem::temp_directory_path() / ("cotrace-unload-" + std::to_string(getpid()));
    const completed r = run_to_completion({paths::cotrace, "-v", "run", "-f", "jsonl", "-o", traces, "--", server_path,
                                           "-n", "60", "--plugin", plugin_path, "--plugin-after", "20",
                                           "--unload-after", "40", "--interval-us", "100"});
    ASSERT_TRUE(r.status.ok()) << r.describe();
    std::vector<std::string> lines;
    {
        std::ifstream f(traces);
        for (std::string l; std::getline(f, l);) lines.push_back(l);
    }
    std::filesystem::remove(traces);
    bool detached = false;
    for (const std::string& l : r.err)
        if (contains(l, "detached the probes of 1 object")) detached = true;
    EXPECT_TRUE(detached) << r.describe();
    const jsonl_output out = parse_jsonl(lines);
    ASSERT_EQ(out.traces.size(), 60u) << r.describe();
    for (const json& t : out.traces) {
        ASSERT_TRUE(t.at("complete").get<bool>()) << t.dump();
        const auto request = expect_exact_server_trace(t);
        ASSERT_TRUE(request.has_value());
        EXPECT_EQ(request->enriched, request->id >= 20 && request->id < 40) << t.dump();
    }
}

TEST_F(ProcessShapes, AttachedToAnIdleServerEveryRequestIsCompleteFromTheFirstAlsoThroughAPluginLoadedWhileTraced) {
    auto server = start_server({"--wait-for-start", "--plugin", plugin_path, "--interval-us", "100"});
    auto cotrace = start_attach(server->pid());
    // Loaded while traced (between two requests: no trace is open then).
    server->signal(SIGUSR2);
    ASSERT_TRUE(server->out().wait_for([](const std::string& l) { return l == "plugin loaded"; }))
        << server->describe();
    // attach never stops the target at the loader's hook: until the plugin's
    // probes are attached a request could run it unseen (and be marked so).
    ASSERT_TRUE(cotrace->err().wait_for(plugin_attached)) << cotrace->describe();
    server->signal(SIGUSR1);
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 60)) << cotrace->describe();
    const session_output out = stop_server_and_collect(*server, *cotrace);
    const int served = served_by(*server);

    std::set<int> ids;
    for (const json& t : out.jsonl.traces) {
        ASSERT_TRUE(t.at("complete").get<bool>()) << "attached before the first request: " << t.dump();
        const auto request = expect_exact_server_trace(t);
        ASSERT_TRUE(request.has_value());
        EXPECT_TRUE(request->enriched) << t.dump();
        ids.insert(request->id);
    }
    EXPECT_EQ(static_cast<int>(ids.size()), served);
    EXPECT_TRUE(ids.count(0)) << "the first request after attaching has no complete trace";
    ASSERT_TRUE(out.jsonl.summary.has_value());
    EXPECT_EQ(counts_of(*out.jsonl.summary).incomplete, 0u);
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);
}

// Every request begun after attach is complete and exact; only the few in
// flight at that moment may be partial (their beginning was not seen).
TEST_F(ProcessShapes, AttachedMidFlightEveryRequestBegunAfterAttachIsCompleteAndOnlyThoseInFlightArePartial) {
    auto server = start_server({"--interval-us", "200"});
    auto cotrace = start_attach(server->pid());
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 200)) << cotrace->describe();
    const session_output out = stop_server_and_collect(*server, *cotrace);
    const int served = served_by(*server);

    std::set<int> complete_ids;
    std::size_t incomplete = 0;
    for (const json& t : out.jsonl.traces) {
        if (!t.at("complete").get<bool>()) {
            ++incomplete;
            continue;
        }
        const auto request = expect_exact_server_trace(t);
        ASSERT_TRUE(request.has_value());
        complete_ids.insert(request->id);
    }
    ASSERT_FALSE(complete_ids.empty());
    EXPECT_LE(incomplete, server_max_in_flight) << "only requests in flight at attach may be partial";
    // From the first complete request on, every one is complete: none begun
    // after attach is partial (the acceptor thread was seen idle at attach).
    const int first = *complete_ids.begin();
    EXPECT_EQ(*complete_ids.rbegin(), served - 1);
    EXPECT_EQ(complete_ids.size(), static_cast<std::size_t>(served - first));
    EXPECT_GT(first, 0) << "attached mid-flight: some requests were served before";
    EXPECT_EQ(counts_of(*out.jsonl.summary).drops, 0u);
}

// A busy loop competing for a CPU until destroyed.
std::unique_ptr<process> busy_loop() {
    return process::spawn({"/bin/sh", "-c", "while :; do :; done"}, {false, false});
}

TEST_F(ProcessShapes, ASubMillisecondProgramUnderRunGetsEveryNameAndSiteEvenWithTheCpusBusy) {
    auto busy_a = busy_loop();
    auto busy_b = busy_loop();
    for (int run = 0; run < 20; ++run) {
        const completed r = run_to_completion({paths::cotrace, "run", "-f", "jsonl", "--", short_lived_path});
        ASSERT_TRUE(r.status.ok()) << "run " << run << ": " << r.describe();
        const jsonl_output out = parse_jsonl(r.out);
        ASSERT_EQ(out.traces.size(), 1u) << "run " << run << ": " << r.describe();
        const json& t = out.traces[0];
        EXPECT_TRUE(t.at("complete").get<bool>()) << t.dump();
        std::set<std::string> names;
        for (const json& s : t.at("spans")) {
            const std::string name = s.at("name");
            names.insert(name);
            EXPECT_FALSE(name.empty() || name == "?" || starts_with(name, "0x"))
                << "run " << run << ": a span named by address, not by its function: " << t.dump();
            for (const json& w : s.at("suspends")) {
                const std::string file = w.at("file");
                EXPECT_TRUE(file.size() > 15 && file.compare(file.size() - 15, 15, "short_lived.cpp") == 0)
                    << "run " << run << ": " << t.dump();
                EXPECT_GT(w.at("line").get<int>(), 0) << "run " << run << ": " << t.dump();
            }
        }
        EXPECT_EQ(names, (std::set<std::string>{"short_request(int)", "first_step(int)", "second_step(int)"}))
            << "run " << run << ": " << t.dump();
    }
}

TEST_F(ProcessShapes, ABinaryDeletedWhileItRunsIsStillTracedThroughItsMapping) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cotrace-deleted-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::filesystem::path copy = dir / "pipeline";
    std::filesystem::copy_file(paths::pipeline, copy, std::filesystem::copy_options::overwrite_existing);
    auto p = process::spawn({copy.string(), "--forever", "-q", "--interval-ms", "5"});
    const std::string ready = "pipeline pid " + std::to_string(p->pid()) + " ready";
    ASSERT_TRUE(p->out().wait_for([&](const std::string& l) { return l == ready; })) << p->describe();
    std::filesystem::remove_all(dir);

    auto cotrace = start_attach(p->pid());
    ASSERT_TRUE(cotrace->out().wait_for_count(complete_trace, 5)) << cotrace->describe();
    cotrace->signal(SIGINT);
    ASSERT_TRUE(cotrace->wait().has_value()) << cotrace->describe();
    const session_output out = collect_output(*cotrace);
    EXPECT_GE(expect_traces_are_right(out.jsonl.traces, p->pid()), 5u);
}

}  // namespace
}  // namespace e2e
