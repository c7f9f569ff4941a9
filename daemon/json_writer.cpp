#include "json_writer.hpp"

#include <charconv>

namespace cotrace {

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
        if (c >= 0x20 && c != '"' && c != '\\') continue;
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
    out_.append(s.data() + run, s.size() - run);  // UTF-8 passes through
    out_ += '"';
    return *this;
}

json_writer& json_writer::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

json_writer& json_writer::value(std::uint64_t n) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    return *this;
}

json_writer& json_writer::value(std::int64_t n) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    return *this;
}

json_writer& json_writer::null() {
    separate();
    out_ += "null";
    return *this;
}

}  // namespace cotrace
