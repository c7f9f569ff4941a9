#include "cli/fleet_session.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "clock.hpp"
#include "cli/interrupts.hpp"
#include "cli/session_loop.hpp"
#include "collect/bpf_collector.hpp"
#include "collect/object_watch.hpp"
#include "collect/probe_discovery.hpp"
#include "collect/thread_census.hpp"
#include "collect/thread_names.hpp"
#include "collect/tracing_privilege.hpp"
#include "error.hpp"
#include "target/target_symbols.hpp"

namespace cotrace {

namespace {

// Events of one collector, in ring order, waiting to be merged.
class event_queue_of : public event_handler {
public:
    void on_event(const cotrace_event& e) override { events.push_back(e); }
    std::vector<cotrace_event> events;
    std::size_t next = 0;
    bool pending() const { return next < events.size(); }
    void compact() {
        events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(next));
        next = 0;
    }
};

// One traced process's part of a -p session.
struct target {
    std::uint32_t pid = 0;
    int pidfd = -1;
    bool exited = false;
    std::unique_ptr<bpf_collector> collector;
    event_queue_of queue;
    std::unique_ptr<object_watch> watch;
    ~target() {
        watch.reset();
        collector.reset();  // detaches before the pidfd goes
        if (pidfd >= 0) close(pidfd);
    }
};

// Names per process: thread_names knows one.
// A process's name is read while it lives (at attach, or when it is first
// seen), since its events may be read after it exited.
class names_by_process {
public:
    void add(std::uint32_t pid) {
        if (names_.size() >= 1u << 16) names_.clear();  // bounded: a flood of short-lived processes
        if (!names_.count(pid)) names_.emplace(pid, thread_names(pid, thread_names::process_name_of(pid)));
    }
    void before(const cotrace_event& e, const thread_names::emit_fn& emit) {
        if (e.kind >= COTRACE_EV_COLLECTOR_FIRST) return;
        add(e.pid);
        names_.find(e.pid)->second.before(e, emit);
    }

private:
    std::map<std::uint32_t, thread_names> names_;
};

// Merges the queues in time order (each queue keeps its own order), up to
// `until` (CLOCK_MONOTONIC ns): later events wait for the next turn, when
// every ring has been read past them. A request that crosses processes is
// then seen in order: the caller's announcement before the callee's work.
template <class Deliver>
void merge_until(const std::vector<event_queue_of*>& queues, std::uint64_t until, Deliver&& deliver) {
    for (;;) {
        event_queue_of* best = nullptr;
        for (event_queue_of* q : queues)
            if (q->pending() && q->events[q->next].ts_ns <= until &&
                (!best || q->events[q->next].ts_ns < best->events[best->next].ts_ns))
                best = q;
        if (!best) break;
        deliver(best->events[best->next++]);
    }
    for (event_queue_of* q : queues) q->compact();
}

// How far events can be merged: behind the moment the turn began by more
// than an event can wait in a ring before its queue has it (a quiet ring is
// looked at every 10 ms, ring_reader.cpp), and no later than the last event
// of a ring that may hold more than was taken. Less, and a callee's event
// read early could pass its caller's announcement still in the other ring.
constexpr std::uint64_t merge_slack_ns = 25'000'000;
constexpr std::size_t events_per_poll = 1024;
// What is left at the end is taken within this (the rest counted as dropped).
constexpr auto final_drain = std::chrono::milliseconds(50);

void check_fleet_options(const session_options& options, const char* what) {
    if (!options.save.empty())
        throw error(std::string("--save records one process: drop it, or trace a single -p PID (not ") + what + ")",
                    exit_usage);
}

// What a session over several processes assembles into: the symbols of them
// all, one output, and each process's names, delivered ahead of the first
// event that needs them.
struct fleet_output {
    explicit fleet_output(const session_options& options)
        : cache(&symbols), output(attached(options.output), cache, monotonic_to_epoch_offset()) {}
    static output_options attached(output_options o) {
        o.limits.threads_start_idle = false;
        return o;
    }
    // A process whose events may come from now on.
    void add(std::uint32_t pid) {
        symbols.refresh(pid);
        names.add(pid);
    }
    void deliver(const cotrace_event& e) {
        names.before(e, [&](const cotrace_event& n) { output.on_event(n); });
        output.on_event(e);
        last_event_ts = e.ts_ns;
    }

    target_symbols symbols;
    symbol_cache cache;
    trace_output output;
    names_by_process names;
    std::uint64_t last_event_ts = 0;  // of the latest event delivered
};

// The -p processes as one source: each collector polled in turn, their
// events merged in time order.
class processes_source : public session_source {
public:
    processes_source(std::vector<std::unique_ptr<target>>& targets, const std::vector<event_queue_of*>& queues,
                     fleet_output& out)
        : targets_(targets), queues_(queues), out_(out) {}

