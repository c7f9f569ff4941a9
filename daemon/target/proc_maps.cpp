#include "target/proc_maps.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace cotrace {

namespace {
// A whole hexadecimal field; false for anything else (never throws).
bool parse_hex(const std::string& text, std::uint64_t& out) {
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, out, 16);
    return ec == std::errc() && p == end && !text.empty();
}
}  // namespace

std::vector<mapping> parse_maps(const std::string& text) {
    std::vector<mapping> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        // start-end perms offset dev inode [path]
        std::istringstream in(line);
        std::string range, perms, offset, dev, inode;
        if (!(in >> range >> perms >> offset >> dev >> inode)) continue;
        mapping m;
        const auto dash = range.find('-');
        if (dash == std::string::npos) continue;
        if (!parse_hex(range.substr(0, dash), m.start) || !parse_hex(range.substr(dash + 1), m.end) ||
            !parse_hex(offset, m.offset) || m.end < m.start)
            continue;
        m.exec = perms.size() > 2 && perms[2] == 'x';
        m.read = !perms.empty() && perms[0] == 'r';
        m.write = perms.size() > 1 && perms[1] == 'w';
        std::getline(in >> std::ws, m.path);
        // [heap], [stack], [vdso] are not files. (A " (deleted)" file keeps
        // its name here; opening it fails later, and it is skipped then.)
        m.stack = m.path == "[stack]";
        if (!m.path.empty() && m.path[0] == '[') m.path.clear();
        out.push_back(std::move(m));
    }
    return out;
}

std::optional<std::vector<mapping>> read_maps(std::uint32_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
    if (!f) return std::nullopt;
    std::stringstream text;
    text << f.rdbuf();
    if (f.bad()) return std::nullopt;
    return parse_maps(text.str());
}

std::string target_path(std::uint32_t pid, const std::string& path) {
    return "/proc/" + std::to_string(pid) + "/root" + path;
}

}  // namespace cotrace
