#pragma once
// A streaming JSON writer for the hot output path: jsonl writes every trace
// of a session, and building a DOM per trace (nlohmann::json) cost more than
// assembling it. Writes straight into a std::string; commas are automatic.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace cotrace {

// Whether any of the 8 bytes of w (as loaded from memory) may need escaping
// in a JSON string: a control character (< 0x20), a byte >= 0x80 (to check
// as UTF-8), '"' or '\\': json_escape_bits(w) != 0. The bits of several
// words OR together, so that one branch answers for all of them.
inline std::uint64_t json_escape_bits(std::uint64_t w) {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    // >= 0x80, or < 0x20 (the subtraction borrows); a zero byte of quote or
    // backslash (the classic has-zero test: a borrow sets its high bit).
    return (w | (w - ones * 0x20) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)) & highs;
}
inline bool json_word_needs_escape(std::uint64_t w) { return json_escape_bits(w) != 0; }

// The most bytes write_json_string writes for s: every byte escaped as \u00XX, and the quotes.
inline std::size_t max_json_string_size(std::string_view s) { return 6 * s.size() + 2; }
// Writes s as a JSON string (quoted; escaped; bytes that are not UTF-8 as
// U+FFFD) at `at`, which has room for max_json_string_size(s) bytes; returns
// the end of what it wrote.
char* write_json_string(char* at, std::string_view s);

class json_writer {
public:
    // Appends to out; the text is complete in `out` once the writer is gone
    // (it writes through a pointer into spare room, trimmed at the end).
    explicit json_writer(std::string& out) : out_(out), len_(out.size()) {}
    // Writes over out from offset `from` on (a reused line keeps its room).
    json_writer(std::string& out, std::size_t from) : out_(out), len_(std::min(from, out.size())) {}
    ~json_writer() { out_.resize(len_); }
    json_writer(const json_writer&) = delete;
    json_writer& operator=(const json_writer&) = delete;

    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }
    // Keys are the writer's caller's own ASCII literals: written as they are.
    json_writer& key(std::string_view k);

    json_writer& value(std::string_view s);
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(const std::string& s) { return value(std::string_view(s)); }
    json_writer& value(bool b);
    json_writer& value(std::uint64_t n);
    json_writer& value(std::int64_t n);
    json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
    json_writer& null();
    // Text outside any JSON value (a line's newline).
    json_writer& raw(std::string_view s) {
        put(s.data(), s.size());
        return *this;
    }

    // key(k).value(v)
    template <class T>
    json_writer& field(std::string_view k, const T& v) {
        return key(k).value(v);
    }

private:
    json_writer& open(char c);
    json_writer& close(char c);
    void separate();
    // Room for n more bytes at out_[len_].
    char* room(std::size_t n) {
        if (len_ + n > out_.size()) grow(n);
        return out_.data() + len_;
    }
    void grow(std::size_t n);
    void put(char c) { *room(1) = c, ++len_; }
    void put(const char* s, std::size_t n);

    std::string& out_;
    std::size_t len_;  // bytes written; out_ beyond them is spare room
    // Bit d: the container open at depth d has a member already (nesting up
    // to 64 levels; no allocation per writer).
    std::uint64_t nonempty_ = 0;
    unsigned depth_ = 0;
    bool after_key_ = false;
};

}  // namespace cotrace
