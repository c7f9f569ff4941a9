#pragma once
// Test doubles for the assembler's two interfaces: a symbol_source backed by
// tables the test fills (and that counts every question it is asked), and a
// trace_consumer that keeps every trace it is given.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/assembler.hpp"
#include "model/model.hpp"
#include "model/symbols.hpp"

namespace cotrace_test {

class fake_symbols : public cotrace::symbol_source {
public:
    using key = std::pair<std::uint32_t, std::uint64_t>;  // (pid, address)

    fake_symbols& add_site(std::uint32_t pid, std::uint64_t addr, std::string function, std::string file,
                           std::uint32_t line) {
        sites_[{pid, addr}] = cotrace::resolved_site{std::move(function), std::move(file), line};
        return *this;
    }
    fake_symbols& add_function(std::uint32_t pid, std::uint64_t code, std::string name) {
        functions_[{pid, code}] = std::move(name);
        return *this;
    }
    fake_symbols& add_text(std::uint32_t pid, std::uint64_t addr, std::string text) {
        texts_[{pid, addr}] = std::move(text);
        return *this;
    }
    // The first word of a live frame (read for spans first seen mid-flight).
    fake_symbols& add_frame_code(std::uint32_t pid, std::uint64_t frame, std::uint64_t code) {
        frame_codes_[{pid, frame}] = code;
        return *this;
    }

    cotrace::resolved_site site(std::uint32_t pid, std::uint64_t addr) override {
        ++site_calls;
        ++calls[{pid, addr}];
        auto it = sites_.find({pid, addr});
        return it == sites_.end() ? cotrace::resolved_site{} : it->second;
    }
    std::string function(std::uint32_t pid, std::uint64_t addr) override {
        ++function_calls;
        ++calls[{pid, addr}];
        auto it = functions_.find({pid, addr});
        return it == functions_.end() ? std::string("?") : it->second;
    }
    std::string text(std::uint32_t pid, std::uint64_t addr) override {
        ++text_calls;
        ++calls[{pid, addr}];
        auto it = texts_.find({pid, addr});
        return it == texts_.end() ? std::string("?") : it->second;
    }
    std::optional<std::uint64_t> frame_code(std::uint32_t pid, std::uint64_t frame) override {
        ++frame_code_calls;
        auto it = frame_codes_.find({pid, frame});
        if (it == frame_codes_.end()) return std::nullopt;
        return it->second;
    }

    int site_calls = 0;
    int function_calls = 0;
    int text_calls = 0;
    int frame_code_calls = 0;
    std::map<key, int> calls;  // per (pid, address), sites/functions/texts

private:
    std::map<key, cotrace::resolved_site> sites_;
    std::map<key, std::string> functions_;
    std::map<key, std::string> texts_;
    std::map<key, std::uint64_t> frame_codes_;
};

class collecting_consumer : public cotrace::trace_consumer {
public:
    void on_trace(const cotrace::trace& t) override { traces.push_back(t); }
    std::vector<cotrace::trace> traces;
};

}  // namespace cotrace_test
