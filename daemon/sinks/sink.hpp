#pragma once
// A sink turns finished traces into one output format. Sinks know nothing of
// BPF or of where events came from; each writes to a std::ostream, so tests
// check them against a std::stringstream. Sinks do not flush per trace (a
// syscall per trace would cap the drain rate): the session flushes the
// stream after each batch of events, so traces still appear as they complete.

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "model/in_flight.hpp"
#include "model/model.hpp"
#include "model/trace_consumer.hpp"

namespace cotrace {

class trace_sink : public trace_consumer {
public:
    // After the last trace: formats with a closing record write it here.
    virtual void finish(const session_summary&) {}
    // A request still in flight (--stuck, SIGUSR1): formats that have a
    // record for it write it and return true; the others return false and
    // the session shows it as text on stderr instead.
    virtual bool on_in_flight(const in_flight_trace&) { return false; }
};

struct sink_options {
    bool colour = false;       // ANSI colours (the tree, on a terminal)
    std::size_t width = 0;     // longest line of text formats, in columns (0: no limit)
    std::string service_name;  // otlp: service.name (empty: the process's name)
};

// Formats by name ("tree", "jsonl"); nullptr for an unknown name.
std::unique_ptr<trace_sink> make_sink(const std::string& format, std::ostream& out, const sink_options& options);
// The names make_sink accepts, and them joined with '|' for --help and errors.
const std::vector<std::string>& sink_format_names();
std::string sink_formats();

}  // namespace cotrace
