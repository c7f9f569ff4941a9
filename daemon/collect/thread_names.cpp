#include "collect/thread_names.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace cotrace {

namespace {

// Past this many threads seen, forget them all (a process that creates and
// ends threads forever must not grow the set without bound); a thread seen
// again after that is named again, which is harmless.
constexpr std::size_t max_threads_remembered = 1 << 16;

// `name` into args[0..n), NUL padded, cut to the room there is.
void pack(cotrace_event& e, const std::string& name, std::size_t words) {
    char bytes[sizeof e.args] = {};
    std::memcpy(bytes, name.data(), std::min(name.size(), words * sizeof(std::uint64_t)));
    std::memcpy(e.args, bytes, words * sizeof(std::uint64_t));
}

std::string read_first_line(const std::string& path, std::size_t max) {
    std::ifstream f(path);
    std::string line;
    if (!f) return line;
    std::getline(f, line);
    if (line.size() > max) line.resize(max);
    return line;
}

}  // namespace

cotrace_event thread_names::thread_name_event(std::uint32_t pid, std::uint32_t tid, std::uint64_t ts_ns,
                                              const std::string& name) {
    cotrace_event e{};
    e.ts_ns = ts_ns;
    e.pid = pid;
    e.tid = tid;
    e.kind = COTRACE_EV_thread_name;
    pack(e, name, 2);
    return e;
}

cotrace_event thread_names::process_name_event(std::uint32_t pid, std::uint64_t ts_ns, const std::string& name) {
    cotrace_event e{};
    e.ts_ns = ts_ns;
    e.pid = pid;
    e.tid = pid;
    e.kind = COTRACE_EV_process_name;
    pack(e, name, 3);
    return e;
}

std::string thread_names::base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string thread_names::process_name_of(std::uint32_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream f(dir + "/cmdline", std::ios::binary);
    std::string argv0;
    if (f) std::getline(f, argv0, '\0');
    // cmdline is the target's to rewrite: keep what fits the event, no more.
    std::string name = base_name(argv0.substr(0, 4096));
    if (name.empty()) name = read_first_line(dir + "/comm", 16);
    return name;
}

void thread_names::before(const cotrace_event& e, const emit_fn& emit) {
    if (e.kind >= COTRACE_EV_COLLECTOR_FIRST || e.pid != pid_) return;
    if (!process_named_) {
        process_named_ = true;
        if (!process_name_.empty()) emit(process_name_event(pid_, e.ts_ns, process_name_));
    }
    if (seen_.count(e.tid)) return;
    if (seen_.size() >= max_threads_remembered) seen_.clear();
    seen_.insert(e.tid);
    const std::string comm =
        read_first_line("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(e.tid) + "/comm", 16);
    if (!comm.empty()) emit(thread_name_event(pid_, e.tid, e.ts_ns, comm));
}

}  // namespace cotrace
