#include "sinks/json_line.hpp"

#include <algorithm>

namespace cotrace {

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
    return put_nine_digits(at + high_size_, low);
}

}  // namespace cotrace
