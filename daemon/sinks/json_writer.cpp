#include "sinks/json_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cotrace {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) > 0x9F) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;
        if (c == 0xF4 && b(1) > 0x8F) return 0;
        return 4;
    }
    return 0;
}

}  // namespace

void json_writer::grow(std::size_t n) {
    out_.resize(std::max({len_ + n, out_.size() * 2, std::size_t{256}}));
}

void json_writer::put(const char* s, std::size_t n) {
    if (n == 0) return;  // s may be null then
    std::memcpy(room(n), s, n);
    len_ += n;
}

void json_writer::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    const std::uint64_t bit = std::uint64_t{1} << (depth_ & 63);
    if (nonempty_ & bit) put(',');
    nonempty_ |= bit;
}

json_writer& json_writer::open(char c) {
    separate();
    put(c);
    ++depth_;
    nonempty_ &= ~(std::uint64_t{1} << (depth_ & 63));
    return *this;
}

json_writer& json_writer::close(char c) {
    if (depth_ > 0) --depth_;
    put(c);
    return *this;
}

json_writer& json_writer::key(std::string_view k) {
    separate();
    char* p = room(k.size() + 3);
    *p++ = '"';
    if (!k.empty()) std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = '"';
    *p = ':';
    len_ += k.size() + 3;
    after_key_ = true;
    return *this;
}

namespace {
bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }
}  // namespace

char* write_json_string(char* at, std::string_view s) {
    // Most text needs no escape: find the first byte that may, 8 at a time
    // (the last word overlapping the one before it).
    std::size_t i = 0;
    const std::size_t n = s.size();
    if (n >= 8) {
        std::uint64_t w;
        for (; i + 8 <= n; i += 8) {
            std::memcpy(&w, s.data() + i, 8);
            if (json_word_needs_escape(w)) break;
        }
        if (i + 8 > n) {
            std::memcpy(&w, s.data() + n - 8, 8);
            i = json_word_needs_escape(w) ? n - 8 : n;
        }
    }
    while (i < n && plain(static_cast<unsigned char>(s[i]))) ++i;
    *at++ = '"';
    if (i == s.size()) {
        if (!s.empty()) std::memcpy(at, s.data(), s.size());  // an empty view may have no data
        at += s.size();
        *at++ = '"';
        return at;
    }
    const auto put = [&at](const char* from, std::size_t n) {
        if (n != 0) std::memcpy(at, from, n);
        at += n;
    };
    // Copy runs of characters that need no escape in one go.
    std::size_t run = 0;
    for (; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (plain(c)) continue;
        if (c >= 0x80) {
            // Names come from binaries and target memory: not always UTF-8.
            if (const std::size_t n = utf8_sequence(s, i)) {
                i += n - 1;
                continue;
            }
            put(s.data() + run, i - run);
            put("\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
            run = i + 1;
            continue;
        }
        put(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': put("\\\"", 2); break;
            case '\\': put("\\\\", 2); break;
            case '\n': put("\\n", 2); break;
            case '\r': put("\\r", 2); break;
            case '\t': put("\\t", 2); break;
            default: {
                static const char hex[] = "0123456789abcdef";
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                put(esc, sizeof esc);
            }
        }
    }
    put(s.data() + run, s.size() - run);
    *at++ = '"';
    return at;
}

json_writer& json_writer::value(std::string_view s) {
    separate();
    char* at = room(max_json_string_size(s));
    len_ += static_cast<std::size_t>(write_json_string(at, s) - at);
    return *this;
}

json_writer& json_writer::value(bool b) {
    separate();
    if (b)
        put("true", 4);
    else
        put("false", 5);
    return *this;
}

namespace {
template <class Integer>
std::size_t write_integer(char* at, Integer n) {
    return static_cast<std::size_t>(std::to_chars(at, at + 24, n).ptr - at);
}
}  // namespace

json_writer& json_writer::value(std::uint64_t n) {
    separate();
    len_ += write_integer(room(24), n);
    return *this;
}

json_writer& json_writer::value(std::int64_t n) {
    separate();
    len_ += write_integer(room(24), n);
    return *this;
}

json_writer& json_writer::null() {
    separate();
    put("null", 4);
    return *this;
}

}  // namespace cotrace
