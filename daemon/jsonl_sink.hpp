#pragma once
// --format jsonl: one JSON object per trace, then a summary object (contract:
// the field list is in the collector issue and README).

#include <ostream>

#include <nlohmann/json.hpp>

#include "sink.hpp"

namespace cotrace {

class jsonl_sink : public trace_sink {
public:
    explicit jsonl_sink(std::ostream& out) : out_(out) {}
    void on_trace(const trace& t) override;
    void finish(const session_summary& s) override;

    static nlohmann::ordered_json to_json(const trace& t);

private:
    std::ostream& out_;
};

}  // namespace cotrace
