#include "sinks/json_line.hpp"

#include <algorithm>
#include <array>

namespace cotrace {

namespace {

// "00" "01" ... "99": two decimal digits at a time.
constexpr std::array<char, 200> digit_pairs = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[2 * i] = static_cast<char>('0' + i / 10);
        t[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return t;
}();

void put_pair(char* at, std::uint32_t two_digits) { std::memcpy(at, &digit_pairs[2 * two_digits], 2); }

}  // namespace

void json_line::grow(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(at_ - buf_.data());
    buf_.resize(std::max({used + n, buf_.size() * 2, std::size_t{4096}}));
    at_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
}

void json_line::large_number(std::uint64_t n) {
    constexpr std::uint64_t billion = 1'000'000'000;
    room(32);
    if (n < billion) {
        at_ = std::to_chars(at_, at_ + 24, static_cast<std::uint32_t>(n)).ptr;
        return;
    }
    const std::uint64_t high = n / billion;
    auto low = static_cast<std::uint32_t>(n - high * billion);
    if (high != high_) {
        high_ = high;  // at most 11 digits: 2^64 / 10^9 < 1.9 * 10^10
        high_size_ = static_cast<std::size_t>(std::to_chars(high_text_, high_text_ + sizeof high_text_, high).ptr -
                                              high_text_);
    }
    std::memcpy(at_, high_text_, sizeof high_text_);  // in room(32): of these 16, 11 at most are kept, then 9 digits
    at_ += high_size_;
    // The nine digits below, zero-padded.
    const std::uint32_t first = low / 100'000'000;
    low -= first * 100'000'000;
    *at_ = static_cast<char>('0' + first);
    put_pair(at_ + 1, low / 1'000'000);
    put_pair(at_ + 3, low / 10'000 % 100);
    put_pair(at_ + 5, low / 100 % 100);
    put_pair(at_ + 7, low % 100);
    at_ += 9;
}

}  // namespace cotrace
