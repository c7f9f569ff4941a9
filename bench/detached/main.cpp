// bench_detached: what the probes cost when no tracer is attached.
//
// Every scenario of workload.hpp runs in two builds linked into this one
// binary: `traced` (probes present, detached) and `untraced`
// (COTRACE_ENABLED=0). Google Benchmark runs them with repetitions in random
// interleaved order, so both builds see the same machine noise; the summary
// compares the minimum and the median CPU time per round trip, traced /
// untraced, against the design target (<= 1.02x).
//
//   bench_detached [--summary-out=FILE] [google benchmark flags]
//   bench_detached --loop SCENARIO VARIANT N     one build, N round trips, for
//       valgrind --tool=callgrind --collect-atstart=no: only the N round trips
//       are counted (after a warm-up), so instruction counts compare exactly.
//
// Defaults (each overridable on the command line): 20 repetitions, random
// interleaving, 0.1 s per repetition.

#include <benchmark/benchmark.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workload.hpp"

namespace {

using entry_fn = std::uint64_t (*)(std::uint64_t);

struct scenario {
    const char* name;
    const char* what;
    entry_fn traced;
    entry_fn untraced;
};

const scenario scenarios[] = {
#define COTRACE_BENCH_ROW(name, what) \
    {#name, what, cotrace_bench_traced_##name, cotrace_bench_untraced_##name},
    COTRACE_BENCH_SCENARIOS(COTRACE_BENCH_ROW)
#undef COTRACE_BENCH_ROW
};

constexpr double target_ratio = 1.02;

// Round trips per call into a workload object: keeps the benchmark loop's own
// cost (and the call through the PLT) out of the figures.
constexpr std::uint64_t batch = 32;

void run_workload(benchmark::State& state, entry_fn fn) {
    std::uint64_t sum = 0;
    while (state.KeepRunningBatch(batch)) sum += fn(batch);
    benchmark::DoNotOptimize(sum);
}

// Keeps every repetition's CPU time per round trip, and shows only the
// aggregates on the console (the JSON file, --benchmark_out, gets all).
class sample_reporter : public benchmark::ConsoleReporter {
public:
    explicit sample_reporter(OutputOptions options) : ConsoleReporter(options) {}
    std::map<std::string, std::vector<double>> samples;  // "chain7/traced" -> ns per round trip

    void ReportRuns(const std::vector<Run>& runs) override {
        std::vector<Run> shown;
        for (const Run& run : runs) {
            if (run.run_type == Run::RT_Iteration) {
                if (!run.error_occurred)
                    samples[run.run_name.function_name].push_back(run.GetAdjustedCPUTime());
            } else {
                shown.push_back(run);
            }
        }
        if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
    }
};

double min_of(std::vector<double> v) { return *std::min_element(v.begin(), v.end()); }
double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int summarize(const sample_reporter& reporter, const char* summary_path) {
    if (reporter.samples.empty())
        return 0;  // --benchmark_list_tests, or a filter that matched nothing
    std::FILE* tsv = nullptr;
    if (summary_path) {
        tsv = std::fopen(summary_path, "w");
        if (!tsv) {
            std::perror(summary_path);
            return 1;
        }
        std::fprintf(tsv,
                     "scenario\treps\ttraced_min_ns\tuntraced_min_ns\tratio_min\t"
                     "traced_median_ns\tuntraced_median_ns\tratio_median\n");
    }
    std::printf(
        "\nDetached overhead: traced (probes present, no tracer) / untraced (COTRACE_ENABLED=0)\n"
        "CPU ns per round trip, repetitions interleaved at random; target <= %.2fx\n\n",
        target_ratio);
    std::printf("%-18s %5s %11s %11s %9s %11s %11s %9s\n", "scenario", "reps", "traced min",
                "untr. min", "ratio", "traced med", "untr. med", "ratio");
    for (const scenario& s : scenarios) {
        auto t = reporter.samples.find(std::string(s.name) + "/traced");
        auto u = reporter.samples.find(std::string(s.name) + "/untraced");
        if (t == reporter.samples.end() || u == reporter.samples.end()) continue;  // filtered out
        double tmin = min_of(t->second), umin = min_of(u->second);
        double tmed = median_of(t->second), umed = median_of(u->second);
        std::size_t reps = std::min(t->second.size(), u->second.size());
        std::printf("%-18s %5zu %11.1f %11.1f %8.3fx %11.1f %11.1f %8.3fx\n", s.name, reps, tmin,
                    umin, tmin / umin, tmed, umed, tmed / umed);
        if (tsv)
            std::fprintf(tsv, "%s\t%zu\t%.2f\t%.2f\t%.4f\t%.2f\t%.2f\t%.4f\n", s.name, reps, tmin,
                         umin, tmin / umin, tmed, umed, tmed / umed);
    }
    if (tsv) std::fclose(tsv);
    return 0;
}

// --loop SCENARIO VARIANT N
int loop(const char* name, std::string_view variant, const char* count) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(count, &end, 10);
    if (*count == '\0' || *end != '\0' || n == 0) {
        std::fprintf(stderr, "bench_detached: --loop: bad count '%s'\n", count);
        return 2;
    }
    for (const scenario& s : scenarios) {
        if (std::strcmp(s.name, name) != 0) continue;
        entry_fn fn = variant == "traced" ? s.traced : variant == "untraced" ? s.untraced : nullptr;
        if (!fn) break;
        std::uint64_t sum = fn(100);  // warm-up: first-touch of malloc arenas, caches
        CALLGRIND_TOGGLE_COLLECT;
        sum += fn(n);
        CALLGRIND_TOGGLE_COLLECT;
        std::printf("%s/%s %llu round trips, checksum %llu\n", s.name, std::string(variant).c_str(),
                    n, static_cast<unsigned long long>(sum));
        return 0;
    }
    std::fprintf(stderr, "bench_detached: --loop: unknown scenario '%s' or variant '%s'\n", name,
                 std::string(variant).c_str());
    return 2;
}

bool has_flag(const std::vector<char*>& args, std::string_view prefix) {
    return std::any_of(args.begin(), args.end(),
                       [&](const char* a) { return std::string_view(a).starts_with(prefix); });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--loop") == 0) {
        if (argc != 5) {
            std::fprintf(stderr, "usage: %s --loop SCENARIO traced|untraced N\n", argv[0]);
            return 2;
        }
        return loop(argv[2], argv[3], argv[4]);
    }

