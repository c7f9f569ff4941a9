#include "session.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "bpf_collector.hpp"
#include "error.hpp"
#include "probe_discovery.hpp"
#include "sink.hpp"
#include "target_symbols.hpp"

namespace cotrace {

namespace {

volatile sig_atomic_t interrupted = 0;
void on_signal(int) { interrupted = interrupted + 1; }

// SIGINT/SIGTERM end the session cleanly (probes detached, traces flushed);
// installed without SA_RESTART so a blocking poll returns at once.
class interrupt_handlers {
public:
    interrupt_handlers() {
        interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~interrupt_handlers() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }

private:
    struct sigaction old_int_ {}, old_term_ {};
};

std::int64_t monotonic_to_epoch_offset() {
    timespec mono{}, real{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    return (static_cast<std::int64_t>(real.tv_sec) - mono.tv_sec) * 1'000'000'000 +
           (static_cast<std::int64_t>(real.tv_nsec) - mono.tv_nsec);
}

std::string process_name(std::uint32_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(f, name);
    return name.empty() ? "?" : name;
}

// Holds events back until the target's mappings can be read for names.
class event_buffer : public event_handler {
public:
    void on_event(const cotrace_event& e) override { events.push_back(e); }
    std::vector<cotrace_event> events;
};

class to_assembler : public event_handler {
public:
    explicit to_assembler(assembler& a) : a_(a) {}
    void on_event(const cotrace_event& e) override { a_.on_event(e); }

private:
    assembler& a_;
};

}  // namespace

void trace_process(std::uint32_t pid, const session_options& options, target_watch& watch,
                   const std::string& executable, const std::function<void()>& release) {
    check_kernel_support();

    std::vector<probe_object> objects;
    if (executable.empty()) {
        objects = find_probe_objects(pid);
        if (objects.empty())
            throw error("process " + std::to_string(pid) + " (" + process_name(pid) +
                        ") has no cotrace probes: build it with #include <cotrace/cotrace.hpp> "
                        "(without -DCOTRACE_ENABLED=0); `cotrace probes -p " + std::to_string(pid) +
                        "` lists what it has");
    } else {
        probe_object exe = probe_object_of_file(executable);
        if (exe.probes.empty())
            throw error(executable + " has no cotrace probes: build it with #include <cotrace/cotrace.hpp> "
                                     "(without -DCOTRACE_ENABLED=0)");
        objects.push_back(std::move(exe));
    }

    std::ofstream file;
    if (!options.output.empty()) {
        file.open(options.output, std::ios::out | std::ios::trunc);
        if (!file) throw error("cannot write " + options.output + " (check the directory exists and is writable)");
    }
    std::ostream& out = options.output.empty() ? std::cout : file;
    sink_options so;
    so.colour = options.output.empty() && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    auto sink = make_sink(options.format, out, so);
    if (!sink) throw error("unknown format " + options.format + " (use one of " + sink_formats() + ")", exit_usage);

    target_symbols symbols;
    if (!release) symbols.refresh(pid);  // a `run` child has not exec'd yet: its maps are cotrace's
    symbol_cache cache(&symbols);
    assembler_options limits = options.limits;
    limits.clock_offset_ns = monotonic_to_epoch_offset();
    assembler asm_(cache, *sink, limits);
    to_assembler handler(asm_);

    interrupt_handlers signals;
    collector_options co;
    co.pid = pid;
    co.ring_bytes = options.ring_bytes;
    auto collector = std::make_unique<bpf_collector>(co, objects);
    spdlog::info("attached {} probe links in process {}", collector->links(), pid);
    if (release) {
        release();
        // Names are read from the files behind the target's mappings. While
        // CMD execs, its maps change under us (the loader maps the image in
        // steps); its first event proves it runs its own code, so read them
        // then, at once, in case it exits before long.
        event_buffer first;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (first.events.empty() && !watch.exited() && std::chrono::steady_clock::now() < deadline &&
               !interrupted)
            collector->poll(1, first);
        symbols.refresh(pid);
        for (const cotrace_event& e : first.events) asm_.on_event(e);
    }

    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto last_scan = start;
    bool keep_until_exit = false;
    for (;;) {
        const std::size_t n = collector->poll(20, handler);
        if (n > 0 && !watch.exited()) symbols.refresh(pid);  // cheap; catches dlopen'ed objects early
        asm_.on_drops(collector->dropped());
        if (interrupted && !keep_until_exit) {
            if (interrupted > 1 || !watch.on_interrupt()) break;
            keep_until_exit = true;
        }
        if (watch.exited()) break;
        if (options.duration &&
            std::chrono::duration<double>(clock::now() - start).count() >= *options.duration)
            break;
        // New objects with probes (dlopen), and fresh mappings for names.
        if (clock::now() - last_scan > std::chrono::milliseconds(n > 0 ? 200 : 1000)) {
            last_scan = clock::now();
            symbols.refresh(pid);
            try {
                collector->attach(find_probe_objects(pid));
            } catch (const error&) {
                // the process is going away; watch.exited() ends the loop
            }
        }
    }
    // Everything the target produced is in the ring by now (or it exited):
    // take it all, then detach before anything else can fail.
    while (collector->drain(handler) > 0) {
    }
    asm_.on_drops(collector->dropped());
    collector.reset();

    asm_.flush();
    const session_summary& s = asm_.summary();
    sink->finish(s);
    out.flush();
    std::fprintf(stderr, "cotrace: %llu events, %llu traces, %llu spans, %llu drops, %llu incomplete",
                 static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.traces),
                 static_cast<unsigned long long>(s.spans), static_cast<unsigned long long>(s.drops),
                 static_cast<unsigned long long>(s.incomplete));
    if (s.evicted_traces) std::fprintf(stderr, ", %llu evicted", static_cast<unsigned long long>(s.evicted_traces));
    std::fprintf(stderr, "\n");
}

}  // namespace cotrace
