#include "sinks/dot_directory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "error.hpp"

namespace cotrace {

bool names_a_directory(const std::string& path) {
    struct stat st {};
    return (!path.empty() && path.back() == '/') ||
           (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
}

dot_sink::graph_opener dot_directory_opener(const std::string& dir) {
    struct stat st {};
    const bool exists = stat(dir.c_str(), &st) == 0;
    const int why = exists ? 0 : errno;
    if (why == ENOTDIR || (exists && !S_ISDIR(st.st_mode)))
        throw error(
            dir + " is not a directory (give a directory for a graph per trace, or a file name)",
            exit_usage);
    if (!exists && (why != ENOENT || mkdir(dir.c_str(), 0777) != 0)) {
        const int cause = why != ENOENT ? why : errno;  // stat's, else mkdir's
        throw error("cannot create the directory " + dir + " (" + std::strerror(cause) +
                        "; check its parent exists and is writable)",
                    exit_usage);
    }
    std::string base = dir;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    if (base != "/") base += '/';
    // Root passes every permission check: only creating a file proves it.
    std::string probe = base + ".cotrace-write-check-XXXXXX";
    const int fd = mkstemp(probe.data());
    if (fd < 0)
        throw error("cannot write in the directory " + dir + " (" + std::strerror(errno) +
                        "; check its permissions, or give another -o)",
                    exit_usage);
    close(fd);
    unlink(probe.c_str());
    return [base](const std::string& name) -> std::unique_ptr<std::ostream> {
        const std::string path = base + name;
        auto out = std::make_unique<std::ofstream>(path, std::ios::out | std::ios::trunc);
        if (!*out)
            throw error("cannot write " + path +
                        " (check the directory is still there and writable)");
        return out;
    };
}

}  // namespace cotrace
