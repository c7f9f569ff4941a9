// Bad inputs: each is one line on stderr that names the problem (and the
// fix), a non-zero exit status (1 runtime error, 2 usage error), and nothing
// left attached. And `cotrace probes`, which lists what can be traced.

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "cotrace_probes.h"
#include "support/e2e.hpp"

namespace e2e {
namespace {

class Errors : public test {};

// Copies of programs in a fresh directory every user may enter, removed at the end.
class world_readable_copies {
public:
    explicit world_readable_copies(const std::vector<std::string>& programs) {
        char templ[] = "/tmp/cotrace-e2e-XXXXXX";
        if (!mkdtemp(templ)) throw std::runtime_error("cannot create a directory in /tmp");
        dir_ = templ;
        std::filesystem::permissions(dir_, std::filesystem::perms(0755));
        for (const std::string& p : programs)
            std::filesystem::copy_file(p, dir_ / std::filesystem::path(p).filename());
    }
    ~world_readable_copies() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    std::string path_of(const std::string& program) const {
        return (dir_ / std::filesystem::path(program).filename()).string();
    }

private:
    std::filesystem::path dir_;
};
class Probes : public test {};

// Exactly one non-empty line on stderr.
void expect_one_line(const completed& r) {
    ASSERT_EQ(r.err.size(), 1u) << "expected one line on stderr: " << r.describe();
    EXPECT_FALSE(r.err[0].empty());
}

std::vector<std::string> protocol_probe_names() {
    std::vector<std::string> names;
#define COTRACE_E2E_NAME(name, nargs) names.push_back(#name);
    COTRACE_PROBE_LIST(COTRACE_E2E_NAME)
#undef COTRACE_E2E_NAME
    return names;
}

TEST_F(Errors, AttachingToAProcessThatDoesNotExistFailsNamingThePid) {
    const pid_t gone = vacant_pid();
    const completed r = run_to_completion({paths::cotrace, "attach", "-p", std::to_string(gone)});
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], std::to_string(gone))) << r.err[0];
}

TEST_F(Errors, AttachingToAProcessWithoutProbesFailsAndSaysHowToAddThem) {
    auto untraced = process::spawn({paths::pipeline_untraced, "--forever", "-q"});
    const std::string ready = "pipeline pid " + std::to_string(untraced->pid()) + " ready";
    ASSERT_TRUE(untraced->out().wait_for([&](const std::string& l) { return l == ready; })) << untraced->describe();

    const completed r = run_to_completion({paths::cotrace, "attach", "-p", std::to_string(untraced->pid())});
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], "no cotrace probes")) << r.err[0];
    EXPECT_TRUE(contains(r.err[0], "#include <cotrace/cotrace.hpp>")) << r.err[0];
    EXPECT_TRUE(untraced->running());
}

TEST_F(Errors, AttachWithoutAPidIsAUsageError) {
    const completed r = run_to_completion({paths::cotrace, "attach"});
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
    expect_one_line(r);
}

TEST_F(Errors, AnUnknownFormatIsAUsageErrorAndAttachesNothing) {
    auto pipeline = start_pipeline({"--forever", "-q", "--interval-ms", "5"});
    const target_semaphores semaphores(pipeline->pid());
    const completed r = run_to_completion(
        {paths::cotrace, "attach", "-p", std::to_string(pipeline->pid()), "--format", "bogus"});
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], "bogus")) << r.err[0];
    expect_nothing_left_attached(semaphores, "after a usage error");
    EXPECT_TRUE(pipeline->running());
}

TEST_F(Errors, RunningAMissingCommandFailsWithOneLine) {
    const completed r = run_to_completion({paths::cotrace, "run", "--", "/nonexistent/binary"});
    EXPECT_TRUE(!r.status.exited || r.status.code != 0) << r.describe();
    EXPECT_TRUE(r.status.exited) << "cotrace crashed: " << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], "/nonexistent/binary")) << r.err[0];
}

