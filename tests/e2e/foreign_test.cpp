// A coroutine library that is not cotrace's (examples/mini_task.hpp), traced
// through <cotrace/adapter.hpp> alone: under `cotrace run`, every request of
// examples/foreign_tasks.cpp is one complete trace of exactly the structure
// it builds, including the when_all branches started from untraced helper
// coroutines (children of the awaiting span by parent_scope), the spawned
// task, and every wake link.

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/e2e.hpp"

namespace e2e {
namespace {

class Foreign : public test {};

// 1-based line of the first line of examples/foreign_tasks.cpp containing `marker`.
int line_of(const std::string& marker) {
    std::ifstream f(COTRACE_E2E_FOREIGN_TASKS_SOURCE);
    if (!f) throw std::runtime_error(std::string("cannot read ") + COTRACE_E2E_FOREIGN_TASKS_SOURCE);
    std::string line;
    for (int n = 1; std::getline(f, line); ++n)
        if (line.find(marker) != std::string::npos) return n;
    throw std::runtime_error(std::string(COTRACE_E2E_FOREIGN_TASKS_SOURCE) + " has no line with \"" + marker + "\"");
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Everything wrong with one trace, against the structure foreign_tasks.cpp builds:
//   serve ─ gather ─ when_all ─┬ fetch_part ×3        log_total (spawned by serve)
std::vector<std::string> problems_of(const json& t, pid_t pid) {
    std::vector<std::string> bad;
    auto expect = [&](bool ok, const std::string& what) {
        if (!ok) bad.push_back(what);
    };
    const std::string file = "/examples/foreign_tasks.cpp";
    const int sync_wait_line = line_of("// main: sync_wait");
    const int gather_line = line_of("// serve: gather");
    const int when_all_line = line_of("// gather: when_all");
    const int hop_line = line_of("// fetch_part: hop");
    const json main_tid = static_cast<long long>(pid);  // the main thread's tid is the pid

    expect(t.at("complete") == true, "not complete");
    expect(t.at("pid") == static_cast<long long>(pid), "pid " + str(t.at("pid")));
    const json& s = t.at("spans");
    if (s.size() != 6) return {"expected 6 spans, got " + std::to_string(s.size())};
    const std::vector<std::string> names{"serve(mini::pool&, int)",           "gather(mini::pool&, int)",
                                         "fetch_part(mini::pool&, int, int)", "fetch_part(mini::pool&, int, int)",
                                         "fetch_part(mini::pool&, int, int)", "log_total(int, int)"};
    const std::vector<int> parent{-1, 0, 1, 1, 1, 0};
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < s.size(); ++i) index[str(s[i].at("span_id"))] = i;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const json& sp = s[i];
        const std::string who = "span " + std::to_string(i) + " " + str(sp.at("name"));
        expect(sp.at("name") == names[i], who + ": expected " + names[i]);
        expect(sp.at("status") == "ok", who + ": status " + str(sp.at("status")));
        expect(sp.at("partial") == false, who + ": partial");
        expect(sp.at("events").empty(), who + ": events");
        if (parent[i] < 0)
            expect(sp.at("parent_id").is_null(), who + ": has a parent");
        else
            expect(sp.at("parent_id") == s[static_cast<std::size_t>(parent[i])].at("span_id"),
                   who + ": parent " + str(sp.at("parent_id")) + ", expected span " + std::to_string(parent[i]));
    }
    auto site_is = [&](std::size_t i, const std::string& function, int line) {
        const json& site = s[i].at("site");
        expect(site.at("function") == function && site.at("line") == line &&
                   (line == 0 ? site.at("file") == "" : ends_with(str(site.at("file")), file)),
               "span " + std::to_string(i) + ": site " + site.dump());
    };
    auto suspends_at = [&](std::size_t i, std::vector<int> lines) {
        std::vector<int> got;
        for (const json& su : s[i].at("suspends")) {
            got.push_back(su.at("line").get<int>());
            expect(ends_with(str(su.at("file")), file), "span " + std::to_string(i) + ": suspend " + su.dump());
        }
        expect(got == lines, "span " + std::to_string(i) + ": suspends " + s[i].at("suspends").dump());
    };
    site_is(0, "int main(int, char**)", sync_wait_line);
    site_is(1, "mini::task<int> {anonymous}::serve(mini::pool&, int)", gather_line);
    for (std::size_t i : {2u, 3u, 4u, 5u}) site_is(i, "", 0);  // begun by a helper, spawned: no site
    suspends_at(0, {gather_line});
    suspends_at(1, {when_all_line});
    for (std::size_t i : {2u, 3u, 4u}) suspends_at(i, {hop_line});
    suspends_at(5, {});

    // Threads: each branch begins on main and hops to a pool thread; gather
    // and serve run again where the last branch finished: a pool thread, or
    // main when every branch finished before when_all's start loop did.
    for (std::size_t i : {2u, 3u, 4u}) {
        const json& tids = s[i].at("tids");
        expect(tids.size() == 2 && tids[0] == main_tid && tids[1] != main_tid,
               "fetch_part " + std::to_string(i) + ": tids " + tids.dump());
    }
    const json& gather_tids = s[1].at("tids");
    const bool woken_on_pool = gather_tids.size() == 2;
    expect(gather_tids[0] == main_tid && (!woken_on_pool || gather_tids[1] != main_tid),
           "gather: tids " + gather_tids.dump());
    expect(s[0].at("tids") == gather_tids, "serve: tids " + s[0].at("tids").dump() + ", gather's " + gather_tids.dump());
    expect(s[5].at("tids").size() == 1 && s[5].at("tids")[0] != main_tid, "log_total: tids " + s[5].at("tids").dump());

