#pragma once
// One line of JSON built as fast as the jsonl sink needs it: the caller
// writes the punctuation and keys as literals, in order, so nothing is
// decided per value (no comma bookkeeping, no key quoting). Every write
// makes its own room in one buffer that keeps its size from line to line:
// no allocation per line once warmed up.
//
// Timestamps are 19-digit nanoseconds whose leading digits (the seconds)
// rarely change from one value to the next: those are formatted once and
// copied, the nine digits below them computed all at once in one word.

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sinks/json_writer.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

    // Each write below makes its own room. For a run of fields whose size is
    // bounded, the put_* functions write through a local pointer instead,
    // with no check each: reserve(n) makes room for n bytes and returns where
    // to write, each put_* returns the end of what it wrote, and commit(end)
    // takes the line up to there. What each may write: a literal its length,
    // a string max_json_string_size, a number max_number_size, an id
    // max_hex_size (hex, hex16) or 2 * max_hex_size (hex32), a boolean 5.
    static constexpr std::size_t max_number_size = 32;
    static constexpr std::size_t max_hex_size = 20;
    char* reserve(std::size_t n) {
        room(n);
        return at_;
    }
    void commit(char* end) { at_ = end; }

    // Text written as it is: the caller's own JSON punctuation and keys.
    template <std::size_t N>
    static char* put(char* at, const char (&s)[N]) {
        std::memcpy(at, s, N - 1);
        return at + N - 1;
    }
    static char* put_string(char* at, std::string_view s) {
        const std::size_t n = s.size();
        const char* d = s.data();
        if (n == 0) {  // a site not known, say
            at[0] = at[1] = '"';
            return at + 2;
        }
        // Names and paths of 8 bytes or more that need no escape, the most
        // common, a block at a time (overlapping at the end): copied as they
        // are checked, rewritten by write_json_string if one needs escaping.
#if defined(__SSE2__)
        if (n >= 16) {
            std::size_t i = 0;
            for (; i + 16 <= n; i += 16) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i));
                if (block_needs_escape(v)) return write_json_string(at, s);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(at + 1 + i), v);
            }
            if (i < n) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + n - 16));
                if (block_needs_escape(v)) return write_json_string(at, s);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(at + 1 + n - 16), v);
            }
            *at = '"';
            at[n + 1] = '"';
            return at + n + 2;
        }
#else
        if (n >= 16 && n <= 32) {
            std::uint64_t w[4];
            std::memcpy(&w[0], d, 8);
            std::memcpy(&w[1], d + 8, 8);
            std::memcpy(&w[2], d + n - 16, 8);
            std::memcpy(&w[3], d + n - 8, 8);
            if ((json_escape_bits(w[0]) | json_escape_bits(w[1]) | json_escape_bits(w[2]) |
                 json_escape_bits(w[3])) == 0) {
                *at = '"';
                std::memcpy(at + 1, &w[0], 8);
                std::memcpy(at + 9, &w[1], 8);
                std::memcpy(at + 1 + n - 16, &w[2], 8);
                std::memcpy(at + 1 + n - 8, &w[3], 8);
                at[n + 1] = '"';
                return at + n + 2;
            }
            return write_json_string(at, s);
        }
#endif
        if (n >= 8 && n < 16) {
            std::uint64_t first, last;
            std::memcpy(&first, d, 8);
            std::memcpy(&last, d + n - 8, 8);
            if ((json_escape_bits(first) | json_escape_bits(last)) == 0) {
                *at = '"';
                std::memcpy(at + 1, &first, 8);
                std::memcpy(at + 1 + n - 8, &last, 8);
                at[n + 1] = '"';
                return at + n + 2;
            }
        }
        return write_json_string(at, s);
    }
    static char* put_boolean(char* at, bool b) { return b ? put(at, "true") : put(at, "false"); }
    static char* put_null(char* at) { return put(at, "null"); }
    char* put_number(char* at, std::uint64_t n) {
        constexpr std::uint64_t billion = 1'000'000'000;
        if (n >= billion) {
            const std::uint64_t high = n / billion;
            if (high == high_) [[likely]] {  // a time in the same second as the last one
                // Of these 16 bytes, 11 at most are kept, then 9 digits.
                std::memcpy(at, high_text_, sizeof high_text_);
                return put_nine_digits(at + high_size_, static_cast<std::uint32_t>(n - high * billion));
            }
        }
        if (n >= 100) return large_number(at, n);
        if (n < 10) {
            *at = static_cast<char>('0' + n);
            return at + 1;
        }
        at[0] = static_cast<char>('0' + n / 10);
        at[1] = static_cast<char>('0' + n % 10);
        return at + 2;
    }
    char* put_number(char* at, std::uint32_t n) { return put_number(at, static_cast<std::uint64_t>(n)); }
    char* put_number(char* at, std::int64_t n) {
        if (n >= 0) return put_number(at, static_cast<std::uint64_t>(n));
        *at = '-';
        return put_number(at + 1, std::uint64_t{0} - static_cast<std::uint64_t>(n));
    }
    // A span id: a quoted hex number without padding.
    static char* put_hex(char* at, std::uint64_t n) {
        const int size = n == 0 ? 1 : (std::bit_width(n) + 3) / 4;
        *at = '"';
        if (size <= 8) {  // every span id of a session under 2^32 spans
            // Eight digits, the leading zeros shifted out; the bytes past
            // `size` are overwritten or lie beyond the end.
            const std::uint64_t digits = eight_hex_digits(static_cast<std::uint32_t>(n)) >> (8 * (8 - size));
            std::memcpy(at + 1, &digits, 8);
        } else {
            static constexpr char digits[] = "0123456789abcdef";
            for (int i = size; i > 0; --i, n >>= 4) at[i] = digits[n & 0xf];
        }
        at[size + 1] = '"';
        return at + size + 2;
    }
    // A trace id: 16 quoted hex digits (as trace_id_text writes them).
    static char* put_hex16(char* at, std::uint64_t n) {
        *at = '"';
        write_hex16(at + 1, n);
        at[17] = '"';
        return at + 18;
    }
    // Two ids as 32 quoted hex digits (a W3C trace id).
    static char* put_hex32(char* at, std::uint64_t hi, std::uint64_t lo) {
        *at = '"';
        write_hex16(at + 1, hi);
        write_hex16(at + 17, lo);
        at[33] = '"';
        return at + 34;
    }

    template <std::size_t N>
    void literal(const char (&s)[N]) {
        at_ = put(reserve(N), s);
    }
    void string(std::string_view s) { at_ = put_string(reserve(max_json_string_size(s)), s); }
    void boolean(bool b) { at_ = put_boolean(reserve(5), b); }
    void null() { at_ = put_null(reserve(4)); }
    void number(std::uint64_t n) { at_ = put_number(reserve(max_number_size), n); }
    void number(std::uint32_t n) { number(static_cast<std::uint64_t>(n)); }
    void number(std::int64_t n) { at_ = put_number(reserve(max_number_size), n); }
    void hex(std::uint64_t n) { at_ = put_hex(reserve(max_hex_size), n); }
    void hex16(std::uint64_t n) { at_ = put_hex16(reserve(max_hex_size), n); }
    void hex32(std::uint64_t hi, std::uint64_t lo) { at_ = put_hex32(reserve(2 * max_hex_size), hi, lo); }

