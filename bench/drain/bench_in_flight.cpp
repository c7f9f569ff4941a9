// bench_in_flight N HUNG: what in-flight snapshots cost the daemon. Feeds N
// events of flowing requests (17 events each, as bench_assembler) through the
// assembler and the jsonl sink while HUNG requests stay suspended forever
// (two spans each, begun first), and compares, side by side in one run:
//   none     no snapshot;
//   stuck    a --stuck check every 100k events (10 a second at 1M events/s):
//            every hung request has waited past the threshold and was shown
//            already (the steady state: found by the scan, not copied);
//   top      a snapshot of every open trace every 1M events (`cotrace top`
//            redrawing once a second at 1M events/s).
// Prints events per second of each and the time of one snapshot.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <vector>

#include "bench_support.hpp"
#include "model/assembler.hpp"
#include "model/symbol_cache.hpp"
#include "sinks/jsonl_sink.hpp"

namespace {

using bench::fake_symbols;
using bench::null_buffer;

struct stream_builder {
    std::vector<cotrace_event> events;
    std::uint64_t ts = 1'000'000;
    void add(std::uint32_t tid, int kind, std::uint64_t a0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
             std::uint64_t code = 0) {
        events.push_back(bench::make_event(ts += 250, tid, kind, a0, a1, a2, code));
    }
    // A request that awaits a child which waits forever on something untraced.
    void hung(std::uint64_t i) {
        const std::uint64_t root = 0x10000000 + i * 0x1000, child = root + 0x100;
        add(3, COTRACE_EV_span_begin, root, 0, 0x11, 0x401000);
        add(3, COTRACE_EV_suspend, root, 0x12, child, 0x402000);
        add(3, COTRACE_EV_suspend, child, 0x16, 0);
    }
    void request(std::uint64_t slot) {
        const std::uint64_t base = 0x10000 + (slot % 64) * 0x1000;
        const std::uint64_t root = base, leaf = base + 0x100, all = base + 0x200, b1 = base + 0x300,
                            b2 = base + 0x400;
        add(1, COTRACE_EV_span_begin, root, 0, 0x11, 0x401000);
        add(1, COTRACE_EV_suspend, root, 0x12, leaf, 0x402000);
        add(1, COTRACE_EV_end, leaf, COTRACE_STATUS_OK);
        add(1, COTRACE_EV_suspend, root, 0x13, all, 0x403000);
        add(1, COTRACE_EV_suspend, all, 0x14, 0);
        add(1, COTRACE_EV_span_begin, b1, all, 0, 0x404000);
        add(1, COTRACE_EV_suspend, b1, 0x15, 0);
        add(1, COTRACE_EV_span_begin, b2, all, 0, 0x405000);
        add(1, COTRACE_EV_suspend, b2, 0x16, 0);
        add(2, COTRACE_EV_resume, b1);
        add(2, COTRACE_EV_end, b1, COTRACE_STATUS_OK);
        add(2, COTRACE_EV_resume, b2);
        add(2, COTRACE_EV_end, b2, COTRACE_STATUS_OK);
        add(2, COTRACE_EV_link, b2, all, COTRACE_LINK_JOIN);
        add(2, COTRACE_EV_resume, all);
        add(2, COTRACE_EV_end, all, COTRACE_STATUS_OK);
        add(2, COTRACE_EV_end, root, COTRACE_STATUS_OK);
    }
};

struct result {
    double events_per_s = 0;
    double snapshot_us = 0;  // mean time of one snapshot
    std::size_t visited = 0;  // traces copied and passed to the visitor, per snapshot
    std::size_t found = 0;    // traces that qualified, per snapshot
};

// every: events between snapshots (0: none); min_wait_ns as the assembler takes it.
result run(const std::vector<cotrace_event>& events, std::size_t every, std::uint64_t min_wait_ns, bool shown) {
    fake_symbols symbols;
    cotrace::symbol_cache cache(&symbols);
    null_buffer discard;
    std::ostream out(&discard);
    cotrace::jsonl_sink sink(out);
    cotrace::assembler_options options;
    options.threads_start_idle = true;
    options.segment_after_ns = 0;  // the hung requests are the subject, not their segments
    cotrace::assembler a(cache, sink, options);
    std::size_t visited = 0, found = 0, snapshots = 0;
    double in_snapshots = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < events.size(); ++i) {
        a.on_event(events[i]);
        if (every && (i + 1) % every == 0) {
            const auto t0 = std::chrono::steady_clock::now();
            a.in_flight(
                events[i].ts_ns, min_wait_ns, [&](cotrace::in_flight_trace& f) { visited += f.t.spans.size() > 0; },
                [&](std::uint64_t) {
                    ++found;
                    return !shown;
                });
            in_snapshots += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ++snapshots;
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    a.flush();
    result r;
    r.events_per_s = static_cast<double>(events.size()) / s;
    r.snapshot_us = snapshots ? in_snapshots / static_cast<double>(snapshots) * 1e6 : 0;
    r.visited = snapshots ? visited / snapshots : 0;
    r.found = snapshots ? found / snapshots : 0;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 4'000'000;
    const long hung = argc > 2 ? std::atol(argv[2]) : 1000;
    stream_builder b;
    for (long i = 0; i < hung; ++i) b.hung(static_cast<std::uint64_t>(i));
    for (std::uint64_t r = 0; static_cast<long>(b.events.size()) < n; ++r) b.request(r);

    // Best of 3 of each, interleaved so that a busy machine slows all alike.
    result none, stuck, top;
    for (int round = 0; round < 3; ++round) {
        const result x = run(b.events, 0, 0, false), y = run(b.events, 100'000, 1, true),
                     z = run(b.events, 1'000'000, 0, false);
        if (x.events_per_s > none.events_per_s) none = x;
        if (y.events_per_s > stuck.events_per_s) stuck = y;
        if (z.events_per_s > top.events_per_s) top = z;
    }
    std::printf("events %zu hung %ld\n", b.events.size(), hung);
    std::printf("none  events_per_s %.0f\n", none.events_per_s);
    std::printf("stuck events_per_s %.0f ratio %.3f snapshot_us %.1f found %zu copied %zu\n", stuck.events_per_s,
                stuck.events_per_s / none.events_per_s, stuck.snapshot_us, stuck.found, stuck.visited);
    std::printf("top   events_per_s %.0f ratio %.3f snapshot_us %.1f found %zu copied %zu\n", top.events_per_s,
                top.events_per_s / none.events_per_s, top.snapshot_us, top.found, top.visited);
    return 0;
}
