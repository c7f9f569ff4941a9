#pragma once
// What the offline drain benchmarks share: events built as the BPF side
// writes them, names resolved without a process, and an output stream that
// discards what the sink writes.

#include <cstdint>
#include <optional>
#include <streambuf>
#include <string>

#include "cotrace_probes.h"
#include "model/symbols.hpp"

namespace bench {

inline constexpr std::uint32_t bench_pid = 4242;
// CLOCK_MONOTONIC to Unix-epoch time, as a session in late 2025 would have it.
inline constexpr std::int64_t epoch_offset_ns = 1'764'000'000'000'000'000;

// One probe event of the benchmarks' process; `code` != 0 is the frame's
// resume function, read as the BPF side reads it.
inline cotrace_event make_event(std::uint64_t ts_ns, std::uint32_t tid, int kind, std::uint64_t a0,
                                std::uint64_t a1 = 0, std::uint64_t a2 = 0, std::uint64_t code = 0) {
    cotrace_event e{};
    e.ts_ns = ts_ns;
    e.pid = bench_pid;
    e.tid = tid;
    e.kind = static_cast<std::uint16_t>(kind);
    e.args[0] = a0, e.args[1] = a1, e.args[2] = a2;
    e.code = code;
    e.flags = code ? COTRACE_EVF_CODE_VALID : 0;
    return e;
}

class fake_symbols : public cotrace::symbol_source {
public:
    cotrace::resolved_site site(std::uint32_t, std::uint64_t addr) override {
        return {"handle(int)", "/src/pipeline.cpp", static_cast<std::uint32_t>(addr & 0xff)};
    }
    std::string function(std::uint32_t, std::uint64_t addr) override { return "coroutine_" + std::to_string(addr); }
    std::string text(std::uint32_t, std::uint64_t) override { return "name"; }
    std::optional<std::uint64_t> frame_code(std::uint32_t, std::uint64_t) override { return std::nullopt; }
};

class null_buffer : public std::streambuf {
protected:
    int overflow(int c) override { return c; }
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace bench