    // Links: a self-wake per hop, spawn + wake of log_total by serve, and a
    // wake of gather by one branch exactly when it resumed on the pool.
    std::multiset<std::string> got, want{"wake 2->2", "wake 3->3", "wake 4->4", "spawn 0->5", "wake 0->5"};
    int branch_wakes = 0;
    for (const json& l : t.at("links")) {
        const auto from = index.find(str(l.at("from"))), to = index.find(str(l.at("to")));
        if (from == index.end() || to == index.end()) {
            bad.push_back("link " + l.dump() + " names a span not in this trace");
            continue;
        }
        if (str(l.at("kind")) == "wake" && to->second == 1 && from->second >= 2 && from->second <= 4) {
            ++branch_wakes;
            continue;
        }
        got.insert(str(l.at("kind")) + " " + std::to_string(from->second) + "->" + std::to_string(to->second));
    }
    expect(got == want, "links " + t.at("links").dump());
    expect(branch_wakes == (woken_on_pool ? 1 : 0),
           std::to_string(branch_wakes) + " wakes of gather by a branch; gather tids " + gather_tids.dump());
    return bad;
}

TEST_F(Foreign, EveryRequestOfALibraryTracedThroughTheAdapterIsOneExactCompleteTrace) {
    constexpr int requests = 40;
    auto cotrace = process::spawn(
        {paths::cotrace, "run", "-f", "jsonl", "--", COTRACE_E2E_FOREIGN_TASKS, "--hold", std::to_string(requests)});
    // The command shares cotrace's stdout.
    const auto ready = cotrace->out().wait_for([](const std::string& l) { return starts_with(l, "foreign_tasks pid "); });
    ASSERT_TRUE(ready) << cotrace->describe();
    int pid = 0;
    ASSERT_EQ(std::sscanf(ready->c_str(), "foreign_tasks pid %d ready", &pid), 1) << *ready;
    ASSERT_TRUE(cotrace->err().wait_for([](const std::string& l) { return l == "foreign_tasks done"; }))
        << cotrace->describe();
    ASSERT_EQ(::kill(pid, SIGUSR1), 0);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << cotrace->describe();
    EXPECT_EQ(st->describe(), "exit status 0") << cotrace->describe();

    const session_output out = collect_output(*cotrace);
    ASSERT_EQ(out.jsonl.traces.size(), static_cast<std::size_t>(requests)) << cotrace->describe();
    int woken_on_pool = 0;
    for (const json& t : out.jsonl.traces) {
        const std::vector<std::string> bad = problems_of(t, pid);
        std::string all;
        for (const auto& b : bad) all += "\n  " + b;
        EXPECT_TRUE(bad.empty()) << "trace " << str(t.at("trace_id")) << ":" << all << "\n" << t.dump();
        if (t.at("spans").size() == 6 && t.at("spans")[1].at("tids").size() == 2) ++woken_on_pool;
    }
    ASSERT_TRUE(out.jsonl.summary.has_value());
    const summary_counts c = counts_of(*out.jsonl.summary);
    EXPECT_EQ(c.traces, static_cast<std::uint64_t>(requests));
    EXPECT_EQ(c.spans, static_cast<std::uint64_t>(requests * 6));
    EXPECT_EQ(c.drops, 0u);
    EXPECT_EQ(c.incomplete, 0u);
    std::printf("%d of %d requests resumed gather on a pool thread (woken by a branch)\n", woken_on_pool, requests);
}

TEST_F(Foreign, AProbeSiteWhoseOperandIsAGlobalInMemoryIsRefusedWithAnErrorNamingItAndTheFix) {
    // foreign_operands: a probe through raw <sys/sdt.h> with sdt.h's default
    // "nor" constraint, given a global and a thread-local.
    auto cotrace = process::spawn({paths::cotrace, "run", "-f", "jsonl", "--", COTRACE_E2E_FOREIGN_OPERANDS});
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << cotrace->describe();
    EXPECT_EQ(st->describe(), "exit status 0") << cotrace->describe();
    EXPECT_TRUE(cotrace->err().wait_closed());
    const std::string err = cotrace->err().text();
    EXPECT_TRUE(contains(err, "cotrace:link site at 0x") && contains(err, "is not traced: its argument 1 `8@") &&
                contains(err, "(%rip)` is a global variable in memory") && contains(err, "<cotrace/adapter.hpp>"))
        << err;
    EXPECT_TRUE(contains(err, "cotrace:event site at 0x") && contains(err, "%fs:") &&
                contains(err, "is a thread-local variable in memory"))
        << err;
    // The other probes of the same program are traced as usual.
    const session_output out = collect_output(*cotrace);
    ASSERT_EQ(out.jsonl.traces.size(), 1u) << cotrace->describe();
    EXPECT_EQ(out.jsonl.traces[0].at("complete"), true);
}

}  // namespace
}  // namespace e2e
