#include "sinks/json_line.hpp"

#include <algorithm>
#include <bit>

namespace cotrace {

namespace {

// The eight decimal digits of n < 10^8, zero-padded, as the word that holds
// them in memory order: n split into two halves of four digits, each into
// two of two, each into two digits, every split in all lanes of the word at
// once (a multiply by the reciprocal and a shift: exact in these ranges, and
// no lane's product reaches the next).
std::uint64_t eight_digits(std::uint32_t n) {
    static_assert(std::endian::native == std::endian::little);
    const std::uint64_t halves = (n / 10'000) | (std::uint64_t{n % 10'000} << 32);  // 32-bit lanes
    const std::uint64_t hundreds = ((halves * 10'486) >> 20) & 0x0000'007F'0000'007Full;  // lane / 100
    const std::uint64_t pairs = hundreds | ((halves - hundreds * 100) << 16);            // 16-bit lanes
    const std::uint64_t tens = ((pairs * 103) >> 10) & 0x000F'000F'000F'000Full;         // lane / 10
    const std::uint64_t digits = tens | ((pairs - tens * 10) << 8);                       // 8-bit lanes
    return digits + 0x3030'3030'3030'3030ull;                                            // '0' each
}

}  // namespace

void json_line::grow(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(at_ - buf_.data());
    buf_.resize(std::max({used + n, buf_.size() * 2, std::size_t{4096}}));
    at_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
}

char* json_line::large_number(char* at, std::uint64_t n) {
    constexpr std::uint64_t billion = 1'000'000'000;
    if (n < billion) return std::to_chars(at, at + max_number_size, static_cast<std::uint32_t>(n)).ptr;
    const std::uint64_t high = n / billion;
    auto low = static_cast<std::uint32_t>(n - high * billion);
    if (high != high_) {
        high_ = high;  // at most 11 digits: 2^64 / 10^9 < 1.9 * 10^10
        high_size_ = static_cast<std::size_t>(std::to_chars(high_text_, high_text_ + sizeof high_text_, high).ptr -
                                              high_text_);
    }
    // In max_number_size: of these 16 bytes, 11 at most are kept, then 9 digits.
    std::memcpy(at, high_text_, sizeof high_text_);
    at += high_size_;
    // The nine digits below, zero-padded.
    const std::uint32_t first = low / 100'000'000;
    *at = static_cast<char>('0' + first);
    const std::uint64_t rest = eight_digits(low - first * 100'000'000);
    std::memcpy(at + 1, &rest, 8);
    return at + 9;
}

}  // namespace cotrace
