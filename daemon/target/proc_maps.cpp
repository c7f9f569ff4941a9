#include "target/proc_maps.hpp"

#include <fstream>
#include <sstream>

namespace cotrace {

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
        m.start = std::stoull(range.substr(0, dash), nullptr, 16);
        m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
        m.offset = std::stoull(offset, nullptr, 16);
        m.exec = perms.size() > 2 && perms[2] == 'x';
        std::getline(in >> std::ws, m.path);
        // [heap], [stack], [vdso] are not files. (A " (deleted)" file keeps
        // its name here; opening it fails later, and it is skipped then.)
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
