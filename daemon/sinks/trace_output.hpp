#pragma once
// The output half every session shares, live or replayed: assembler →
// filter → sink into stdout or a file, then the summary. A live session and
// `cotrace report` of its recording go through the same object, which is
// what makes their outputs identical.

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "model/assembler.hpp"
#include "sinks/otlp_http_exporter.hpp"
#include "sinks/sink.hpp"
#include "model/symbol_cache.hpp"
#include "sinks/trace_filter.hpp"

namespace cotrace {

struct output_options {
    std::string format = "tree";
    std::string output;  // empty: stdout
    std::size_t width = 0;  // --width; 0: COLUMNS, else the terminal's on a tty, else no limit
    filter_options filter;
    assembler_options limits;
    std::string service_name;   // otlp service.name (--service)
    std::string otlp_endpoint;  // also POST traces there as OTLP/HTTP (--otlp-endpoint)
    // When set, traces go to this sink (not owned) instead of `format`'s
    // (`cotrace top` aggregates them).
    trace_sink* sink = nullptr;
};

class trace_output {
public:
    // Throws cotrace::error for an unknown format or an unwritable file.
    trace_output(const output_options& options, symbol_cache& symbols, std::int64_t clock_offset_ns);

    void on_event(const cotrace_event& e) { assembler_->on_event(e); }
    void on_drops(std::uint64_t total) { assembler_->on_drops(total); }
    bool limit_reached() const { return filter_->limit_reached(); }
    // The requests in flight now (now_ts on the events' clock): each open
    // trace with a span suspended for at least min_wait_ns (0: every one) is
    // passed to `pick`; those it keeps (true) are shown through the sink, or
    // as text on stderr where the format has no in-flight record. Returns
    // how many were shown. Traces are not filtered, and not counted in --limit.
    // `want` (optional) is asked first, by trace id, before the trace is copied.
    std::size_t show_in_flight(std::uint64_t now_ts, std::uint64_t min_wait_ns,
                               const std::function<bool(in_flight_trace&)>& pick,
                               const std::function<bool(std::uint64_t)>& want = {});
    const cotrace::assembler& assembled() const { return *assembler_; }
    // Pushes what the sink wrote to its reader (after each batch of events).
    void flush() { out_->flush(); }
    // Emits what is still open (incomplete), closes the sink and prints the
    // one-line summary on stderr.
    void finish();

private:
    std::ofstream file_;
    std::ostream* out_;
    // What the filter passes goes to the sink and, with --otlp-endpoint, to
    // the exporter as well.
    class fan_out : public trace_consumer {
    public:
        fan_out(trace_consumer& a, trace_consumer* b) : a_(a), b_(b) {}
        void on_trace(const trace& t) override {
            a_.on_trace(t);
            if (b_) b_->on_trace(t);
        }

    private:
        trace_consumer& a_;
        trace_consumer* b_;
    };
    std::unique_ptr<trace_sink> own_sink_;
    trace_sink* sink_ = nullptr;
    std::unique_ptr<trace_sink> in_flight_text_;  // on stderr, for formats without in-flight records
    std::unique_ptr<otlp_http_exporter> exporter_;
    std::unique_ptr<fan_out> fan_out_;
    std::unique_ptr<trace_filter> filter_;
    bool filter_active_ = false;
    std::unique_ptr<assembler> assembler_;
};

}  // namespace cotrace
