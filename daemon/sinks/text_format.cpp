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
