#include "sinks/json_writer.hpp"

#include <charconv>

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

void json_writer::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.back()) out_ += ',';
    first_.back() = false;
}

json_writer& json_writer::open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
    return *this;
}

json_writer& json_writer::close(char c) {
    first_.pop_back();
    out_ += c;
    return *this;
}

json_writer& json_writer::key(std::string_view k) {
    value(k);
    out_ += ':';
    after_key_ = true;
    return *this;
}

json_writer& json_writer::value(std::string_view s) {
    separate();
    out_ += '"';
    // Copy runs of characters that need no escape in one go.
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
        if (c >= 0x80) {
            // Names come from binaries and target memory: not always UTF-8.
            if (const std::size_t n = utf8_sequence(s, i)) {
                i += n - 1;
                continue;
            }
            out_.append(s.data() + run, i - run);
            out_ += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            run = i + 1;
            continue;
        }
        out_.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out_ += "\\\""; break;
            case '\\': out_ += "\\\\"; break;
            case '\n': out_ += "\\n"; break;
            case '\r': out_ += "\\r"; break;
            case '\t': out_ += "\\t"; break;
            default: {
                static const char hex[] = "0123456789abcdef";
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                out_.append(esc, sizeof esc);
            }
        }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
    return *this;
}

json_writer& json_writer::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

namespace {
template <class Integer>
void append_integer(std::string& out, Integer n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}
}  // namespace

json_writer& json_writer::value(std::uint64_t n) {
    separate();
    append_integer(out_, n);
    return *this;
}

json_writer& json_writer::value(std::int64_t n) {
    separate();
    append_integer(out_, n);
    return *this;
}

json_writer& json_writer::null() {
    separate();
    out_ += "null";
    return *this;
}

}  // namespace cotrace
