// bench_assembler N: the daemon's side of the drain rate. Feeds N events of
// realistic requests (an await chain, a when_all of two branches hopping to
// another thread, a join) through the assembler and the jsonl sink, writing
// to a discarding stream, and prints events per second. Frame addresses are
// reused from request to request, as an allocator would.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <streambuf>
#include <vector>

#include "bench_support.hpp"
#include "model/assembler.hpp"
#include "sinks/jsonl_sink.hpp"
#include "model/symbol_cache.hpp"

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
    // 17 events: root awaits a leaf, then a when_all of two branches that
    // hop to thread 2; the last branch joins.
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

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 2'000'000;
    stream_builder b;
    for (std::uint64_t r = 0; static_cast<long>(b.events.size()) < n; ++r) b.request(r);

    fake_symbols symbols;
    cotrace::symbol_cache cache(&symbols);
    null_buffer discard;
    std::ostream out(&discard);
    cotrace::jsonl_sink sink(out);
    cotrace::assembler_options options;
    options.threads_start_idle = true;  // the stream starts with the process, as under `cotrace run`
    // Output times are Unix-epoch nanoseconds (19 digits), as in a live session.
    options.clock_offset_ns = bench::epoch_offset_ns;
    cotrace::assembler a(cache, sink, options);

    const auto start = std::chrono::steady_clock::now();
    for (const cotrace_event& e : b.events) a.on_event(e);
    a.flush();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& sum = a.summary();
    std::printf("events %zu traces %llu incomplete %llu seconds %.3f\n", b.events.size(),
                static_cast<unsigned long long>(sum.traces), static_cast<unsigned long long>(sum.incomplete), s);
    std::printf("events_per_s %.0f\n", static_cast<double>(b.events.size()) / s);
    return sum.incomplete == 0 ? 0 : 1;
}
