#pragma once
// --format jsonl: one JSON object per trace, then a summary object (contract:
// the field list is in the README).

#include <ostream>
#include <string>

#include "sinks/json_line.hpp"
#include "sinks/sink.hpp"

namespace cotrace {

class jsonl_sink : public trace_sink {
public:
    explicit jsonl_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;
    // {"type":"in_flight",...}: the request as it is now (fields in the README).
    bool on_in_flight(const in_flight_trace& f) override;
    static std::string to_json(const in_flight_trace& f);

    // One trace as its JSON line (without the newline).
    static std::string to_json(const trace& t);

private:
    void write_line();

    std::ostream& out_;
    json_line line_;  // reused: no allocation per trace once warmed up
};

}  // namespace cotrace
