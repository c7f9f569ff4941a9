#include "target/mapped_file.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace cotrace {

namespace {
constexpr const char deleted_mark[] = " (deleted)";
constexpr std::size_t deleted_mark_length = sizeof deleted_mark - 1;

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}
}  // namespace

std::string mapped_file_name(const mapping& m) {
    const std::string& p = m.path;
    if (p.size() > deleted_mark_length && p.compare(p.size() - deleted_mark_length, deleted_mark_length, deleted_mark) == 0)
        return p.substr(0, p.size() - deleted_mark_length);
    return p;
}

std::string mapped_file_path(std::uint32_t pid, const mapping& m) {
    const std::string by_name = target_path(pid, mapped_file_name(m));
    char range[64];
    std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
                  static_cast<unsigned long long>(m.end));
    const std::string by_mapping = "/proc/" + std::to_string(pid) + "/map_files/" + range;
    if (mapped_file_name(m) == m.path && same_file(by_name, by_mapping)) return by_name;
    struct stat st;
    if (::stat(by_mapping.c_str(), &st) == 0) return by_mapping;
    return by_name;  // map_files unreadable: the name is the best there is
}

}  // namespace cotrace
