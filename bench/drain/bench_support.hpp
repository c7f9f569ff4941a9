#pragma once
// What the offline drain benchmarks share: names resolved without a process,
// and an output stream that discards what the sink writes.

#include <cstdint>
#include <optional>
#include <streambuf>
#include <string>

#include "model/symbols.hpp"

namespace bench {

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