private:
    void room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - at_) < n) [[unlikely]]
            grow(n);
    }
    void grow(std::size_t n);
    // n >= 100, in max_number_size.
    char* large_number(char* at, std::uint64_t n);
    // The eight decimal digits of n < 10^8, zero-padded, as the word that
    // holds them in memory order: n split into two halves of four digits,
    // each into two of two, each into two digits, every split in all lanes of
    // the word at once (a multiply by the reciprocal and a shift: exact in
    // these ranges, and no lane's product reaches the next).
    static std::uint64_t eight_digits(std::uint32_t n) {
        static_assert(std::endian::native == std::endian::little);
        const std::uint64_t halves = (n / 10'000) | (std::uint64_t{n % 10'000} << 32);          // 32-bit lanes
        const std::uint64_t hundreds = ((halves * 10'486) >> 20) & 0x0000'007F'0000'007Full;  // lane / 100
        const std::uint64_t pairs = hundreds | ((halves - hundreds * 100) << 16);            // 16-bit lanes
        const std::uint64_t tens = ((pairs * 103) >> 10) & 0x000F'000F'000F'000Full;         // lane / 10
        const std::uint64_t digits = tens | ((pairs - tens * 10) << 8);                       // 8-bit lanes
        return digits + 0x3030'3030'3030'3030ull;                                            // '0' each
    }
    // The eight hex digits of n, zero-padded, as the word that holds them in
    // memory order: each nibble spread to a byte of its own, the most
    // significant first, then each turned to '0'-'9' or 'a'-'f' at once.
    static std::uint64_t eight_hex_digits(std::uint32_t n) {
        std::uint64_t x = n;
        x = ((x & 0xFFFF'0000ull) << 16) | (x & 0xFFFFull);
        x = ((x & 0x0000'FF00'0000'FF00ull) << 8) | (x & 0x0000'00FF'0000'00FFull);
        x = ((x & 0x00F0'00F0'00F0'00F0ull) << 4) | (x & 0x000F'000F'000F'000Full);
        x = __builtin_bswap64(x);  // the most significant nibble at the lowest address
        const std::uint64_t letters = ((x + 0x0606'0606'0606'0606ull) >> 4) & 0x0101'0101'0101'0101ull;  // >= 10
        return x + 0x3030'3030'3030'3030ull + letters * ('a' - '0' - 10);
    }
    // n < 10^9 as nine digits, zero-padded.
    static char* put_nine_digits(char* at, std::uint32_t n) {
        const std::uint32_t first = n / 100'000'000;
        *at = static_cast<char>('0' + first);
        const std::uint64_t rest = eight_digits(n - first * 100'000'000);
        std::memcpy(at + 1, &rest, 8);
        return at + 9;
    }
#if defined(__SSE2__)
    // Whether any of 16 bytes may need escaping (as json_word_needs_escape):
    // '"', '\\', or, as signed bytes, below 0x20 (which takes in >= 0x80).
    static bool block_needs_escape(__m128i v) {
        const __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                         _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        return _mm_movemask_epi8(bad) != 0;
    }
#endif
    static void write_hex16(char* at, std::uint64_t n) {
        static constexpr char digits[] = "0123456789abcdef";
        for (int i = 15; i >= 0; --i, n >>= 4) at[i] = digits[n & 0xf];
    }

    std::string buf_;
    char* at_ = nullptr;  // the end of the line so far, in buf_
    char* end_ = nullptr;
    // The digits above the last nine of the last number of ten digits or more.
    std::uint64_t high_ = ~std::uint64_t{0};
    char high_text_[16] = {};  // copied whole: a number has room for it
    std::size_t high_size_ = 0;
};

}  // namespace cotrace
