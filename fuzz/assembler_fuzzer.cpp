// libFuzzer: the assembler on arbitrary event sequences, with the model's
// invariants checked on every trace it emits. An input is either a recording
// (its events and symbols replayed, as `cotrace report` does; the seeds are
// recordings of the project's workloads) or raw cotrace_event records.
//
// Invariants (model/model.hpp):
//   - a trace has a non-zero id and at least one span; span ids are non-zero
//     and unique within the trace, and a span id belongs to one trace only;
//   - a span's parent is 0 or a span of the same trace;
//   - an ended span ends no earlier than it started; a running span has no end;
//   - a complete trace holds no running span, and a suspension that ended
//     ended no earlier than it began;
//   - a trace's segments come numbered 0, 1, 2... and none after the final one.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "model/assembler.hpp"
#include "record/recording.hpp"

namespace {

[[noreturn]] void violated(const char* what, std::uint64_t trace, std::uint64_t span) {
    std::fprintf(stderr, "assembler invariant violated: %s (trace %llx, span %llx)\n", what,
                 static_cast<unsigned long long>(trace), static_cast<unsigned long long>(span));
    std::abort();
}

class invariant_checker : public cotrace::trace_consumer {
public:
    void on_trace(const cotrace::trace& t) override {
        if (t.id == 0) violated("trace id 0", t.id, 0);
        if (t.spans.empty()) violated("a trace without spans", t.id, 0);
        auto [seg, fresh] = next_segment_.try_emplace(t.id, 0);
        if (seg->second == final_) violated("a segment after the final one", t.id, 0);
        if (t.segment != seg->second) violated("segments out of order", t.id, 0);
        seg->second = t.final_segment ? final_ : seg->second + 1;

        std::unordered_set<std::uint64_t> ids;
        for (const cotrace::span& s : t.spans) {
            if (s.id == 0) violated("span id 0", t.id, 0);
            if (!ids.insert(s.id).second) violated("a span id twice in one trace", t.id, s.id);
            auto [owner, inserted] = owner_.try_emplace(s.id, t.id);
            if (owner->second != t.id) violated("a span in two traces", t.id, s.id);
        }
        for (const cotrace::span& s : t.spans) {
            if (s.parent_id != 0 && !ids.count(s.parent_id)) violated("a parent outside the trace", t.id, s.id);
            if (s.parent_id == s.id) violated("a span its own parent", t.id, s.id);
            if (s.status == cotrace::span_status::running) {
                if (s.end_ns != 0) violated("a running span with an end", t.id, s.id);
                if (t.complete && t.final_segment) violated("a running span in a complete trace", t.id, s.id);
            } else if (s.end_ns < s.start_ns) {
                violated("a span ending before it started", t.id, s.id);
            }
            for (const cotrace::suspension& z : s.suspends)
                if (z.end_ns != 0 && z.end_ns < z.start_ns) violated("a suspension ending before it began", t.id, s.id);
        }
    }

private:
    static constexpr std::uint32_t final_ = ~std::uint32_t{0};
    std::unordered_map<std::uint64_t, std::uint32_t> next_segment_;
    std::unordered_map<std::uint64_t, std::uint64_t> owner_;
};

// Replays a recording's chunks into the cache and the assembler.
struct replay_into : cotrace::recording_visitor {
    cotrace::symbol_cache& symbols;
    cotrace::assembler& out;
    replay_into(cotrace::symbol_cache& s, cotrace::assembler& a) : symbols(s), out(a) {}
    void on_event(const cotrace_event& e) override { out.on_event(e); }
    void on_symbol(const cotrace::symbol_cache::key& k, const cotrace::symbol_cache::entry& e) override {
        symbols.insert(k, e);
    }
    void on_drops(std::uint64_t total) override { out.on_drops(total); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The last byte picks the bounds, so eviction and segments are explored
    // with inputs of any length.
    const std::uint8_t knobs = data[size - 1];
    cotrace::assembler_options options;
    if (knobs & 1) {
        options.max_open_spans = 1 + (knobs >> 2) % 32;
        options.max_open_traces = 1 + (knobs >> 4) % 4;
    }
    options.threads_start_idle = (knobs & 2) != 0;

    cotrace::symbol_cache symbols;
    invariant_checker checker;
    if (size >= 8 && std::memcmp(data, "COTRACE", 8) == 0) {
        std::FILE* f = fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
        if (!f) return 0;
        try {
            const cotrace::recording_header h = cotrace::read_recording_header(f, "fuzz.cotrace");
            options.clock_offset_ns = h.clock_offset_ns;
            options.threads_start_idle = h.from_start;
            cotrace::assembler a(symbols, checker, options);
            replay_into v(symbols, a);
            cotrace::replay_recording(f, v);
            a.flush();
        } catch (const cotrace::error&) {
        }
        std::fclose(f);
        return 0;
    }
    cotrace::assembler a(symbols, checker, options);
    for (std::size_t at = 0; at + sizeof(cotrace_event) <= size; at += sizeof(cotrace_event)) {
        cotrace_event e;
        std::memcpy(&e, data + at, sizeof e);
        a.on_event(e);
    }
    a.flush();
    return 0;
}
