// cotrace: attach to a process built with the cotrace headers and show what
// its coroutines did, one trace per request. This file only wires the CLI.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/top_command.hpp"
#include "collect/bpf_collector.hpp"
#include "error.hpp"
#include "sinks/sink.hpp"

namespace {

constexpr const char* version = "0.1.0";

struct filter_args {
    std::string trace_id, min_duration;
};

// --format, -o, the filters and the memory bounds: everything that shapes
// output, shared by attach, run and report.
void add_output_options(CLI::App& cmd, cotrace::output_options& o, filter_args& f) {
    cmd.add_option("--format,-f", o.format, "Output format: " + cotrace::sink_formats())
        ->check(CLI::IsMember(cotrace::sink_format_names()))
        ->capture_default_str();
    cmd.add_option("--output,-o", o.output,
                   "Write traces to FILE instead of stdout; with --format dot, a directory (existing, or "
                   "ending in '/') gets a graph per trace, DIR/<trace id>.dot")
        ->type_name("FILE|DIR");
    cmd.add_option("--width", o.width,
                   "Longest line of the tree, in columns (default: COLUMNS, else the terminal's, else no limit)")
        ->type_name("N")
        ->check(CLI::Range(20, 100000));
    cmd.add_option("--trace", f.trace_id, "Only the trace with this id (16 hex digits, as printed)")
        ->type_name("ID")
        ->check([](const std::string& v) {
            return cotrace::parse_trace_id(v) ? std::string() : "not a trace id (16 hex digits)";
        });
    cmd.add_option("--name", o.filter.name_glob,
                   "Only traces with a span whose name matches GLOB (e.g. 'lookup_*')")
        ->type_name("GLOB");
    cmd.add_option("--min-duration", f.min_duration,
                   "Only traces lasting at least DUR (e.g. 5ms, 250us, 1.5s, 2m, 1h30m; a bare number is ns)")
        ->type_name("DUR")
        ->check([](const std::string& v) {
            return cotrace::parse_duration_ns(v) ? std::string() : "not a duration (e.g. 5ms, 250us, 1.5s, 1h30m)";
        });
    cmd.add_option("--limit", o.filter.limit, "Stop after N traces have been shown")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--service", o.service_name,
                   "OTLP service.name of the traces (--format otlp, --otlp-endpoint; default: the process's name)")
        ->type_name("NAME");
    cmd.add_option("--max-open-spans", o.limits.max_open_spans,
                   "Spans kept in memory at once; past it the oldest open trace is emitted, incomplete")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd.add_option("--max-open-traces", o.limits.max_open_traces,
                   "Open traces kept in memory at once; past it the oldest is emitted, incomplete")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

void apply(const filter_args& f, cotrace::output_options& o) {
    if (!f.trace_id.empty()) o.filter.trace_id = cotrace::parse_trace_id(f.trace_id);
    if (!f.min_duration.empty()) o.filter.min_duration_ns = *cotrace::parse_duration_ns(f.min_duration);
}

// What only a live session has: duration, ring size, recording, sampling.
void add_session_options(CLI::App& cmd, cotrace::session_options& o, filter_args& f) {
    add_output_options(cmd, o.output, f);
    cmd.add_option("--duration", o.duration,
                   "Stop tracing after DUR (e.g. 30s, 1.5m, 1h30m; a bare number is seconds); run still waits for CMD")
        ->type_name("DUR")
        ->transform(CLI::Validator(
            [](std::string& v) {
                const auto ns = cotrace::parse_duration_ns(v, 1e9);
                if (!ns || *ns == 0) return std::string("not a positive duration (e.g. 10, 30s, 1h30m)");
                v = std::to_string(static_cast<double>(*ns) / 1e9);
                return std::string();
            },
            "DUR"));
    cmd.add_option("--save", o.save, "Also record the raw events to FILE (replay with `cotrace report FILE`)")
        ->type_name("FILE");
    cmd.add_option("--sample", o.sample,
                   "Keep one request (root trace) in N, decided in the kernel; children follow their root")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--otlp-endpoint", o.output.otlp_endpoint,
                   "Also send the traces to an OpenTelemetry collector as OTLP/HTTP JSON, while tracing "
                   "(e.g. http://localhost:4318; /v1/traces is appended)")
        ->type_name("URL");
    cmd.add_option_function<std::string>(
           "--stuck",
           [&o](const std::string& v) { o.live.stuck_ns = *cotrace::parse_duration_ns(v); },
           "As soon as a span of a request in flight has been suspended for DUR (e.g. 500ms, 2s), show that "
           "request as it is now, marked STUCK, with where each suspended span waits and for how long; it is "
           "shown again when it ends. SIGUSR1 shows every request in flight now")
        ->type_name("DUR")
        ->check([](const std::string& v) {
            const auto ns = cotrace::parse_duration_ns(v);
            return ns && *ns > 0 ? std::string() : "not a positive duration (e.g. 500ms, 2s, 1m)";
        });
    cmd.add_option("--ring-size", o.ring_bytes,
                   "BPF ring buffer size in bytes (power of two, at least a page, at most 2 GiB)")
        ->capture_default_str()
        ->check([](const std::string& v) {
            std::size_t bytes = 0;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), bytes);
            if (ec != std::errc() || end != v.data() + v.size())
                return std::string("not a size in bytes (e.g. 16777216)");
            return cotrace::ring_size_problem(bytes);
        });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "cotrace: see what a process's C++ coroutines did, one trace per request.\n"
        "The process must be built with the cotrace headers (#include <cotrace/cotrace.hpp>);\n"
        "tracing needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE).",
        "cotrace"};
    app.set_version_flag("--version", std::string("cotrace ") + version);
    app.require_subcommand(1);
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "Diagnostics on stderr (-vv for libbpf's)");
    app.failure_message([](const CLI::App* a, const CLI::Error& e) {
        std::string help = a->get_name();
        for (const CLI::App* sub : a->get_subcommands()) help += " " + sub->get_name();
        return std::string("cotrace: ") + e.what() + " (see `" + help + " --help`)\n";
    });

    cotrace::session_options attach_opts;
    filter_args attach_filters;
    std::vector<std::uint32_t> attach_pids;
    std::string attach_binary;
    auto* attach = app.add_subcommand(
        "attach", "Trace running processes by PID until Ctrl-C, --duration or their exit, or every process running a file");
    auto* attach_pid_opt = attach->add_option("-p,--pid", attach_pids, "Process to trace (repeat for several, one session)")
                               ->take_all()
                               ->expected(1, 1 << 16);
    auto* attach_binary_opt =
        attach->add_option("--binary", attach_binary,
                           "Trace every process running PATH, and every one started later, until Ctrl-C or --duration")
            ->type_name("PATH");
    attach_pid_opt->excludes(attach_binary_opt);
    attach->callback([&] {
        if (attach_pids.empty() && attach_binary.empty()) throw CLI::ValidationError("give -p PID (one or more) or --binary PATH");
    });
    add_session_options(*attach, attach_opts, attach_filters);
    attach_opts.live.keys = cotrace::key_source::stdin_terminal;  // `s` on a terminal shows what is in flight

    cotrace::session_options run_opts;
    filter_args run_filters;
    std::vector<std::string> run_argv;
    auto* run = app.add_subcommand("run", "Start CMD and trace it from its first instruction; exits with CMD's status");
    add_session_options(*run, run_opts, run_filters);
    // CMD inherits stdin: `s` is read from the terminal only where CMD does not read.
    run_opts.live.keys = cotrace::key_source::tty_unless_stdin;
    run->add_option("command", run_argv, "CMD [ARGS...] (after --)")->required();
    run->positionals_at_end();

    cotrace::output_options report_opts;
    filter_args report_filters;
    std::string report_path;
    auto* report = app.add_subcommand("report", "Show a recording made with --save, in any format");
    report->add_option("file", report_path, "The recording")->required()->check(CLI::ExistingFile);
    add_output_options(*report, report_opts, report_filters);

    std::uint32_t top_pid = 0;
    cotrace::top_options top_opts;
    auto* top = app.add_subcommand(
        "top", "Live view of a running process: per coroutine function started/s, in flight, p50/p99, errors; "
               "the oldest requests in flight and where they wait. q quits");
    top->add_option("-p,--pid", top_pid, "Process to watch")->required();
    top->add_option_function<std::string>(
           "--interval", [&](const std::string& v) {
               top_opts.interval = std::chrono::milliseconds(*cotrace::parse_duration_ns(v, 1e9) / 1'000'000);
           },
           "Between redraws (default 1s; e.g. 500ms, 2s; a bare number is seconds)")
        ->type_name("DUR")
        ->check([](const std::string& v) {
            const auto ns = cotrace::parse_duration_ns(v, 1e9);
            return ns && *ns >= 50'000'000 ? std::string() : "not a duration of at least 50ms (e.g. 500ms, 2s)";
        });

    std::uint32_t probes_pid = 0;
    std::string probes_path;
    auto* probes = app.add_subcommand("probes", "List the cotrace probe sites of a process or an ELF file");
    auto* probes_pid_opt = probes->add_option("-p,--pid", probes_pid, "Process to inspect");
    auto* probes_path_opt = probes->add_option("path", probes_path, "Executable or shared library to inspect");
    probes_pid_opt->excludes(probes_path_opt);
    probes->callback([&] {
        if (probes_pid == 0 && probes_path.empty()) throw CLI::ValidationError("give -p PID or a PATH");
    });

    std::uint32_t stacks_pid = 0;
    std::string stacks_format = "text";
    auto* stacks = app.add_subcommand(
        "stacks",
        "Show every coroutine suspended in a process now, as an await tree per request, read from its memory\n"
        "(no tracer needed, nothing written to it; root or ptrace rights over it). Finds cotrace::task frames\n"
        "in malloc'd memory (heap and anonymous mappings) and follows each to the frame awaiting it; other\n"
        "libraries' coroutines are listed by name. How long each has waited is not known (no timestamps):\n"
        "--interval gives a lower bound from two scans.\n"
        "Can miss: frames from custom allocators or pools outside anonymous memory, frames elided into their\n"
        "caller (HALO) or on a stack, and a frame being resumed while it is read (it may show a stale site);\n"
        "needs the target's symbol table (not stripped), and its DWARF (-g) for the file:line where each waits.");
    stacks->add_option("-p,--pid", stacks_pid, "Process to inspect")->required();
    stacks->add_option("--format,-f", stacks_format, "Output format: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    std::optional<std::uint64_t> stacks_interval;
    stacks
        ->add_option_function<std::string>(
            "--interval", [&](const std::string& v) { stacks_interval = cotrace::parse_duration_ns(v, 1e9); },
            "Scan twice, DUR apart, and show \"waiting >= DUR\" for each frame at the same co_await in both\n"
            "(a lower bound: suspended_at_least_ns in JSON); e.g. 500ms, 2s; a bare number is seconds")
        ->type_name("DUR")
        ->check([](const std::string& v) {
            const auto ns = cotrace::parse_duration_ns(v, 1e9);
            return ns && *ns >= 1'000'000 && *ns <= 3600'000'000'000ull
                       ? std::string()
                       : "not a duration from 1ms to 1h (e.g. 500ms, 2s)";
        });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : cotrace::exit_usage;
    }

    auto logger = spdlog::stderr_color_mt("cotrace");
    logger->set_pattern("cotrace: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(verbosity >= 2 ? spdlog::level::trace
                      : verbosity == 1 ? spdlog::level::debug
                                       : spdlog::level::warn);

    try {
        apply(attach_filters, attach_opts.output);
        apply(run_filters, run_opts.output);
        apply(report_filters, report_opts);
        if (attach->parsed()) {
            if (!attach_binary.empty()) return cotrace::attach_binary_command(attach_binary, attach_opts);
            if (attach_pids.size() > 1) return cotrace::attach_command(attach_pids, attach_opts);
            return cotrace::attach_command(attach_pids.front(), attach_opts);
        }
        if (run->parsed()) return cotrace::run_command(run_argv, run_opts);
        if (report->parsed()) {
            cotrace::replay_file(report_path, report_opts);
            return cotrace::exit_ok;
        }
        if (top->parsed()) return cotrace::top_command(top_pid, top_opts);
        if (probes->parsed()) return cotrace::probes_command(probes_pid, probes_path);
        if (stacks->parsed()) return cotrace::stacks_command(stacks_pid, stacks_format, stacks_interval);
    } catch (const cotrace::error& e) {
        std::fprintf(stderr, "cotrace: %s\n", e.what());
        return e.status();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cotrace: %s\n", e.what());
        return cotrace::exit_runtime;
    }
    return cotrace::exit_usage;
}
