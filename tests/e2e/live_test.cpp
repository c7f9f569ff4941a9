// Requests in flight, live (workloads/hang_gate.cpp): a request that hangs
// forever on a gate while the others flow is shown by --stuck as soon as it
// has waited the threshold, by SIGUSR1 on demand, with the file:line of the
// co_await it hangs in, and the target goes on serving.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "support/e2e.hpp"

namespace e2e {
namespace {

constexpr const char* hang_gate = COTRACE_E2E_HANG_GATE;

// Where the workload says its request hangs: "hang_gate request K hangs at FILE:LINE".
struct hang_site {
    std::string file_base;  // hang_gate.cpp
    std::string file;       // the full path, as the workload was built
    unsigned line = 0;
};

std::unique_ptr<process> start_hang_gate() {
    auto w = process::spawn({hang_gate});
    if (!w->out().wait_for([](const std::string& l) { return starts_with(l, "hang_gate pid "); }))
        throw std::runtime_error("hang_gate did not start: " + w->describe());
    return w;
}

// Makes the workload hang its next request and waits until it hangs.
hang_site hang_one(process& workload, line_stream& where_it_says) {
    workload.signal(SIGUSR1);
    const auto said = where_it_says.wait_for([](const std::string& l) { return contains(l, " hangs at "); });
    if (!said) throw std::runtime_error("hang_gate did not hang a request: " + workload.describe());
    std::smatch m;
    static const std::regex hangs(R"(hangs at (.*/([^/]+)):(\d+)$)");
    if (!std::regex_search(*said, m, hangs)) throw std::runtime_error("unexpected line: " + *said);
    return {m[2], m[1], static_cast<unsigned>(std::stoul(m[3]))};
}

// The target served on and ends cleanly when asked.
void expect_it_served_on(process& workload) {
    EXPECT_TRUE(workload.running()) << "the target stopped while traced: " << workload.describe();
    workload.signal(SIGTERM);
    const auto st = workload.wait();
    ASSERT_TRUE(st.has_value()) << workload.describe();
    EXPECT_TRUE(st->ok()) << st->describe() << "\n" << workload.describe();
    EXPECT_TRUE(workload.out().wait_for([](const std::string& l) { return starts_with(l, "hang_gate served "); }));
}

std::unique_ptr<process> start_cotrace_attach(pid_t pid, const std::vector<std::string>& extra) {
    std::vector<std::string> argv{paths::cotrace, "-v", "attach", "-p", std::to_string(pid)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto c = process::spawn(argv);
    if (!c->err().wait_for([&](const std::string& l) { return is_attached_line(l, pid); }))
        throw std::runtime_error("cotrace did not attach: " + c->describe());
    // Events flow some time after the probes are attached (hundreds of ms on
    // a busy machine): the hang must be seen happening, so wait for them.
    if (!c->err().wait_for([&](const std::string& l) { return contains(l, "cotrace: first event collected "); }))
        throw std::runtime_error("cotrace collected no event: " + c->describe());
    return c;
}

bool is_in_flight_line(const std::string& l) { return starts_with(l, "{\"type\":\"in_flight\""); }

// The in-flight record of the hung request has every documented field, and
// its waiting spans say where it hangs.
void expect_in_flight_record_of_hang(const json& r, pid_t pid, const hang_site& site, const std::string& reason) {
    ASSERT_EQ(r.value("type", ""), "in_flight") << r.dump();
    EXPECT_EQ(r.value("reason", ""), reason) << r.dump();
    EXPECT_TRUE(r.at("trace_id").is_string() && r.at("trace_id").get<std::string>().size() == 16) << r.dump();
    EXPECT_EQ(r.at("pid").get<pid_t>(), pid);
    for (const char* f : {"start_ns", "now_ns", "age_ns", "longest_wait_ns", "segment"})
        EXPECT_TRUE(r.contains(f) && r.at(f).is_number_unsigned()) << f << " in " << r.dump();
    EXPECT_TRUE(r.at("stuck").is_boolean());
    EXPECT_TRUE(r.at("complete").is_boolean());
    EXPECT_GE(r.at("now_ns").get<std::uint64_t>(), r.at("start_ns").get<std::uint64_t>());
    ASSERT_TRUE(r.at("waiting").is_array() && !r.at("waiting").empty()) << r.dump();
    bool at_gate = false;
    for (const json& w : r.at("waiting")) {
        for (const char* f : {"span_id", "name", "function", "file"}) EXPECT_TRUE(w.at(f).is_string()) << f;
        for (const char* f : {"line", "since_ns", "waited_ns"}) EXPECT_TRUE(w.at(f).is_number_unsigned()) << f;
        EXPECT_TRUE(w.contains("awaited"));
        if (w.at("file") == site.file && w.at("line") == site.line) {
            at_gate = true;
            EXPECT_NE(w.at("name").get<std::string>().find("wait_for_gate"), std::string::npos) << w.dump();
            EXPECT_TRUE(w.at("awaited").is_null()) << "the gate is no traced child";
            EXPECT_LE(w.at("waited_ns").get<std::uint64_t>(), r.at("longest_wait_ns").get<std::uint64_t>());
        }
    }
    EXPECT_TRUE(at_gate) << "no span waits at " << site.file << ":" << site.line << ": " << r.dump();
    std::set<std::string> names;
    for (const json& s : r.at("spans")) {
        names.insert(s.at("name").get<std::string>());
        EXPECT_EQ(s.at("status"), "running") << s.dump();
    }
    EXPECT_TRUE(std::any_of(names.begin(), names.end(), [](const std::string& n) { return contains(n, "hung_request"); }))
        << r.dump();
}

class live : public test {};

TEST_F(live, AttachStuckShowsTheHungRequestWithinASecondOfItsThresholdAtItsCoAwaitAndOnlyOnce) {
    auto workload = start_hang_gate();
    auto cotrace = start_cotrace_attach(workload->pid(), {"--stuck", "500ms", "--width", "200"});
    const hang_site site = hang_one(*workload, workload->out());
    const auto hung_at = clock::now();
    const auto stuck = cotrace->out().wait_for([](const std::string& l) { return starts_with(l, "STUCK  trace "); });
    const auto shown_at = clock::now();
    ASSERT_TRUE(stuck.has_value()) << cotrace->describe();
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(shown_at - hung_at);
    EXPECT_GE(after.count(), 400) << "shown before it had waited 500 ms";
    EXPECT_LE(after.count(), 1500) << "not shown within a second of reaching 500 ms";
    const std::string where = " at " + site.file_base + ":" + std::to_string(site.line) + "  in ";
    EXPECT_TRUE(cotrace->out().wait_for([&](const std::string& l) {
        return starts_with(l, "  suspended ") && contains(l, where) && contains(l, "wait_for_gate");
    })) << cotrace->describe();

    // On demand too, while it still hangs; and the target serves on.
    cotrace->signal(SIGUSR1);
    EXPECT_TRUE(cotrace->err().wait_for([](const std::string& l) { return contains(l, " in flight"); }))
        << cotrace->describe();
    EXPECT_TRUE(cotrace->out().wait_for([](const std::string& l) { return starts_with(l, "IN FLIGHT (stuck)  trace "); }))
        << cotrace->describe();
    expect_it_served_on(*workload);
    const auto st = cotrace->wait();
    ASSERT_TRUE(st && st->ok()) << cotrace->describe();
    EXPECT_EQ(cotrace->out().count([](const std::string& l) { return starts_with(l, "STUCK  trace "); }), 1u)
        << "shown more than once in one stuck episode:\n" << cotrace->describe();
}

TEST_F(live, AStuckRequestIsAnInFlightRecordInJsonlWithWhereAndHowLongEachSpanWaits) {
    auto workload = start_hang_gate();
    auto cotrace = start_cotrace_attach(workload->pid(), {"-f", "jsonl", "--stuck", "500ms"});
    const hang_site site = hang_one(*workload, workload->out());
    const auto line = cotrace->out().wait_for(is_in_flight_line);
    ASSERT_TRUE(line.has_value()) << cotrace->describe();
    const json r = json::parse(*line);
    expect_in_flight_record_of_hang(r, workload->pid(), site, "stuck");
    EXPECT_TRUE(r.at("stuck").get<bool>());
    EXPECT_GE(r.at("longest_wait_ns").get<std::uint64_t>(), 500'000'000u);
    EXPECT_LT(r.at("longest_wait_ns").get<std::uint64_t>(), 1'500'000'000u);

    expect_it_served_on(*workload);
    const session_output out = collect_output(*cotrace);
    EXPECT_TRUE(out.jsonl.bad.empty());
    EXPECT_EQ(out.jsonl.in_flight.size(), 1u) << "one record per stuck episode";
    // At the end of the session it is still open: emitted, incomplete, as ever.
    EXPECT_TRUE(std::any_of(out.jsonl.traces.begin(), out.jsonl.traces.end(), [&](const json& t) {
        return t.at("trace_id") == r.at("trace_id") && !t.at("complete").get<bool>();
    }));
}

TEST_F(live, Sigusr1ShowsEveryRequestInFlightNowWithoutStuckAndTheTargetServesOn) {
    auto workload = start_hang_gate();
    auto cotrace = start_cotrace_attach(workload->pid(), {"-f", "jsonl"});
    const hang_site site = hang_one(*workload, workload->out());
    cotrace->signal(SIGUSR1);
    const auto count = cotrace->err().wait_for([](const std::string& l) { return contains(l, " in flight"); });
    ASSERT_TRUE(count.has_value()) << cotrace->describe();
    EXPECT_FALSE(contains(*count, "cotrace: 0 requests")) << *count;
    // The records it counts are on stdout (another pipe: read by its own thread).
    const auto record = cotrace->out().wait_for([&](const std::string& l) {
        if (!is_in_flight_line(l)) return false;
        const json r = json::parse(l);
        return std::any_of(r.at("waiting").begin(), r.at("waiting").end(),
                           [&](const json& w) { return w.at("line") == site.line; });
    });
    ASSERT_TRUE(record.has_value()) << cotrace->describe();
    const std::optional<json> hung = json::parse(*record);
    expect_in_flight_record_of_hang(*hung, workload->pid(), site, "requested");
    EXPECT_FALSE(hung->at("stuck").get<bool>()) << "no --stuck: nothing is called stuck";
    expect_it_served_on(*workload);
    EXPECT_TRUE(cotrace->wait().has_value());
}

TEST_F(live, RunStuckShowsTheHungRequestOfItsChild) {
    auto cotrace = process::spawn({paths::cotrace, "run", "-f", "jsonl", "--stuck", "300ms", "--", hang_gate});
    const auto ready = cotrace->out().wait_for([](const std::string& l) { return starts_with(l, "hang_gate pid "); });
    ASSERT_TRUE(ready.has_value()) << cotrace->describe();
    const pid_t child = static_cast<pid_t>(std::stol(ready->substr(std::string("hang_gate pid ").size())));
    ASSERT_EQ(kill(child, SIGUSR1), 0);
    const auto said = cotrace->out().wait_for([](const std::string& l) { return contains(l, " hangs at "); });
    ASSERT_TRUE(said.has_value()) << cotrace->describe();
    const unsigned line = static_cast<unsigned>(std::stoul(said->substr(said->rfind(':') + 1)));
    const auto record = cotrace->out().wait_for(is_in_flight_line);
    ASSERT_TRUE(record.has_value()) << cotrace->describe();
    const json r = json::parse(*record);
    EXPECT_TRUE(std::any_of(r.at("waiting").begin(), r.at("waiting").end(),
                            [&](const json& w) { return w.at("line") == line; }))
        << r.dump();
    EXPECT_GE(r.at("longest_wait_ns").get<std::uint64_t>(), 300'000'000u);
    cotrace->signal(SIGTERM);  // forwarded to the child, which ends cleanly
    const auto st = cotrace->wait();
    ASSERT_TRUE(st.has_value()) << cotrace->describe();
    EXPECT_TRUE(st->ok()) << st->describe() << "\n" << cotrace->describe();
}

// A tmux server of the test's own, on a private socket, killed at the end.
class tmux_server {
public:
    tmux_server() : socket_("cotrace-live-" + std::to_string(getpid())) {}
    ~tmux_server() { (void)run_to_completion({tmux, "-L", socket_, "kill-server"}); }
    completed command(std::vector<std::string> args) const {
        args.insert(args.begin(), {tmux, "-L", socket_});
        return run_to_completion(args);
    }
    // The pane's screen now, one string per row.
    std::vector<std::string> screen() const { return command({"capture-pane", "-p", "-t", "top"}).out; }
    // Waits until the screen satisfies `ok`: the condition is on what the
    // pane shows (tmux has no event for "the screen changed").
    std::optional<std::vector<std::string>> wait_for_screen(
        const std::function<bool(const std::vector<std::string>&)>& ok) const {
        for (const auto until = clock::now() + deadline; clock::now() < until;) {
            auto rows = screen();
            if (ok(rows)) return rows;
            std::this_thread::sleep_for(50ms);  // the pace of looking, not a wait for anything
        }
        return std::nullopt;
    }

    static constexpr const char* tmux = COTRACE_E2E_TMUX;

private:
    std::string socket_;
};

TEST_F(live, TopInTmuxShowsTheHungRequestAsTheOldestWhereItWaitsAndQQuits) {
    auto workload = start_hang_gate();
    tmux_server tmux;
    const std::string done = "cotrace-top-done-" + std::to_string(getpid());
    // After top exits, the pane signals `done` (tmux wait-for), with top's status.
    const std::string shell = std::string(paths::cotrace) + " top -p " + std::to_string(workload->pid()) +
                              "; tmux -L cotrace-live-" + std::to_string(getpid()) +
                              " wait-for -S " + done;
    const completed started =
        tmux.command({"new-session", "-d", "-s", "top", "-x", "80", "-y", "24", "sh", "-c", shell});
    ASSERT_TRUE(started.status.ok()) << started.describe();

    // Its first screen is drawn once it has attached; then the request hangs.
    const auto attached = tmux.wait_for_screen([&](const std::vector<std::string>& r) {
        return !r.empty() && starts_with(r.front(), "cotrace top  pid ");
    });
    ASSERT_TRUE(attached.has_value()) << "top did not start";
    const hang_site site = hang_one(*workload, workload->out());
    const std::string where = "at " + site.file_base + ":" + std::to_string(site.line);
    const auto rows = tmux.wait_for_screen([&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i + 1 < r.size(); ++i)
            if (starts_with(r[i], "OLDEST IN FLIGHT")) return contains(r[i + 1], where);
        return false;
    });
    std::string shown;
    for (const std::string& r : tmux.screen()) shown += r + "\n";
    ASSERT_TRUE(rows.has_value()) << "the hung request is not the oldest in flight:\n" << shown;
    ASSERT_FALSE(rows->empty());
    EXPECT_TRUE(starts_with(rows->front(), "cotrace top  pid " + std::to_string(workload->pid())))
        << "the head scrolled off an 80x24 screen:\n" << shown;
    EXPECT_LE(rows->size(), 24u);
    bool table = false;
    for (const std::string& r : *rows) {
        // Columns: one per UTF-8 code point (the names are shortened with "…").
        EXPECT_LE(std::count_if(r.begin(), r.end(), [](char c) { return (c & 0xC0) != 0x80; }), 80) << r;
        table |= starts_with(r, "FUNCTION") && contains(r, "START/s") && contains(r, "P99") && contains(r, "ERRORS");
    }
    EXPECT_TRUE(table) << shown;
    EXPECT_TRUE(std::any_of(rows->begin(), rows->end(), [](const std::string& r) {
        return starts_with(r, "handle_request") && !contains(r, "  0.0 ");
    })) << "the flowing requests are counted:\n" << shown;

    const completed q = tmux.command({"send-keys", "-t", "top", "q"});
    ASSERT_TRUE(q.status.ok()) << q.describe();
    const completed ended = tmux.command({"wait-for", done});  // returns once top has exited
    EXPECT_TRUE(ended.status.ok()) << ended.describe();
    expect_it_served_on(*workload);
}

// A FIFO in a directory of its own, read by a line_stream; held open for
// writing too, so its stream sees no end between writers.
class fifo_lines {
public:
    explicit fifo_lines(const std::string& name) {
        char dir[] = "/tmp/cotrace-e2e-XXXXXX";
        if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
        dir_ = dir;
        path_ = dir_ + "/" + name;
        if (mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
        const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("cannot open " + path_);
        lines_.start(fd);
    }
    ~fifo_lines() { std::filesystem::remove_all(dir_); }
    const std::string& path() const { return path_; }
    line_stream& lines() { return lines_; }

private:
    std::string dir_, path_;
    line_stream lines_;
};

pid_t parent_of(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = all.rfind(')');  // "pid (comm) state ppid ..."
    if (close == std::string::npos) return -1;
    std::istringstream rest(all.substr(close + 1));
    std::string state;
    pid_t ppid = -1;
    rest >> state >> ppid;
    return ppid;
}

// `run` leaves stdin to CMD. When CMD's stdin is not the terminal, the `s`
// key is read from the controlling terminal (the tmux pane) and shows every
// request in flight, while the child runs on.
TEST_F(live, RunShowsRequestsInFlightOnTheSKeyFromTheTerminalWhenCmdsStdinIsNotIt) {
    tmux_server tmux;
    fifo_lines out("out"), err("err");
    const std::string done = "cotrace-run-done-" + std::to_string(getpid());
    const std::string shell = std::string(paths::cotrace) + " run -f tree -- " + hang_gate + " < /dev/null > " +
                              out.path() + " 2> " + err.path() + "; tmux -L cotrace-live-" +
                              std::to_string(getpid()) + " wait-for -S " + done;
    const completed started =
        tmux.command({"new-session", "-d", "-s", "run", "-x", "120", "-y", "30", "sh", "-c", shell});
    ASSERT_TRUE(started.status.ok()) << started.describe();
    const auto ready = out.lines().wait_for([](const std::string& l) { return starts_with(l, "hang_gate pid "); });
    ASSERT_TRUE(ready.has_value()) << err.lines().text();
    const pid_t child = static_cast<pid_t>(std::stol(ready->substr(std::string("hang_gate pid ").size())));
    const pid_t cotrace = parent_of(child);
    ASSERT_GT(cotrace, 1);
    ASSERT_EQ(kill(child, SIGUSR1), 0);  // hang_gate hangs its next request
    const auto said = out.lines().wait_for([](const std::string& l) { return contains(l, " hangs at "); });
    ASSERT_TRUE(said.has_value()) << out.lines().text();
    const std::string where = said->substr(said->rfind('/') + 1);  // hang_gate.cpp:LINE

    const completed key = tmux.command({"send-keys", "-t", "run", "s"});
    ASSERT_TRUE(key.status.ok()) << key.describe();
    const auto count = err.lines().wait_for([](const std::string& l) { return contains(l, " in flight"); });
    ASSERT_TRUE(count.has_value()) << "the s key showed nothing:\n" << err.lines().text();
    EXPECT_FALSE(contains(*count, "cotrace: 0 requests")) << *count;
    EXPECT_TRUE(out.lines().wait_for([&](const std::string& l) { return contains(l, "at " + where); }))
        << "the hung request is not shown where it waits (" << where << "):\n" << out.lines().text();
    EXPECT_TRUE(out.lines().wait_for([](const std::string& l) { return starts_with(l, "IN FLIGHT"); }))
        << out.lines().text();
    EXPECT_EQ(kill(child, 0), 0) << "the child stopped";

    ASSERT_EQ(kill(cotrace, SIGTERM), 0);  // forwarded to the child, which ends cleanly
    const completed ended = tmux.command({"wait-for", done});
    EXPECT_TRUE(ended.status.ok()) << ended.describe();
    EXPECT_TRUE(out.lines().wait_for([](const std::string& l) { return starts_with(l, "hang_gate served "); }))
        << out.lines().text();
}

}  // namespace
}  // namespace e2e
