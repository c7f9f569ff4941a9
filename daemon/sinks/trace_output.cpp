#include "sinks/trace_output.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "error.hpp"
#include "sinks/dot_directory.hpp"
#include "sinks/tree_sink.hpp"

namespace cotrace {

namespace {

// --width, else COLUMNS (what shells export, and what a user sets to ask
// for a width), else the terminal's when writing to one, else no limit.
std::size_t output_width(const output_options& options) {
    if (options.width) return options.width;
    if (const char* c = std::getenv("COLUMNS")) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(c, &end, 10);
        if (end != c && *end == '\0' && v > 0 && v < 100000) return v;
    }
    winsize ws{};
    if (options.output.empty() && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
        return ws.ws_col;
    return 0;
}

}  // namespace

trace_output::trace_output(const output_options& options, symbol_cache& symbols, std::int64_t clock_offset_ns) {
    if (names_a_directory(options.output)) {
        // -o DIR: a file per trace, which only dot writes.
        if (options.format != "dot")
            throw error("-o " + options.output + " is a directory: only --format dot writes a file per trace (give a "
                        "file name for --format " + options.format + ")",
                        exit_usage);
        own_sink_ = std::make_unique<dot_sink>(dot_directory_opener(options.output));
        sink_ = own_sink_.get();
        out_ = &std::cout;  // nothing is written there
    } else if (!options.output.empty()) {
        file_.open(options.output, std::ios::out | std::ios::trunc);
        if (!file_) throw error("cannot write " + options.output + " (check the directory exists and is writable)");
    }
    if (!sink_) out_ = options.output.empty() ? &std::cout : &file_;
    sink_options so;
    so.colour = options.output.empty() && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    so.width = output_width(options);
    so.service_name = options.service_name;
    if (options.sink) {
        sink_ = options.sink;
    } else if (!sink_) {
        own_sink_ = make_sink(options.format, *out_, so);
        sink_ = own_sink_.get();
    }
    if (!sink_) throw error("unknown format " + options.format + " (use one of " + sink_formats() + ")", exit_usage);
    if (!options.otlp_endpoint.empty()) {
        otlp_http_options ho;
        ho.endpoint = options.otlp_endpoint;
        ho.otlp.service_name = options.service_name;
        exporter_ = std::make_unique<otlp_http_exporter>(ho);
    }
    fan_out_ = std::make_unique<fan_out>(*sink_, exporter_.get());
    filter_ = std::make_unique<trace_filter>(options.filter, *fan_out_);
    filter_active_ = options.filter.active();
    assembler_options limits = options.limits;
    limits.clock_offset_ns = clock_offset_ns;
    assembler_ = std::make_unique<assembler>(symbols, *filter_, limits);
}

std::size_t trace_output::show_in_flight(std::uint64_t now_ts, std::uint64_t min_wait_ns,
                                         const std::function<bool(in_flight_trace&)>& pick,
                                         const std::function<bool(std::uint64_t)>& want) {
    std::size_t shown = 0;
    assembler_->in_flight(now_ts, min_wait_ns, [&](in_flight_trace& f) {
        if (!pick(f)) return;
        ++shown;
        if (sink_->on_in_flight(f)) return;
        if (!in_flight_text_)
            in_flight_text_ = std::make_unique<tree_sink>(std::cerr, isatty(STDERR_FILENO) && !std::getenv("NO_COLOR"));
        in_flight_text_->on_in_flight(f);
    }, want);
    if (shown) {
        out_->flush();
        std::cerr.flush();
    }
    return shown;
}

void trace_output::finish() {
    assembler_->flush();
    const session_summary& s = assembler_->summary();
    sink_->finish(s);
    out_->flush();
    std::fprintf(stderr, "cotrace: %llu events, %llu traces, %llu spans, %llu drops, %llu incomplete",
                 static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.traces),
                 static_cast<unsigned long long>(s.spans), static_cast<unsigned long long>(s.drops),
                 static_cast<unsigned long long>(s.incomplete));
    if (s.evicted_traces) std::fprintf(stderr, ", %llu evicted", static_cast<unsigned long long>(s.evicted_traces));
    // (Counted in traces and segments alike, so only what a filter chose.)
    if (filter_active_ && filter_->passed() != s.traces)
        std::fprintf(stderr, ", %llu shown", static_cast<unsigned long long>(filter_->passed()));
    std::fprintf(stderr, "\n");
    if (exporter_) {
        exporter_->finish();
        const otlp_http_totals x = exporter_->totals();
        std::fprintf(stderr, "cotrace: otlp: %llu spans sent to %s in %llu requests, %llu dropped",
                     static_cast<unsigned long long>(x.spans_sent), exporter_->url().c_str(),
                     static_cast<unsigned long long>(x.requests), static_cast<unsigned long long>(x.spans_dropped));
        if (x.spans_dropped && !x.last_error.empty()) std::fprintf(stderr, " (last error: %s)", x.last_error.c_str());
        std::fprintf(stderr, "\n");
    }
    if (!*out_) throw error("writing the output failed (disk full, or the reader went away)");
}

}  // namespace cotrace
