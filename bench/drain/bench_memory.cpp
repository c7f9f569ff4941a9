// bench_memory MODE N: peak RSS of the assembler and the jsonl sink (to a
// discarding stream) on a synthetic stream generated on the fly, so only the
// daemon's side is measured, with the default bounds.
//
//   live N     N requests in flight at once: each root begins and suspends
//              on I/O (N live spans), then all of them end.
//   session N  one long-lived root (a connection) awaiting N children one
//              after another, 1 us apart: finished spans pile up in one
//              trace unless it goes out in segments.
//
// Prints peak_rss_kib, events and events_per_s.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <streambuf>

#include "bench_support.hpp"
#include "model/assembler.hpp"
#include "model/symbol_cache.hpp"
#include "sinks/jsonl_sink.hpp"

namespace {

using bench::fake_symbols;
using bench::null_buffer;

struct feeder {
    cotrace::assembler& a;
    std::uint64_t ts = 1'000'000;
    std::uint64_t events = 0;
    void operator()(std::uint32_t tid, int kind, std::uint64_t a0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                    std::uint64_t code = 0, std::uint64_t step_ns = 50) {
        a.on_event(bench::make_event(ts += step_ns, tid, kind, a0, a1, a2, code));
        ++events;
    }
};

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3 || (std::strcmp(argv[1], "live") != 0 && std::strcmp(argv[1], "session") != 0)) {
        std::fprintf(stderr, "usage: bench_memory live|session N\n");
        return 2;
    }
    const bool live = std::strcmp(argv[1], "live") == 0;
    const long n = std::atol(argv[2]);
    fake_symbols symbols;
    cotrace::symbol_cache cache(&symbols);
    null_buffer discard;
    std::ostream out(&discard);
    cotrace::jsonl_sink sink(out);
    cotrace::assembler_options options;
    options.threads_start_idle = true;
    cotrace::assembler a(cache, sink, options);
    feeder f{a};

    const auto start = std::chrono::steady_clock::now();
    if (live) {
        for (long i = 0; i < n; ++i) {
            const std::uint64_t frame = 0x10000000 + static_cast<std::uint64_t>(i) * 0x400;
            f(1, COTRACE_EV_span_begin, frame, 0, 0x11, 0x401000);
            f(1, COTRACE_EV_suspend, frame, 0x12, 0);
        }
        std::printf("open_spans %zu\n", a.open_spans());
        for (long i = 0; i < n; ++i) {
            const std::uint64_t frame = 0x10000000 + static_cast<std::uint64_t>(i) * 0x400;
            f(2, COTRACE_EV_resume, frame);
            f(2, COTRACE_EV_end, frame, COTRACE_STATUS_OK);
        }
    } else {
        const std::uint64_t root = 0x10000000;
        f(1, COTRACE_EV_span_begin, root, 0, 0x11, 0x401000);
        for (long i = 0; i < n; ++i) {
            const std::uint64_t child = 0x20000000 + static_cast<std::uint64_t>(i % 64) * 0x400;
            f(1, COTRACE_EV_suspend, root, 0x12, child, 0x402000, 1000);
            f(1, COTRACE_EV_event, 0x13, static_cast<std::uint64_t>(i));
            f(1, COTRACE_EV_end, child, COTRACE_STATUS_OK);
        }
        f(1, COTRACE_EV_end, root, COTRACE_STATUS_OK);
    }
    a.flush();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("events %llu traces %llu evicted %llu seconds %.3f\n", static_cast<unsigned long long>(f.events),
                static_cast<unsigned long long>(a.summary().traces),
                static_cast<unsigned long long>(a.summary().evicted_traces), s);
    std::printf("events_per_s %.0f\n", static_cast<double>(f.events) / s);
    std::printf("peak_rss_kib %ld\n", peak_rss_kib());
    return a.summary().incomplete == 0 ? 0 : 1;
}
