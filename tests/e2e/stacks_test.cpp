// `cotrace stacks -p PID` on a process no tracer was ever attached to
// (workloads/hung_requests.cpp): every hung request's await tree exactly,
// from the runner that owns it down to the gate, with the file:line of each
// co_await; nothing of the requests that finished (frames freed, half of
// their memory reused); and one clear line for a bad pid or no permission.

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Stacks : public test {};

// The line of `file` holding `mark` (a "// stacks: NAME" comment).
std::uint32_t line_of(const std::string& file, const std::string& mark) {
    std::ifstream in(file);
    std::string line;
    for (std::uint32_t n = 1; std::getline(in, line); ++n)
        if (contains(line, mark)) return n;
    throw std::runtime_error("no line with \"" + mark + "\" in " + file);
}

struct expected_lines {
    std::uint32_t gate = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: gate");
    std::uint32_t middle = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: middle");
    std::uint32_t request = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: request");
    std::uint32_t fan_out = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: fan_out");
    std::uint32_t when_all = line_of(paths::when_all_source, "co_await detail::when_all_awaiter{branches}");
};

std::unique_ptr<process> start_hung(long n, bool stepper = false, const std::string& exe = COTRACE_E2E_HUNG_REQUESTS) {
    std::vector<std::string> argv{exe, std::to_string(n)};
    if (stepper) argv.insert(argv.end(), {"200", "step"});
    auto p = process::spawn(argv);
    const std::string ready = "hung_requests pid " + std::to_string(p->pid()) + " ready";
    if (!p->out().wait_for([&](const std::string& l) { return l == ready; }, std::chrono::seconds(120)))
        throw std::runtime_error("hung_requests did not get ready: " + p->describe());
    return p;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A span that waits at `line` of `file_suffix` and has `children` children.
void expect_span(const json& s, const std::string& name, const std::string& file_suffix, std::uint32_t line,
                 std::size_t children) {
    EXPECT_EQ(s.at("name"), name) << s.dump();
    EXPECT_EQ(s.at("state"), "suspended") << s.dump();
    ASSERT_TRUE(s.at("site").is_object()) << s.dump();
    EXPECT_TRUE(ends_with(s.at("site").at("file").get<std::string>(), file_suffix)) << s.dump();
    EXPECT_EQ(s.at("site").at("line"), line) << s.dump();
    EXPECT_TRUE(s.at("suspended_at_least_ns").is_null()) << "no tracer and one scan, no time: " << s.dump();
    EXPECT_EQ(s.at("children").size(), children) << s.dump();
}

// `cotrace stacks --format json` of target, once the target has reused the
// memory of its freed frames for data (or the test proves nothing); null
// after a failure (reported).
json stacks_json(process& target) {
    const auto reused = target.out().wait_for([](const std::string& l) { return starts_with(l, "hung_requests reused "); });
    if (!reused) {
        ADD_FAILURE() << target.describe();
        return nullptr;
    }
    EXPECT_GT(std::stol(reused->substr(std::string("hung_requests reused ").size())), 0) << *reused;
    const completed r =
        run_to_completion({paths::cotrace, "stacks", "-p", std::to_string(target.pid()), "--format", "json"});
    if (!r.status.ok() || r.out.size() != 1) {
        ADD_FAILURE() << r.describe();
        return nullptr;
    }
    EXPECT_EQ(r.out[0].find("finished_"), std::string::npos) << "a freed frame was reported";
    return json::parse(r.out[0]);
}

// The JSON snapshot of a process with n hung requests, checked whole.
void expect_exact_snapshot(long n) {
    auto target = start_hung(n);
    const json snap = stacks_json(*target);
    ASSERT_FALSE(snap.is_null());
    const expected_lines at;
    EXPECT_EQ(snap.at("pid"), target->pid());
    EXPECT_FALSE(snap.at("truncated").get<bool>());
    EXPECT_EQ(snap.at("cycles_cut"), 0);
    EXPECT_TRUE(snap.at("other_coroutines").empty()) << snap.at("other_coroutines").dump();

    const json& requests = snap.at("requests");
    ASSERT_EQ(requests.size(), static_cast<std::size_t>(n + 1));
    long hung = 0, fans = 0;
    for (const json& req : requests) {
        ASSERT_EQ(req.at("spans").size(), 1u) << req.dump();
        // The root: cotrace::spawn's runner, another kind of coroutine.
        const json& runner = req.at("spans")[0];
        EXPECT_EQ(runner.at("name"), "detail::run_detached") << runner.dump();
        EXPECT_EQ(runner.at("state"), "layout unknown") << runner.dump();
        ASSERT_EQ(runner.at("children").size(), 1u) << runner.dump();
        const json& top = runner.at("children")[0];
        if (top.at("name") == "hung_request(int)") {
            ++hung;
            expect_span(top, "hung_request(int)", "hung_requests.cpp", at.request, 1);
            const json& mid = top.at("children")[0];
            expect_span(mid, "middle(int)", "hung_requests.cpp", at.middle, 1);
            expect_span(mid.at("children")[0], "wait_on_gate(int)", "hung_requests.cpp", at.gate, 0);
        } else {
            ++fans;
            expect_span(top, "fan_out()", "hung_requests.cpp", at.fan_out, 1);
            const json& join = top.at("children")[0];
            expect_span(join, "when_all", "when_all.hpp", at.when_all, 2);
            for (const json& branch : join.at("children"))
                expect_span(branch, "wait_on_gate(int)", "hung_requests.cpp", at.gate, 0);
        }
    }
    EXPECT_EQ(hung, n);
    EXPECT_EQ(fans, 1);
    // 4 frames per hung request, 5 for the fan-out: nothing else was found.
    EXPECT_EQ(snap.at("frames"), 4 * n + 5);
    EXPECT_TRUE(target->running()) << "stacks harmed the target: " << target->describe();
}

TEST_F(Stacks, OneHungRequestShowsItsWholeChainWithTheLineOfEachCoAwait) { expect_exact_snapshot(1); }

TEST_F(Stacks, AHundredHungRequestsEachShowTheirExactChain) { expect_exact_snapshot(100); }

// 100k requests as text (the JSON would be ~100 MB): every request block is
// the exact five lines of one hung request, but for the one fan-out.
TEST_F(Stacks, AHundredThousandHungRequestsAreEachShownExactlyOnce) {
    const long n = 100000;
    auto target = start_hung(n);
    const completed r =
        run_to_completion({paths::cotrace, "stacks", "-p", std::to_string(target->pid())}, std::chrono::seconds(120));
    ASSERT_TRUE(r.status.ok()) << r.status.describe();
    const expected_lines at;
    const std::vector<std::string> hung_block{
        "└─ detail::run_detached  layout unknown",
        "   └─ hung_request(int)  suspended at hung_requests.cpp:" + std::to_string(at.request),
        "      └─ middle(int)  suspended at hung_requests.cpp:" + std::to_string(at.middle),
        "         └─ wait_on_gate(int)  suspended at hung_requests.cpp:" + std::to_string(at.gate)};
    ASSERT_FALSE(r.out.empty());
    EXPECT_TRUE(starts_with(r.out[0], "pid " + std::to_string(target->pid()) + ": " + std::to_string(n + 1) +
                                          " requests, " + std::to_string(4 * n + 5) + " coroutine frames"))
        << r.out[0];
    long hung = 0, fans = 0, requests = 0;
    for (std::size_t i = 1; i < r.out.size();) {
        ASSERT_TRUE(starts_with(r.out[i], "request ")) << "line " << i << ": " << r.out[i];
        ++requests;
        std::size_t end = i + 1;
        while (end < r.out.size() && !starts_with(r.out[end], "request ")) ++end;
        const std::vector<std::string> block(r.out.begin() + static_cast<long>(i) + 1,
                                             r.out.begin() + static_cast<long>(end));
        if (block == hung_block)
            ++hung;
        else {
            ++fans;
            ASSERT_EQ(block.size(), 5u) << r.out[i];
            EXPECT_TRUE(contains(block[1], "fan_out()  suspended at hung_requests.cpp:" + std::to_string(at.fan_out)));
            EXPECT_TRUE(contains(block[2], "when_all  suspended at when_all.hpp:" + std::to_string(at.when_all)));
        }
        i = end;
    }
    EXPECT_EQ(requests, n + 1);
    EXPECT_EQ(hung, n);
    EXPECT_EQ(fans, 1);
    EXPECT_TRUE(target->running());
}

// --interval: two scans 3 s apart. Between them the stepper moves from one
// co_await to the other (SIGUSR2 once the first scan is done): it shows
// where it is now with no time; every hung span shows "at least 3 s".
TEST_F(Stacks, WithAnIntervalOnlyFramesAtTheSameCoAwaitInBothScansShowALowerBound) {
    auto target = start_hung(3, true);
    const std::uint32_t step_one = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: step one");
    const std::uint32_t step_two = line_of(COTRACE_E2E_HUNG_REQUESTS_SOURCE, "// stacks: step two");
    auto stacks = process::spawn(
        {paths::cotrace, "stacks", "-p", std::to_string(target->pid()), "--interval", "3s", "--format", "json"});
    ASSERT_TRUE(stacks->err().wait_for([](const std::string& l) { return contains(l, "scanned once"); }))
        << stacks->describe();
    target->signal(SIGUSR2);
    ASSERT_TRUE(target->out().wait_for([](const std::string& l) { return l == "hung_requests stepped"; }))
        << target->describe();
    const auto status = stacks->wait();
    ASSERT_TRUE(status && status->ok()) << stacks->describe();
    ASSERT_TRUE(stacks->out().wait_for([](const std::string& l) { return !l.empty(); }));
    const json snap = json::parse(stacks->out().lines().at(0));
    EXPECT_EQ(snap.at("interval_ns"), 3'000'000'000ull);
    long lower_bounds = 0, steppers = 0;
    std::function<void(const json&)> visit = [&](const json& s) {
        if (s.at("name") == "stepper()") {
            ++steppers;
            EXPECT_EQ(s.at("site").at("line"), step_two) << "moved on from line " << step_one << ": " << s.dump();
            EXPECT_TRUE(s.at("suspended_at_least_ns").is_null()) << "it did not wait there all along: " << s.dump();
        } else if (s.at("state") == "suspended") {
            EXPECT_EQ(s.at("suspended_at_least_ns"), 3'000'000'000ull) << s.dump();
            ++lower_bounds;
        } else {
            EXPECT_TRUE(s.at("suspended_at_least_ns").is_null()) << s.dump();
        }
        for (const json& c : s.at("children")) visit(c);
    };
    for (const json& req : snap.at("requests"))
        for (const json& s : req.at("spans")) visit(s);
    EXPECT_EQ(steppers, 1);
    EXPECT_EQ(lower_bounds, 3 * 3 + 4) << "three hung chains and the fan-out's four spans";
    EXPECT_TRUE(target->running());
}

// Clang keeps no handle to the frame in it and numbers its suspend points
// its own way: its task frames are found through the `__promise` its DWARF
// places, with their exact chains, each at an unknown site (never a wrong one).
TEST_F(Stacks, ClangBuiltTaskFramesShowTheirExactChainsAtUnknownSites) {
    ASSERT_TRUE(std::filesystem::exists(COTRACE_E2E_HUNG_REQUESTS_CLANG))
        << "no clang-built workload: install clang-15 (scripts/install-deps.sh) and reconfigure";
    const long n = 100;
    auto target = start_hung(n, false, COTRACE_E2E_HUNG_REQUESTS_CLANG);
    const json snap = stacks_json(*target);
    ASSERT_FALSE(snap.is_null());
    EXPECT_TRUE(snap.at("other_coroutines").empty()) << snap.at("other_coroutines").dump();
    const auto unknown_site = [](const json& s, const std::string& name, std::size_t children) {
        EXPECT_EQ(s.at("name"), name) << s.dump();
        EXPECT_EQ(s.at("state"), "suspended") << s.dump();
        EXPECT_TRUE(s.at("site").is_null()) << "a Clang frame's site is not known: " << s.dump();
        EXPECT_EQ(s.at("children").size(), children) << s.dump();
    };
    long hung = 0, fans = 0;
    for (const json& req : snap.at("requests")) {
        const json& runner = req.at("spans").at(0);
        EXPECT_EQ(runner.at("name"), "detail::run_detached") << runner.dump();
        ASSERT_EQ(runner.at("children").size(), 1u) << runner.dump();
        const json& top = runner.at("children")[0];
        if (top.at("name") == "hung_request(int)") {
            ++hung;
            unknown_site(top, "hung_request(int)", 1);
            unknown_site(top.at("children")[0], "middle(int)", 1);
            unknown_site(top.at("children")[0].at("children")[0], "wait_on_gate(int)", 0);
        } else {
            ++fans;
            unknown_site(top, "fan_out()", 1);
            unknown_site(top.at("children")[0], "when_all", 2);
            for (const json& b : top.at("children")[0].at("children")) unknown_site(b, "wait_on_gate(int)", 0);
        }
    }
    EXPECT_EQ(hung, n);
    EXPECT_EQ(fans, 1);
    EXPECT_EQ(snap.at("frames"), 4 * n + 5);
    EXPECT_TRUE(target->running());
}

TEST_F(Stacks, APidWithNoProcessFailsWithOneLineNamingIt) {
    const pid_t gone = vacant_pid();
    const completed r = run_to_completion({paths::cotrace, "stacks", "-p", std::to_string(gone)});
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
    ASSERT_EQ(r.err.size(), 1u) << r.describe();
    EXPECT_TRUE(contains(r.err[0], std::to_string(gone))) << r.err[0];
    EXPECT_TRUE(contains(r.err[0], "does not exist")) << r.err[0];
    EXPECT_TRUE(r.out.empty()) << r.describe();
}

TEST_F(Stacks, WithoutPermissionOverTheProcessItFailsWithOneLineNamingTheFix) {
    auto target = start_hung(1);  // runs as root
    // cotrace runs as nobody, from a copy nobody may execute.
    char dir[] = "/tmp/cotrace-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::filesystem::permissions(dir, std::filesystem::perms(0755));
    const std::string copy = std::string(dir) + "/cotrace";
    std::filesystem::copy_file(paths::cotrace, copy);
    const completed r = run_to_completion({paths::setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", copy,
                                           "stacks", "-p", std::to_string(target->pid())});
    std::filesystem::remove_all(dir);
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
    ASSERT_EQ(r.err.size(), 1u) << r.describe();
    EXPECT_TRUE(contains(r.err[0], "run as root")) << r.err[0];
    EXPECT_TRUE(r.out.empty()) << r.describe();
    EXPECT_TRUE(target->running());
}

}  // namespace
}  // namespace e2e
