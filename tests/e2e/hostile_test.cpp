// Hostile targets: what a traced process hands the tracer is only input.
// A site struct whose strings are (char*)-1 or the top of the address space,
// names and sites that point nowhere, frames whose first word lies: the
// traces come out with those names unknown, and cotrace (the ASan/UBSan
// build too, when this runs in build-asan) reports nothing. A process that
// maps a 4 GiB sparse file (data, and a page of it executable) is traced
// with cotrace's memory bounded: mapped files are read lazily.

#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Hostile : public test {};

bool sanitizer_report(const std::string& line) {
    return contains(line, "Sanitizer") || contains(line, "runtime error") || contains(line, "bad_alloc");
}

// Starts hostile_target with args, attaches cotrace, lets the target run and
// returns cotrace's output once both have exited.
struct traced_run {
    session_output output;
    std::string describe;
};
// reap_first = false: the target is left a zombie (exited, not yet waited
// for, as a parent busy elsewhere leaves it) until cotrace is done.
traced_run trace_target(const std::vector<std::string>& args, bool reap_first = true) {
    std::vector<std::string> argv{COTRACE_E2E_HOSTILE_TARGET};
    argv.insert(argv.end(), args.begin(), args.end());
    auto target = process::spawn(argv);
    const std::string ready = "hostile_target pid " + std::to_string(target->pid()) + " ready";
    traced_run r;
    if (!target->out().wait_for([&](const std::string& l) { return l == ready; })) {
        ADD_FAILURE() << target->describe();
        return r;
    }
    auto cotrace = start_attach(target->pid());
    target->signal(SIGUSR1);  // the tracer is attached: run the requests
    const auto reap = [&] {
        const auto target_status = target->wait();
        EXPECT_TRUE(target_status && target_status->ok()) << target->describe();
    };
    if (reap_first) {
        reap();
    } else {
        EXPECT_TRUE(target->out().wait_for([](const std::string& l) { return l == "hostile_target done"; }))
            << target->describe();
    }
    r.output = collect_output(*cotrace);
    if (!reap_first) reap();
    const auto status = cotrace->wait();
    EXPECT_TRUE(status && status->ok()) << cotrace->describe();
    for (const std::string& line : cotrace->err().lines()) EXPECT_FALSE(sanitizer_report(line)) << cotrace->describe();
    r.describe = cotrace->describe();
    return r;
}

TEST_F(Hostile, SitesPointingNowhereAreShownAsUnknownAndTheTracerReportsNothing) {
    constexpr int requests = 30;
    const traced_run r = trace_target({"sites", std::to_string(requests)});
    const jsonl_output& out = r.output.jsonl;
    EXPECT_TRUE(out.bad.empty()) << r.describe;
    ASSERT_EQ(out.traces.size(), static_cast<std::size_t>(requests)) << r.describe;
    for (std::size_t i = 0; i < out.traces.size(); ++i) {
        const json& t = out.traces[i];
        // The first may be partial: the thread's state at attach is not known
        // until it is seen outside every span (PROTOCOL.md).
        if (i > 0) {
            EXPECT_TRUE(t["complete"].get<bool>()) << t.dump();
        }
        ASSERT_EQ(t["spans"].size(), 3u) << t.dump();
        const json& root = t["spans"][0];
        // The frame's resume address leads nowhere: the name is the address.
        EXPECT_EQ(root["name"], "0xffffffffffffffff") << t.dump();
        // The site's line is real; its strings are not.
        EXPECT_EQ(root["site"]["line"], 7 + i % 3) << t.dump();
        EXPECT_EQ(root["site"]["file"], "") << t.dump();
        EXPECT_EQ(root["site"]["function"], "") << t.dump();
        ASSERT_EQ(root["events"].size(), 2u) << t.dump();
        for (const json& e : root["events"]) EXPECT_EQ(e["name"], "?") << t.dump();
        ASSERT_EQ(root["suspends"].size(), 1u) << t.dump();
        EXPECT_EQ(root["suspends"][0]["file"], "") << t.dump();
        EXPECT_EQ(t["spans"][1]["parent_id"], root["span_id"]) << t.dump();
        EXPECT_EQ(t["spans"][2]["parent_id"], root["span_id"]) << t.dump();
    }
}

// A process that has exited keeps a maps file, empty, until it is reaped:
// its last events are still named from what it had mapped.
TEST_F(Hostile, ATargetThatExitedButIsNotYetReapedStillHasItsSitesRead) {
    constexpr int requests = 30;
    const traced_run r = trace_target({"sites", std::to_string(requests)}, false);
    ASSERT_EQ(r.output.jsonl.traces.size(), static_cast<std::size_t>(requests)) << r.describe;
    for (std::size_t i = 0; i < r.output.jsonl.traces.size(); ++i)
        EXPECT_EQ(r.output.jsonl.traces[i]["spans"][0]["site"]["line"], 7 + i % 3) << r.output.jsonl.traces[i].dump();
}

// A fresh temporary directory, removed with its contents.
struct temp_dir {
    std::string path;
    temp_dir() {
        char pattern[] = "/tmp/cotrace-e2e-XXXXXX";
        if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST_F(Hostile, AProcessMappingAHugeSparseFileIsTracedWithBoundedTracerMemory) {
    constexpr int requests = 50;
    temp_dir dir;
    const traced_run r = trace_target({"big-map", dir.path, std::to_string(requests)});
    const auto& traces = r.output.jsonl.traces;
    ASSERT_EQ(traces.size(), static_cast<std::size_t>(requests)) << r.describe;
    for (std::size_t i = 0; i < traces.size(); ++i) {
        const json& t = traces[i];
        if (i > 0) {
            EXPECT_TRUE(t["complete"].get<bool>()) << t.dump();  // the first may be partial (see above)
        }
        ASSERT_EQ(t["spans"].size(), 1u) << t.dump();
        EXPECT_EQ(t["spans"][0]["site"]["function"], "handle") << t.dump();
        ASSERT_EQ(t["spans"][0]["events"].size(), 1u) << t.dump();
        EXPECT_EQ(t["spans"][0]["events"][0]["name"], "step") << t.dump();
    }

    // Both children are reaped: the largest peak RSS among them is cotrace's
    // (the target never touches its mapping).
    rusage children{};
    ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &children), 0);
    EXPECT_LT(children.ru_maxrss, 200 * 1024) << "peak RSS of cotrace, KiB";
}

}  // namespace
}  // namespace e2e
