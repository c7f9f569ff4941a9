// probe_loop: the target of the attached-cost benchmark. Fires cotrace probes
// in a tight loop and prints the time per iteration, so the same loop can be
// timed detached, under bpftrace and under cotrace, side by side.
//
//   probe_loop annotate N [--wait-attached] [--threads T]
//       N iterations of cotrace::annotate (one `event` probe, 3 arguments)
//   probe_loop chain N [--wait-attached] [--threads T]
//       N requests of sync_wait(root -> mid -> leaf): 6 probes per iteration,
//       3 spans, one complete trace each (the daemon's real work)
//   probe_loop chain7 N [--wait-attached] [--threads T]
//       the same with a chain of seven coroutines: 14 probes per iteration
//
// --wait-attached: spin until a tracer has raised the probe's semaphore (a
// real signal that attaching is done), then start the clock.
//
// Prints wall time and the process's CPU time per event: the CPU time is what
// the probes cost the target itself (its code, the traps, the BPF program),
// which another program's load on the machine does not add to; wall time also
// counts the moments the target waited for a CPU, e.g. behind work a busy
// tracer pushed off its own core.

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <cotrace/cotrace.hpp>

namespace {

cotrace::task<int> leaf(int x) { co_return x + 1; }
cotrace::task<int> mid(int x) { co_return co_await leaf(x) + 1; }
cotrace::task<int> root(int x) { co_return co_await mid(x) + 1; }

cotrace::task<int> c7(int x) { co_return x + 1; }
cotrace::task<int> c6(int x) { co_return co_await c7(x) + 1; }
cotrace::task<int> c5(int x) { co_return co_await c6(x) + 1; }
cotrace::task<int> c4(int x) { co_return co_await c5(x) + 1; }
cotrace::task<int> c3(int x) { co_return co_await c4(x) + 1; }
cotrace::task<int> c2(int x) { co_return co_await c3(x) + 1; }
cotrace::task<int> c1(int x) { co_return co_await c2(x) + 1; }

volatile std::int64_t sink;

void run_annotate(long n) {
    for (long i = 0; i < n; ++i) cotrace::annotate("iteration", i);
}

void run_chain(long n) {
    for (long i = 0; i < n; ++i) sink = cotrace::sync_wait(root(static_cast<int>(i)));
}

void run_chain7(long n) {
    for (long i = 0; i < n; ++i) sink = cotrace::sync_wait(c1(static_cast<int>(i)));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s annotate|chain|chain7 N [--wait-attached] [--threads T]\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const long n = std::atol(argv[2]);
    bool wait_attached = false;
    int threads = 1;
    for (int i = 3; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--wait-attached")) wait_attached = true;
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    }
    const bool chain = mode == "chain" || mode == "chain7";
    void (*body)(long) = mode == "chain" ? run_chain : mode == "chain7" ? run_chain7 : run_annotate;
    const int events_per_iteration = mode == "chain" ? 6 : mode == "chain7" ? 14 : 1;

    std::printf("pid %d\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    if (wait_attached) {
        // Every probe the iteration fires: attached once their semaphores
        // are up (a tracer may attach them one at a time).
        volatile unsigned short* first = chain ? &cotrace_span_begin_semaphore : &cotrace_event_semaphore;
        volatile unsigned short* last = chain ? &cotrace_end_semaphore : &cotrace_event_semaphore;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (*first == 0 || *last == 0) {
            if (std::chrono::steady_clock::now() > give_up) {
                std::fprintf(stderr, "probe_loop: no tracer attached within 30 s\n");
                return 1;
            }
            std::this_thread::yield();
        }
    }
    body(n / 100);  // warm up
    const auto cpu_now = [] {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
    };
    const double cpu_start = cpu_now();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(body, n);
    for (auto& w : workers) w.join();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    const double cpu_ns = cpu_now() - cpu_start;
    const double iterations = static_cast<double>(n) * threads;
    const double events = iterations * events_per_iteration;
    std::printf("ns_per_iteration %.1f ns_per_event %.1f events %.0f events_per_s %.0f cpu_ns_per_event %.1f\n",
                ns / iterations, ns / iterations / events_per_iteration * threads, events, events / ns * 1e9,
                cpu_ns / events);
    return 0;
}
