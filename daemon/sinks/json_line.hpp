#pragma once
// One line of JSON built as fast as the jsonl sink needs it: the caller
// writes the punctuation and keys as literals, in order, so nothing is
// decided per value (no comma bookkeeping, no key quoting). Every write
// makes its own room in one buffer that keeps its size from line to line:
// no allocation per line once warmed up.
//
// Timestamps are 19-digit nanoseconds whose leading digits (the seconds)
// rarely change from one value to the next: those are formatted once and
// copied, the nine digits below them written from a table.

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sinks/json_writer.hpp"

namespace cotrace {

class json_line {
public:
    json_line() { clear(); }
    json_line(const json_line&) = delete;  // at_ points into buf_
    json_line& operator=(const json_line&) = delete;

    // Starts a new line over the previous one.
    void clear() {
        at_ = buf_.data();
        end_ = at_ + buf_.size();
    }
    std::string_view text() const { return {buf_.data(), static_cast<std::size_t>(at_ - buf_.data())}; }

    // Text written as it is: the caller's own JSON punctuation and keys.
    template <std::size_t N>
    void literal(const char (&s)[N]) {
        room(N);
        std::memcpy(at_, s, N - 1);
        at_ += N - 1;
    }
    void string(std::string_view s) {
        room(max_json_string_size(s));
        // Names and paths of 8 to 32 bytes that need no escape, the most
        // common, in a few word loads and stores (overlapping at the end).
        const std::size_t n = s.size();
        if (n >= 8 && n <= 32) {
            const char* d = s.data();
            std::uint64_t w[4];
            std::memcpy(&w[0], d, 8);
            std::memcpy(&w[3], d + n - 8, 8);
            if (n <= 16) {
                if (!json_word_needs_escape(w[0]) && !json_word_needs_escape(w[3])) {
                    *at_ = '"';
                    std::memcpy(at_ + 1, &w[0], 8);
                    std::memcpy(at_ + 1 + n - 8, &w[3], 8);
                    at_[n + 1] = '"';
                    at_ += n + 2;
                    return;
                }
            } else {
                std::memcpy(&w[1], d + 8, 8);
                std::memcpy(&w[2], d + n - 16, 8);
                if (!json_word_needs_escape(w[0]) && !json_word_needs_escape(w[1]) &&
                    !json_word_needs_escape(w[2]) && !json_word_needs_escape(w[3])) {
                    *at_ = '"';
                    std::memcpy(at_ + 1, &w[0], 8);
                    std::memcpy(at_ + 9, &w[1], 8);
                    std::memcpy(at_ + 1 + n - 16, &w[2], 8);
                    std::memcpy(at_ + 1 + n - 8, &w[3], 8);
                    at_[n + 1] = '"';
                    at_ += n + 2;
                    return;
                }
            }
        }
        at_ = write_json_string(at_, s);
    }
    void boolean(bool b) {
        if (b)
            literal("true");
        else
            literal("false");
    }
    void null() { literal("null"); }
    void number(std::uint64_t n) {
        if (n >= 100) return large_number(n);
        room(2);
        if (n < 10) {
            *at_++ = static_cast<char>('0' + n);
        } else {
            at_[0] = static_cast<char>('0' + n / 10);
            at_[1] = static_cast<char>('0' + n % 10);
            at_ += 2;
        }
    }
    void number(std::uint32_t n) { number(static_cast<std::uint64_t>(n)); }
    void number(std::int64_t n) {
        if (n >= 0) return number(static_cast<std::uint64_t>(n));
        literal("-");
        number(std::uint64_t{0} - static_cast<std::uint64_t>(n));
    }
    // A span id: a quoted hex number without padding.
    void hex(std::uint64_t n) {
        room(20);
        *at_++ = '"';
        at_ = std::to_chars(at_, at_ + 16, n, 16).ptr;
        *at_++ = '"';
    }
    // A trace id: 16 quoted hex digits (as trace_id_text writes them).
    void hex16(std::uint64_t n) {
        room(20);
        *at_++ = '"';
        write_hex16(at_, n);
        at_ += 16;
        *at_++ = '"';
    }
    // Two ids as 32 quoted hex digits (a W3C trace id).
    void hex32(std::uint64_t hi, std::uint64_t lo) {
        room(36);
        *at_++ = '"';
        write_hex16(at_, hi);
        write_hex16(at_ + 16, lo);
        at_ += 32;
        *at_++ = '"';
    }

private:
    void room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - at_) < n) [[unlikely]]
            grow(n);
    }
    void grow(std::size_t n);
    void large_number(std::uint64_t n);
    static void write_hex16(char* at, std::uint64_t n) {
        static constexpr char digits[] = "0123456789abcdef";
        for (int i = 15; i >= 0; --i, n >>= 4) at[i] = digits[n & 0xf];
    }

    std::string buf_;
    char* at_ = nullptr;  // the end of the line so far, in buf_
    char* end_ = nullptr;
    // The digits above the last nine of the last number of ten digits or more.
    std::uint64_t high_ = ~std::uint64_t{0};
    char high_text_[16] = {};  // copied whole: the line has room for it
    std::size_t high_size_ = 0;
};

}  // namespace cotrace
