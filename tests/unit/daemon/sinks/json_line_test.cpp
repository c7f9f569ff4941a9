// The jsonl sink's line builder writes numbers and strings exactly as the
// general json_writer (and std::to_chars) does: the output is a contract, and
// the fast paths must not change a byte of it.

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sinks/json_line.hpp"
#include "sinks/json_writer.hpp"

namespace {

std::string chars_of(std::uint64_t n) {
    char buf[24];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

std::string chars_of(std::int64_t n) {
    char buf[24];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

std::vector<std::uint64_t> edge_numbers() {
    std::vector<std::uint64_t> v;
    std::uint64_t p = 1;
    for (int d = 0; d < 20; ++d, p *= 10) {
        v.push_back(p);
        v.push_back(p - 1);
        v.push_back(p + 1);
        if (d == 19) break;
    }
    v.push_back(10'000'000'000'000'000'000ull);
    v.push_back(std::numeric_limits<std::uint64_t>::max());
    v.push_back(1'764'600'000'000'000'001ull);  // an epoch time: seconds, then nine digits with zeros
    v.push_back(1'764'600'000'100'000'000ull);
    v.push_back(0);
    return v;
}

}  // namespace

TEST(JsonLine, UnsignedNumbersAreWrittenExactlyAsToCharsWritesThemInAnyOrder) {
    std::vector<std::uint64_t> numbers = edge_numbers();
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        const std::uint64_t r = rng();
        numbers.push_back(r >> (rng() % 64));
    }
    // Runs of timestamps sharing their seconds, as a trace's are.
    for (std::uint64_t t = 1'764'600'000'999'999'000ull; t < 1'764'600'001'000'001'000ull; t += 97) numbers.push_back(t);
    cotrace::json_line line;
    for (const std::uint64_t n : numbers) {
        line.clear();
        line.number(n);
        ASSERT_EQ(line.text(), chars_of(n)) << n;
    }
}

TEST(JsonLine, SignedNumbersAreWrittenExactlyAsToCharsWritesThem) {
    cotrace::json_line line;
    for (const std::uint64_t u : edge_numbers()) {
        for (const std::int64_t n : {static_cast<std::int64_t>(u), -static_cast<std::int64_t>(u / 2) - 1}) {
            line.clear();
            line.number(n);
            ASSERT_EQ(line.text(), chars_of(n)) << n;
        }
    }
    line.clear();
    line.number(std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(line.text(), chars_of(std::numeric_limits<std::int64_t>::min()));
}

TEST(JsonLine, StringsOfEveryLengthAndEscapeAreWrittenAsTheJsonWriterWritesThem) {
    const std::string specials[] = {"\"", "\\", "\n", "\t", "\r", std::string(1, '\0'), "\x01", "\x7f",
                                    "\xc3\xa9", "\xe2\x94\x80", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xed\xa0\x80"};
    std::vector<std::string> texts;
    for (std::size_t len = 0; len < 72; ++len)  // past 32: several blocks of 16, the last overlapping
        for (const std::string& sp : specials)
            for (std::size_t at = 0; at <= len; at += 3) {
                std::string s(len, 'a');
                s.insert(at, sp);
                texts.push_back(s);
            }
    cotrace::json_line line;
    for (const std::string& s : texts) {
        std::string expected;
        {
            cotrace::json_writer w(expected);
            w.value(std::string_view(s));
        }
        line.clear();
        line.string(s);
        ASSERT_EQ(line.text(), expected);
    }
}

TEST(JsonLine, SpanIdsAreQuotedHexAsToCharsWritesThem) {
    std::vector<std::uint64_t> numbers = {0, 1, 15, 16, 255, 256, 0xfff, 0x1000, ~std::uint64_t{0}};
    for (int shift = 0; shift < 64; ++shift) numbers.push_back(std::uint64_t{1} << shift);
    std::mt19937_64 rng(11);
    for (int i = 0; i < 5000; ++i) numbers.push_back(rng() >> (rng() % 64));
    cotrace::json_line line;
    for (const std::uint64_t n : numbers) {
        char buf[24];
        const std::string expected = "\"" + std::string(buf, std::to_chars(buf, buf + sizeof buf, n, 16).ptr) + "\"";
        line.clear();
        line.hex(n);
        ASSERT_EQ(line.text(), expected) << n;
    }
}

TEST(JsonLine, ALineLongerThanItsRoomGrowsAndKeepsEveryByte) {
    cotrace::json_line line;
    std::string expected;
    for (int i = 0; i < 5000; ++i) {
        line.literal("{\"n\":");
        const std::uint64_t n = static_cast<std::uint64_t>(i) * std::uint64_t{1'000'000'007};
        line.number(n);
        line.literal("}");
        expected += "{\"n\":" + chars_of(n) + "}";
    }
    EXPECT_EQ(line.text(), expected);
}