    // Our own flag, then defaults for the flags the comparison relies on.
    const char* summary_path = nullptr;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.starts_with("--summary-out="))
            summary_path = argv[i] + std::strlen("--summary-out=");
        else
            args.push_back(argv[i]);
    }
    static char reps[] = "--benchmark_repetitions=20";
    static char interleave[] = "--benchmark_enable_random_interleaving=true";
    static char min_time[] = "--benchmark_min_time=0.1";
    if (!has_flag(args, "--benchmark_repetitions")) args.push_back(reps);
    if (!has_flag(args, "--benchmark_enable_random_interleaving")) args.push_back(interleave);
    if (!has_flag(args, "--benchmark_min_time")) args.push_back(min_time);
    // A reporter of our own ignores --benchmark_color: colour only on a terminal.
    const bool color = isatty(STDOUT_FILENO) && !has_flag(args, "--benchmark_color=false");
    int n = static_cast<int>(args.size());
    args.push_back(nullptr);

    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;

    for (const scenario& s : scenarios) {
        benchmark::RegisterBenchmark((std::string(s.name) + "/traced").c_str(), run_workload,
                                     s.traced)
            ->Unit(benchmark::kNanosecond);
        benchmark::RegisterBenchmark((std::string(s.name) + "/untraced").c_str(), run_workload,
                                     s.untraced)
            ->Unit(benchmark::kNanosecond);
    }

    sample_reporter reporter(color ? benchmark::ConsoleReporter::OO_ColorTabular
                                   : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return summarize(reporter, summary_path);
}
