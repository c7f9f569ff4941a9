// libFuzzer: the recording reader (`cotrace report FILE`) on arbitrary bytes.
// Any file must end in one clear cotrace::error (a bad header) or a replay of
// its valid prefix: never a crash, an over-read or memory the file does not
// back.

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "error.hpp"
#include "record/recording.hpp"

namespace {
struct checking_visitor : cotrace::recording_visitor {
    std::uint64_t events = 0;
    void on_event(const cotrace_event&) override { ++events; }
    void on_symbol(const cotrace::symbol_cache::key& k, const cotrace::symbol_cache::entry&) override {
        const auto kind = std::get<1>(k);
        if (kind < cotrace::symbol_cache::kind::site || kind > cotrace::symbol_cache::kind::frame_code) std::abort();
    }
    void on_drops(std::uint64_t) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::FILE* f = fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
    if (!f) return 0;
    try {
        const cotrace::recording_header h = cotrace::read_recording_header(f, "fuzz.cotrace");
        if (h.format_version == 0 || h.protocol_version == 0) std::abort();
        checking_visitor v;
        const cotrace::replay_result r = cotrace::replay_recording(f, v);
        if (r.events != v.events) std::abort();
        if (r.events * sizeof(cotrace_event) > size) std::abort();
    } catch (const cotrace::error&) {
        // A bad header: one clear error, as `cotrace report` prints it.
    }
    std::fclose(f);
    return 0;
}
