#include "cli/session.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <memory>
#include <new>
#include <set>

#include "clock.hpp"
#include "cli/interrupts.hpp"
#include "cli/session_loop.hpp"
#include "collect/bpf_collector.hpp"
#include "collect/object_watch.hpp"
#include "collect/thread_census.hpp"
#include "collect/tracing_privilege.hpp"
#include "error.hpp"
#include "collect/probe_discovery.hpp"
#include "collect/thread_names.hpp"
#include "record/recording.hpp"
#include "target/target_symbols.hpp"

namespace cotrace {

namespace {

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

// Live events go to the output stage and, with --save, into the recording,
// after they are assembled: the symbols resolved for an event are written
// before it, so a replay finds them in order.
class live_stage : public event_handler {
public:
    live_stage(trace_output& out, recording_writer* recording, thread_names& names)
        : out_(out), recording_(recording), names_(names) {}
    void on_event(const cotrace_event& e) override {
        names_.before(e, [this](const cotrace_event& n) { pass(n); });
        pass(e);
    }
    void drops(std::uint64_t total) {
        if (total <= drops_) return;
        drops_ = total;
        out_.on_drops(total);
        if (recording_) recording_->drops(total);
    }

private:
public:
    std::uint64_t last_event_ts() const { return last_ts_; }

private:
    void pass(const cotrace_event& e) {
        last_ts_ = e.ts_ns;
        out_.on_event(e);
        if (recording_) recording_->event(e);
    }

    trace_output& out_;
    recording_writer* recording_;
    thread_names& names_;
    std::uint64_t drops_ = 0;
    std::uint64_t last_ts_ = 0;  // of the latest event passed on
};

// The objects whose probes are attached first: the executable `run` is
// about to exec, or every object with cotrace probes mapped in the process.
std::vector<probe_object> startup_objects(std::uint32_t pid, const std::string& executable,
                                          std::set<std::pair<dev_t, ino_t>>& examined) {
    std::vector<probe_object> objects;
    if (executable.empty()) {
        objects = find_probe_objects(pid, &examined);
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
    return objects;
}

// Attach: stops the target's threads for a moment, starts collecting while
// they stand still, and puts what each was doing into the stream first.
void start_with_thread_census(std::uint32_t pid, bpf_collector& collector, target_symbols& symbols,
                              event_handler& stage) {
    const thread_census census = take_thread_census(pid, symbols, [&] { collector.start_collecting(); });
    for (const cotrace_event& e : census.events) stage.on_event(e);
    std::vector<std::uint64_t> held = census.held_ns;
    std::sort(held.begin(), held.end());
    const double median = held.empty() ? 0 : held[held.size() / 2] / 1e6;
    const double longest = held.empty() ? 0 : held.back() / 1e6;
    const auto count = [&](std::uint16_t kind) {
        return std::count_if(census.events.begin(), census.events.end(),
                             [&](const cotrace_event& e) { return e.kind == kind; });
    };
    spdlog::info("{} threads of process {} stopped at attach: median {:.3f} ms, max {:.3f} ms ({} in a span, {} "
                 "unknown; stacks unwound in {:.3f} ms after, {} scanned where unwinding stopped short)",
                 held.size(), pid, median, longest, count(COTRACE_EV_thread_in_span),
                 count(COTRACE_EV_thread_unknown), census.unwound_ns / 1e6, census.scanned);
}

// `run`: lets CMD exec. With the loader's hook, names are read at the hook,
// before CMD's own code runs; without one (a static executable), once its
// first event proves its own code runs.
void start_released_child(bpf_collector& collector, target_symbols& symbols, std::uint32_t pid,
                          target_watch& watch, const std::function<void()>& release, event_handler& stage,
                          bool hooked) {
    release();
    if (hooked) return;
    // Names are read from the files behind the target's mappings. While
    // CMD execs, its maps change under us (the loader maps the image in
    // steps); its first event proves it runs its own code, so read them
    // then, at once, in case it exits before long.
    event_buffer first;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (first.events.empty() && !watch.exited() && std::chrono::steady_clock::now() < deadline &&
           !interrupts_received())
        collector.poll(1, first);
    symbols.refresh(pid);
    for (const cotrace_event& e : first.events) stage.on_event(e);
}

// New objects with probes (dlopen), where the loader has no hook (a static
// executable): looked for once a second.
class object_rescan {
public:
    explicit object_rescan(std::uint32_t pid) : pid_(pid), last_(std::chrono::steady_clock::now()) {}
    void maybe_rescan(bpf_collector& collector) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ <= std::chrono::milliseconds(1000)) return;
        last_ = now;
        try {
            collector.attach(find_probe_objects(pid_));
        } catch (const error&) {
            // the process is going away; watch.exited() ends the loop
        }
    }

private:
    std::uint32_t pid_;
    std::chrono::steady_clock::time_point last_;
};

// Events per turn of the session loop: at the assembler's pace, a turn takes
// a few milliseconds, so Ctrl-C, --duration, --limit and the target's exit
// are all seen within that however fast the target writes.
constexpr std::size_t events_per_turn = 1024;
// At the end: the reader's last pass over the ring is bounded (ring_reader),
// and so is assembling what it queued. Together they keep the end of a
// session under a flood within 100 ms; what they leave is counted as dropped.
constexpr auto final_drain = std::chrono::milliseconds(50);

// One process's collector as the session loop's source.
class process_source : public session_source {
public:
    process_source(bpf_collector& collector, object_watch& stage, live_stage& drops, recording_writer* recording,
                   target_symbols& symbols, std::uint32_t pid, target_watch& watch)
        : collector_(collector), stage_(stage), drops_(drops), recording_(recording), symbols_(symbols),
          pid_(pid), watch_(watch), hooked_(stage.hooked()), rescan_(pid), last_refresh_(clock::now()) {}