    std::size_t take(int wait_ms) override {
        const std::uint64_t turn = monotonic_ns();
        std::uint64_t until = turn > merge_slack_ns ? turn - merge_slack_ns : 0;
        // The turn's wait shared among the rings: the session still turns
        // within it.
        const int wait_each = std::max(1, wait_ms / static_cast<int>(targets_.size()));
        std::size_t n = 0;
        std::uint64_t dropped = 0;
        for (auto& t : targets_) {
            const std::size_t before = t->queue.events.size();
            const std::size_t got = t->collector->poll(wait_each, *t->watch, events_per_poll);
            n += got;
            // A ring that gave a full budget may hold more, older than what others gave.
            if (got >= events_per_poll && t->queue.events.size() > before)
                until = std::min(until, t->queue.events.back().ts_ns);
            dropped += t->collector->dropped();
            if (!t->exited) {
                pollfd p{t->pidfd, POLLIN, 0};
                t->exited = ::poll(&p, 1, 0) > 0;
            }
        }
        merge_until(queues_, until, [&](const cotrace_event& e) { out_.deliver(e); });
        out_.output.on_drops(dropped);
        return n;
    }
    bool over() override {
        return std::all_of(targets_.begin(), targets_.end(), [](const auto& t) { return t->exited; });
    }
    std::uint64_t last_event_ts() const override { return out_.last_event_ts; }

private:
    std::vector<std::unique_ptr<target>>& targets_;
    const std::vector<event_queue_of*>& queues_;
    fleet_output& out_;
};

}  // namespace

void trace_processes(const std::vector<std::uint32_t>& pids, const session_options& options) {
    check_fleet_options(options, "several -p");
    check_tracing_privilege();
    // Every PID checked before any is touched: a typo fails at once.
    std::vector<std::uint32_t> distinct;
    for (std::uint32_t pid : pids) {
        if (pid == 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
            throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                            std::to_string(pid) + "`)",
                        exit_usage);
        if (std::find(distinct.begin(), distinct.end(), pid) == distinct.end()) distinct.push_back(pid);
    }
    fleet_output out(options);
    trace_output& output = out.output;
    const auto deliver = [&](const cotrace_event& e) { out.deliver(e); };

    interrupt_handlers signals;
    std::vector<std::unique_ptr<target>> targets;
    std::vector<event_queue_of*> queues;
    for (std::uint32_t pid : distinct) {
        auto t = std::make_unique<target>();
        t->pid = pid;
        t->pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        if (t->pidfd < 0)
            throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                            std::to_string(pid) + "`)",
                        exit_usage);
        out.add(pid);
        std::set<std::pair<dev_t, ino_t>> examined;
        std::vector<probe_object> objects = find_probe_objects(pid, &examined);
        if (objects.empty())
            throw error("process " + std::to_string(pid) +
                            " has no cotrace probes: build it with #include <cotrace/cotrace.hpp>; `cotrace probes -p " +
                            std::to_string(pid) + "` lists what it has",
                        exit_usage);
        collector_options co;
        co.pid = pid;
        co.ring_bytes = options.ring_bytes;
        co.sample = options.sample;
        co.start_collecting = false;  // once its threads stand still
        t->collector = std::make_unique<bpf_collector>(co, objects);
        t->watch = std::make_unique<object_watch>(pid, *t->collector, out.symbols, t->queue, false);
        t->watch->examined() = std::move(examined);
        t->watch->attach_hook();
        t->watch->rescan();
        const thread_census census = take_thread_census(pid, out.symbols, [&] { t->collector->start_collecting(); });
        for (const cotrace_event& e : census.events) t->queue.on_event(e);
        spdlog::info("attached {} probe links in process {}", t->collector->links(), pid);
        queues.push_back(&t->queue);
        targets.push_back(std::move(t));
    }

    processes_source source(targets, queues, out);
    run_session_loop(source, output, options);
    // Every process's links close at once, while what is left is taken.
    for (auto& t : targets) t->collector->stop();
    const auto deadline = std::chrono::steady_clock::now() + final_drain;
    std::uint64_t dropped = 0;
    for (auto& t : targets) {
        t->collector->drain(*t->watch, deadline);
        dropped += t->collector->dropped();
    }
    merge_until(queues, ~std::uint64_t{0}, deliver);
    output.on_drops(dropped);
    output.finish();
    targets.clear();  // waits for the links
}

