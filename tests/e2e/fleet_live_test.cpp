// Several processes in one session (`attach -p A -p B`) show what is in
// flight as a session of one does: --stuck shows the hung request of the
// process that hangs, SIGUSR1 shows it on demand, and both targets serve on
// (workloads/hang_gate.cpp, real processes, real BPF).

#include <signal.h>

#include <regex>

#include "support/e2e.hpp"

namespace e2e {
namespace {

constexpr const char* hang_gate = COTRACE_E2E_HANG_GATE;

std::unique_ptr<process> start_hang_gate() {
    auto w = process::spawn({hang_gate});
    if (!w->out().wait_for([](const std::string& l) { return starts_with(l, "hang_gate pid "); }))
        throw std::runtime_error("hang_gate did not start: " + w->describe());
    return w;
}

// Makes the workload hang its next request; returns the line of the co_await
// it hangs in ("hang_gate request K hangs at FILE:LINE").
unsigned hang_one(process& workload) {
    workload.signal(SIGUSR1);
    const auto said = workload.out().wait_for([](const std::string& l) { return contains(l, " hangs at "); });
    if (!said) throw std::runtime_error("hang_gate did not hang a request: " + workload.describe());
    std::smatch m;
    static const std::regex hangs(R"(hangs at .*:(\d+)$)");
    if (!std::regex_search(*said, m, hangs)) throw std::runtime_error("unexpected line: " + *said);
    return static_cast<unsigned>(std::stoul(m[1]));
}

bool is_in_flight_line(const std::string& l) { return starts_with(l, "{\"type\":\"in_flight\""); }

bool waits_at(const json& record, unsigned line) {
    return std::any_of(record.at("waiting").begin(), record.at("waiting").end(),
                       [&](const json& w) { return w.at("line") == line; });
}

class fleet_live : public test {};

TEST_F(fleet_live, AttachTwoPidsStuckShowsTheHungRequestOfTheOneThatHangsAndSigusr1ShowsItAgain) {
    auto a = start_hang_gate();
    auto b = start_hang_gate();
    auto cotrace = process::spawn({paths::cotrace, "-v", "attach", "-p", std::to_string(a->pid()), "-p",
                                   std::to_string(b->pid()), "-f", "jsonl", "--stuck", "500ms"});
    for (pid_t pid : {a->pid(), b->pid()})
        ASSERT_TRUE(cotrace->err().wait_for([&](const std::string& l) { return is_attached_line(l, pid); }))
            << cotrace->describe();
    // Both flow (a request a millisecond each) before one hangs.
    for (pid_t pid : {a->pid(), b->pid()})
        ASSERT_TRUE(cotrace->out().wait_for([&](const std::string& l) {
            return is_trace_line(l) && json::parse(l).at("pid") == pid;
        })) << cotrace->describe();

    const unsigned line = hang_one(*b);
    const auto hung_at = clock::now();
    const auto stuck = cotrace->out().wait_for(is_in_flight_line);
    const auto shown_after = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - hung_at);
    ASSERT_TRUE(stuck.has_value()) << cotrace->describe();
    const json r = json::parse(*stuck);
    EXPECT_EQ(r.at("reason"), "stuck") << r.dump();
    EXPECT_EQ(r.at("pid").get<pid_t>(), b->pid()) << r.dump();
    EXPECT_TRUE(waits_at(r, line)) << "no span waits at line " << line << ": " << r.dump();
    EXPECT_GE(r.at("longest_wait_ns").get<std::uint64_t>(), 500'000'000u) << r.dump();
    EXPECT_GE(shown_after.count(), 400) << "shown before it had waited 500 ms";

    // On demand too, while it still hangs.
    cotrace->signal(SIGUSR1);
    EXPECT_TRUE(cotrace->err().wait_for([](const std::string& l) { return contains(l, " in flight"); }))
        << cotrace->describe();
    const auto requested = cotrace->out().wait_for([&](const std::string& l) {
        if (!is_in_flight_line(l)) return false;
        const json q = json::parse(l);
        return q.at("reason") == "requested" && q.at("pid") == b->pid() && waits_at(q, line);
    });
    EXPECT_TRUE(requested.has_value()) << cotrace->describe();

    // Both served on; the session ends once both have exited.
    for (process* w : {a.get(), b.get()}) {
        EXPECT_TRUE(w->running()) << w->describe();
        w->signal(SIGTERM);
        const auto st = w->wait();
        ASSERT_TRUE(st.has_value()) << w->describe();
        EXPECT_TRUE(st->ok()) << st->describe() << "\n" << w->describe();
    }
    const auto st = cotrace->wait();
    ASSERT_TRUE(st && st->ok()) << cotrace->describe();
    const session_output out = collect_output(*cotrace);
    EXPECT_TRUE(out.jsonl.bad.empty());
    for (const json& q : out.jsonl.in_flight) {
        if (q.at("reason") == "stuck") {
            EXPECT_EQ(q.at("pid").get<pid_t>(), b->pid()) << q.dump();
        }
    }
}

}  // namespace
}  // namespace e2e