    std::size_t take(int wait_ms) override {
        const std::size_t n = collector_.poll(wait_ms, stage_, events_per_turn);
        drops_.drops(collector_.dropped());
        // Without the loader's hook: catches dlopen'ed objects early (a name
        // not found refreshes too). Reading the maps costs tens of
        // microseconds: not every turn.
        if (!hooked_ && n > 0 && !watch_.exited() && clock::now() - last_refresh_ >= std::chrono::milliseconds(20)) {
            symbols_.refresh(pid_);
            last_refresh_ = clock::now();
        }
        return n;
    }
    bool over() override { return watch_.exited(); }
    std::uint64_t last_event_ts() const override { return drops_.last_event_ts(); }
    bool on_interrupt() override { return watch_.on_interrupt(); }
    void after_turn(std::size_t taken) override {
        if (taken > 0 && recording_) recording_->flush();
        if (!hooked_) rescan_.maybe_rescan(collector_);
    }

private:
    using clock = std::chrono::steady_clock;
    bpf_collector& collector_;
    object_watch& stage_;
    live_stage& drops_;
    recording_writer* recording_;
    target_symbols& symbols_;
    std::uint32_t pid_;
    target_watch& watch_;
    bool hooked_;
    object_rescan rescan_;
    clock::time_point last_refresh_;
};

// Stops the probes, whose links start closing meanwhile, and takes what is
// left within a bound (the rest counted as dropped). Again after a failure
// it does no harm.
void end_collection(bpf_collector& collector, event_handler& stage, live_stage& drops,
                    std::chrono::steady_clock::time_point& start) {
    using clock = std::chrono::steady_clock;
    start = clock::now();
    // When it began, in the clock other programs read (bench/run.sh stop).
    spdlog::debug("stopping at {} ns (CLOCK_REALTIME)", realtime_ns());
    collector.stop();
    const std::size_t drained = collector.drain(stage, start + final_drain);
    drops.drops(collector.dropped());
    spdlog::debug("stopping: {} events taken after the stop in {:.1f} ms", drained, ms_since(start));
}

}  // namespace