namespace {

// Processes running `file` now (by device and inode of /proc/PID/exe).
std::set<std::uint32_t> processes_running(const struct stat& file) {
    std::set<std::uint32_t> pids;
    DIR* proc = opendir("/proc");
    if (!proc) return pids;
    while (dirent* d = readdir(proc)) {
        char* end = nullptr;
        const unsigned long pid = std::strtoul(d->d_name, &end, 10);
        if (end == d->d_name || *end != '\0') continue;
        struct stat st;
        if (::stat(("/proc/" + std::string(d->d_name) + "/exe").c_str(), &st) == 0 && st.st_dev == file.st_dev &&
            st.st_ino == file.st_ino)
            pids.insert(static_cast<std::uint32_t>(pid));
    }
    closedir(proc);
    return pids;
}

// Before a process's first event: its mappings read for names, and, for a
// process that started while we watched, every thread idle (nothing of it
// ran before the probes were there).
class new_process_stage : public event_handler {
public:
    new_process_stage(target_symbols& symbols, std::set<std::uint32_t> running_at_attach,
                      const std::function<void(const cotrace_event&)>& next)
        : symbols_(symbols), old_(std::move(running_at_attach)), next_(next) {}
    void on_event(const cotrace_event& e) override {
        if (e.kind < COTRACE_EV_COLLECTOR_FIRST && seen_.insert(e.pid).second) {
            symbols_.refresh(e.pid);
            if (!old_.count(e.pid)) {
                cotrace_event idle{};
                idle.ts_ns = e.ts_ns;
                idle.pid = e.pid;
                idle.tid = e.pid;
                idle.kind = COTRACE_EV_thread_idle;
                next_(idle);
            }
            if (seen_.size() > 1u << 16) seen_.clear();  // bounded: a flood of short-lived processes
        }
        next_(e);
    }

private:
    target_symbols& symbols_;
    std::set<std::uint32_t> old_;
    std::set<std::uint32_t> seen_;
    std::function<void(const cotrace_event&)> next_;
};

// The one collector of --binary as the session's source. Names are read
// from a process's mappings while it lives: a look at the processes running
// the file, a few times a second, catches the short-lived ones before their
// events are read.
class binary_source : public session_source {
public:
    binary_source(bpf_collector& collector, event_handler& stage, fleet_output& out, const struct stat& file,
                  std::set<std::uint32_t> running)
        : collector_(collector), stage_(stage), out_(out), file_(file), known_(std::move(running)),
          last_scan_(std::chrono::steady_clock::now()) {}

    std::size_t take(int wait_ms) override {
        if (std::chrono::steady_clock::now() - last_scan_ >= std::chrono::milliseconds(100)) {
            last_scan_ = std::chrono::steady_clock::now();
            for (std::uint32_t pid : processes_running(file_))
                if (known_.insert(pid).second) out_.add(pid);
            if (known_.size() > 1u << 16) known_.clear();
        }
        const std::size_t n = collector_.poll(wait_ms, stage_, events_per_poll);
        out_.output.on_drops(collector_.dropped());
        return n;
    }
    bool over() override { return false; }  // processes may start running it at any time
    std::uint64_t last_event_ts() const override { return out_.last_event_ts; }

private:
    bpf_collector& collector_;
    event_handler& stage_;
    fleet_output& out_;
    struct stat file_;
    std::set<std::uint32_t> known_;
    std::chrono::steady_clock::time_point last_scan_;
};

}  // namespace

void trace_binary(const std::string& path, const session_options& options) {
    check_fleet_options(options, "--binary");
    struct stat file;
    if (::stat(path.c_str(), &file) != 0)
        throw error(path + ": no such file (give the path of an executable built with the cotrace headers)",
                    exit_usage);
    probe_object object;
    try {
        object = probe_object_of_file(path);
    } catch (const error& e) {
        throw error(e.what(), exit_usage);
    }
    if (object.probes.empty())
        throw error(path + " has no cotrace probes: build it with #include <cotrace/cotrace.hpp> "
                           "(without -DCOTRACE_ENABLED=0)",
                    exit_usage);
    check_tracing_privilege();

    fleet_output out(options);
    trace_output& output = out.output;

    interrupt_handlers signals;
    collector_options co;
    co.pid = 0;  // the file's probes fire in every process running it
    co.ring_bytes = options.ring_bytes;
    co.sample = options.sample;
    co.start_collecting = true;
    bpf_collector collector(co, {object});
    // After attaching: a process started from now on is new. One started
    // between attaching and this look counts as already running (its threads'
    // states unknown): the safe side.
    const std::set<std::uint32_t> running = processes_running(file);
    for (std::uint32_t pid : running) out.add(pid);
    new_process_stage stage(out.symbols, running, [&](const cotrace_event& e) { out.deliver(e); });
    spdlog::info("attached {} probe links to {} ({} processes running it)", collector.links(), path,
                 running.size());

    binary_source source(collector, stage, out, file, running);
    run_session_loop(source, output, options);
    collector.stop();
    collector.drain(stage, std::chrono::steady_clock::now() + final_drain);
    output.on_drops(collector.dropped());
    output.finish();
}

}  // namespace cotrace