TEST_F(Errors, WithoutPrivilegeAttachFailsNamingTheCapabilitiesAndAttachesNothing) {
    // Target and tracer both run as nobody: the only thing missing is
    // privilege (CAP_BPF, CAP_PERFMON), not access to the process.
    // Both run from a copy nobody may execute: the checkout may be anywhere
    // (e.g. under a 0700 /root), which must not change the error.
    const world_readable_copies copies({paths::pipeline, paths::cotrace});
    const std::vector<std::string> as_nobody{paths::setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"};
    std::vector<std::string> argv = as_nobody;
    argv.insert(argv.end(), {copies.path_of(paths::pipeline), "--forever", "-q", "--interval-ms", "5"});
    auto pipeline = process::spawn(argv);
    const std::string ready = "pipeline pid " + std::to_string(pipeline->pid()) + " ready";
    ASSERT_TRUE(pipeline->out().wait_for([&](const std::string& l) { return l == ready; })) << pipeline->describe();
    {
        std::ifstream status("/proc/" + std::to_string(pipeline->pid()) + "/status");
        std::string line;
        while (std::getline(status, line))
            if (starts_with(line, "Uid:")) {
                EXPECT_TRUE(contains(line, "65534")) << line;
            }
    }
    const target_semaphores semaphores(pipeline->pid());

    argv = as_nobody;
    argv.insert(argv.end(), {copies.path_of(paths::cotrace), "attach", "-p", std::to_string(pipeline->pid())});
    const completed r = run_to_completion(argv);
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], "privilege")) << r.err[0];
    EXPECT_TRUE(contains(r.err[0], "CAP_BPF")) << r.err[0];
    expect_nothing_left_attached(semaphores, "after a privilege error");
    EXPECT_TRUE(pipeline->running());
}

// "PATH  cotrace:NAME  address 0x...  semaphore 0x..." -> NAME -> semaphores
std::map<std::string, std::set<std::uint64_t>> listed_probes(const std::vector<std::string>& lines) {
    std::map<std::string, std::set<std::uint64_t>> out;
    for (const std::string& l : lines) {
        const auto at = l.find("cotrace:");
        const auto sem = l.find("semaphore 0x");
        if (at == std::string::npos || sem == std::string::npos) continue;
        const std::string name = l.substr(at + 8, l.find(' ', at) - at - 8);
        out[name].insert(std::stoull(l.substr(sem + 10), nullptr, 16));
    }
    return out;
}

// The probes the pipeline fires: every kind of COTRACE_PROBE_LIST a coroutine
// library with scopes, annotations, when_all, spawn and context carrying uses
// (a probe only has a note where some code fires it).
const std::vector<std::string> pipeline_probes{"suspend", "resume",      "end",   "span_begin",      "link",
                                               "scope_begin", "event", "context_capture", "context_enter",
                                               "context_exit"};

TEST_F(Probes, ListsEveryProbeTheExecutableFiresWithItsSemaphore) {
    const completed r = run_to_completion({paths::cotrace, "probes", paths::pipeline});
    ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.describe();
    const auto listed = listed_probes(r.out);
    // The same notes, read by readelf.
    std::map<std::string, std::set<std::uint64_t>> notes;
    for (const probe_semaphore& n : cotrace_notes_of(paths::pipeline)) notes[n.probe].insert(n.address);
    const auto protocol = protocol_probe_names();

    for (const std::string& name : pipeline_probes) {
        SCOPED_TRACE("cotrace:" + name);
        EXPECT_NE(std::find(protocol.begin(), protocol.end(), name), protocol.end()) << "not in COTRACE_PROBE_LIST";
        ASSERT_TRUE(listed.count(name)) << "not listed: " << r.describe();
        EXPECT_FALSE(listed.at(name).count(0)) << "a site without a semaphore";
    }
    for (const auto& [name, semaphores] : listed) {
        SCOPED_TRACE("cotrace:" + name);
        EXPECT_NE(std::find(protocol.begin(), protocol.end(), name), protocol.end()) << "not in COTRACE_PROBE_LIST";
        EXPECT_EQ(semaphores, notes[name]) << "semaphores differ from readelf's";
    }
    EXPECT_EQ(listed.size(), notes.size()) << "readelf sees other probes: " << r.describe();
}

TEST_F(Probes, ListsTheSameProbesForARunningProcess) {
    auto pipeline = start_pipeline({"--forever", "-q", "--interval-ms", "5"});
    const completed by_pid = run_to_completion({paths::cotrace, "probes", "-p", std::to_string(pipeline->pid())});
    const completed by_path = run_to_completion({paths::cotrace, "probes", paths::pipeline});
    ASSERT_TRUE(by_pid.status.exited && by_pid.status.code == 0) << by_pid.describe();
    EXPECT_EQ(listed_probes(by_pid.out), listed_probes(by_path.out));
}

TEST_F(Probes, AnExecutableWithoutProbesFailsWithOneLine) {
    const completed r = run_to_completion({paths::cotrace, "probes", paths::pipeline_untraced});
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
    expect_one_line(r);
    ASSERT_FALSE(r.err.empty());
    EXPECT_TRUE(contains(r.err[0], "no cotrace probes")) << r.err[0];
}

}  // namespace
}  // namespace e2e