void trace_process(std::uint32_t pid, const session_options& options, target_watch& watch,
                   const std::string& executable, const std::function<void()>& release) {
    // Before anything reads the target: without privilege that would fail
    // first, and say so about the target instead of the privilege.
    check_tracing_privilege();
    const std::uint64_t attaching_since = monotonic_ns();
    std::set<std::pair<dev_t, ino_t>> examined;
    std::vector<probe_object> objects = startup_objects(pid, executable, examined);

    target_symbols symbols;
    if (!release) symbols.refresh(pid);  // a `run` child has not exec'd yet: its maps are cotrace's
    symbol_cache cache(&symbols);
    const std::int64_t clock_offset = monotonic_to_epoch_offset();
    output_options output_opts = options.output;
    output_opts.limits.threads_start_idle = !executable.empty();  // `run`: attached before CMD ran
    trace_output output(output_opts, cache, clock_offset);

    std::unique_ptr<recording_writer> recording;
    if (!options.save.empty()) {
        recording_header header;
        header.pid = pid;
        header.clock_offset_ns = clock_offset;
        header.from_start = output_opts.limits.threads_start_idle;
        for (const probe_object& o : objects) header.objects.push_back(o.path);
        recording = std::make_unique<recording_writer>(options.save, header);
        cache.set_listener([&](const symbol_cache::key& k, const symbol_cache::entry& e) { recording->symbol(k, e); });
    }
    thread_names names(pid, executable.empty() ? thread_names::process_name_of(pid)
                                               : thread_names::base_name(executable));
    live_stage stage(output, recording.get(), names);

    interrupt_handlers signals;
    collector_options co;
    co.pid = pid;
    co.ring_bytes = options.ring_bytes;
    co.sample = options.sample;
    co.start_collecting = release.operator bool();  // attach: once the threads stand still
    co.hold_on_load = release.operator bool();      // run: the child is cotrace's own
    auto collector = std::make_unique<bpf_collector>(co, objects);
    object_watch loaded(pid, *collector, symbols, stage, co.hold_on_load);
    loaded.time_first_event_from(attaching_since);
    loaded.examined() = std::move(examined);
    const bool hooked = loaded.attach_hook(executable);
    if (!release) {
        loaded.rescan();  // whatever was mapped before the hook was in place
        start_with_thread_census(pid, *collector, symbols, loaded);
    }
    spdlog::info("attached {} probe links in process {}", collector->links(), pid);

    std::chrono::steady_clock::time_point stopped_at;
    try {
        if (release) start_released_child(*collector, symbols, pid, watch, release, loaded, hooked);
        process_source source(*collector, loaded, stage, recording.get(), symbols, pid, watch);
        run_session_loop(source, output, options);
        end_collection(*collector, loaded, stage, stopped_at);
    } catch (const std::exception& e) {
        // Whatever failed (memory, a full disk, a bug), what was assembled
        // so far is still shown and the recording still closed.
        const std::string what = dynamic_cast<const std::bad_alloc*>(&e)
                                     ? "out of memory while tracing (lower --max-open-spans or "
                                       "--max-open-traces)"
                                     : e.what();
        const int status = dynamic_cast<const error*>(&e) ? static_cast<const error&>(e).status() : exit_runtime;
        try {
            if (collector) end_collection(*collector, loaded, stage, stopped_at);
        } catch (const std::exception&) {
            collector.reset();
        }
        try {
            output.finish();
            if (recording) recording->close();
        } catch (const std::exception& again) {
            spdlog::warn("could not flush the traces after the failure: {}", again.what());
        }
        collector.reset();
        throw error(what + "; the traces so far were written", status);
    }
    // Written while the links close (they went at the stop).
    output.finish();
    if (recording) recording->close();
    collector.reset();  // waits for them
    spdlog::debug("stopping: done {:.1f} ms after the stop", ms_since(stopped_at));
}

namespace {

class replay_stage : public recording_visitor {
public:
    replay_stage(trace_output& out, symbol_cache& cache) : out_(out), cache_(cache) {}
    void on_event(const cotrace_event& e) override { out_.on_event(e); }
    void on_symbol(const symbol_cache::key& k, const symbol_cache::entry& e) override { cache_.insert(k, e); }
    void on_drops(std::uint64_t total) override { out_.on_drops(total); }

private:
    trace_output& out_;
    symbol_cache& cache_;
};

}  // namespace

void replay_file(const std::string& path, const output_options& options) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) throw error("cannot read " + path + ": " + std::strerror(errno));
    const recording_header header = read_recording_header(f.get(), path);
    symbol_cache cache;  // filled from the recording, in file order
    output_options replay_opts = options;
    replay_opts.limits.threads_start_idle = header.from_start;
    trace_output output(replay_opts, cache, header.clock_offset_ns);
    replay_stage stage(output, cache);
    const replay_result r = replay_recording(f.get(), stage);
    if (r.truncated)
        spdlog::warn("{} ends early (cut short or damaged) after {} events; showing what it holds", path,
                     r.events);
    output.finish();
}

}  // namespace cotrace
