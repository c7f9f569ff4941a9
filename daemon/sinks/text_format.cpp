#include "sinks/text_format.hpp"

#include <cstdio>

namespace cotrace {

std::string trace_id_text(std::uint64_t id) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
    return buf;
}

std::string millis_text(std::uint64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ns < 100'000 ? "%.3f ms" : "%.2f ms", static_cast<double>(ns) / 1e6);
    return buf;
}

std::string site_text(const source_site& s, bool full_path) {
    if (!s.known()) return "?";
    if (s.file.empty()) return std::string(s.function) + ":" + std::to_string(s.line);
    const auto slash = s.file.rfind('/');
    const std::string file(full_path || slash == std::string::npos ? s.file : s.file.substr(slash + 1));
    return file + ":" + std::to_string(s.line);
}

}  // namespace cotrace

namespace cotrace {

std::size_t display_width(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

namespace {

// Byte offset of the column `col` in UTF-8 text.
std::size_t offset_of_column(const std::string& s, std::size_t col) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == col) return i;
    return s.size();
}

// The end of the template argument list opened just before `from` (the
// matching '>'), or npos.
std::size_t closing_angle(const std::string& s, std::size_t from) {
    int depth = 1;
    for (std::size_t i = from; i < s.size(); ++i) {
        if (s[i] == '<') ++depth;
        if (s[i] == '>' && --depth == 0) return i;
    }
    return std::string::npos;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

}  // namespace

std::string fit_width(const std::string& s, std::size_t width) {
    if (display_width(s) <= width) return s;
    if (width == 0) return "";
    return s.substr(0, offset_of_column(s, width - 1)) + "…";
}

std::string short_name(std::string_view name, std::size_t max_width) {
    std::string s(name);
    replace_all(s, "std::__cxx11::", "std::");
    replace_all(s, "std::__1::", "std::");
    // Default arguments the standard library spells out: ", std::allocator<...>" and co.
    static const char* const defaults[] = {", std::allocator<", ", std::char_traits<", ", std::less<",
                                           ", std::default_delete<", ", std::hash<", ", std::equal_to<",
                                           ", std::polymorphic_allocator<"};
    for (bool changed = true; changed;) {
        changed = false;
        for (const char* d : defaults) {
            const std::string prefix = d;
            for (std::size_t at = s.find(prefix); at != std::string::npos; at = s.find(prefix, at)) {
                const std::size_t close = closing_angle(s, at + prefix.size());
                if (close == std::string::npos) break;
                // Only a trailing argument: what follows is the list's end (or another default).
                std::size_t after = close + 1;
                while (after < s.size() && s[after] == ' ') ++after;
                if (after < s.size() && s[after] != '>' && s[after] != ',') {
                    at = close;
                    continue;
                }
                s.erase(at, close + 1 - at);
                changed = true;
            }
        }
    }
    replace_all(s, " >", ">");
    replace_all(s, "std::basic_string<char>", "std::string");
    replace_all(s, "std::basic_string_view<char>", "std::string_view");
    if (max_width == 0 || display_width(s) <= max_width) return s;
    if (max_width < 3) return fit_width(s, max_width);
    // Keep the start (the function's name) and the end (its last arguments).
    const std::size_t keep = max_width - 1, head = (keep + 1) / 2, tail = keep - head;
    const std::size_t cols = display_width(s);
    return s.substr(0, offset_of_column(s, head)) + "…" + s.substr(offset_of_column(s, cols - tail));
}

}  // namespace cotrace
