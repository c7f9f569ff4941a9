#include "cli/commands.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/fleet_session.hpp"
#include "error.hpp"
#include "collect/probe_discovery.hpp"

namespace cotrace {

namespace {

// Watches a process we did not start, through a pidfd (readable once it exits).
class pidfd_watch : public target_watch {
public:
    explicit pidfd_watch(std::uint32_t pid) : fd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {
        if (fd_ < 0)
            throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                        std::to_string(pid) + "`)");
    }
    ~pidfd_watch() override { close(fd_); }
    bool exited() override {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }

private:
    int fd_;
};

// Watches the child `run` started; forwards the first Ctrl-C/SIGTERM to it.
class child_watch : public target_watch {
public:
    explicit child_watch(pid_t pid) : pid_(pid) {}
    bool exited() override {
        if (done_) return true;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_ && (WIFEXITED(status) || WIFSIGNALED(status))) {
            done_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        return done_;
    }
    bool on_interrupt() override {
        kill(pid_, SIGTERM);
        return true;
    }
    int wait() {
        while (!exited()) {
            int status = 0;
            if (waitpid(pid_, &status, 0) == pid_ && (WIFEXITED(status) || WIFSIGNALED(status))) {
                done_ = true;
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
        }
        return status_;
    }

private:
    pid_t pid_;
    bool done_ = false;
    int status_ = 0;
};

// The executable execvp would run for argv0.
std::string resolve_executable(const std::string& argv0) {
    auto usable = [](const std::string& p) { return access(p.c_str(), X_OK) == 0; };
    std::string found;
    if (argv0.find('/') != std::string::npos) {
        if (usable(argv0)) found = argv0;
    } else if (const char* path = std::getenv("PATH")) {
        std::string dirs = path;
        for (std::size_t start = 0; start <= dirs.size();) {
            std::size_t end = dirs.find(':', start);
            if (end == std::string::npos) end = dirs.size();
            std::string dir = dirs.substr(start, end - start);
            std::string candidate = (dir.empty() ? "." : dir) + "/" + argv0;
            if (usable(candidate)) {
                found = candidate;
                break;
            }
            start = end + 1;
        }
    }
    if (found.empty()) throw error("cannot run " + argv0 + ": no such executable (check the path or PATH)");
    char real[PATH_MAX];
    if (!realpath(found.c_str(), real)) throw error("cannot resolve " + found);
    return real;
}

}  // namespace

int attach_command(std::uint32_t pid, const session_options& options) {
    if (pid == 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
        throw error("no process with PID " + std::to_string(pid) + " (check it with `ps -p " +
                        std::to_string(pid) + "`)",
                    exit_usage);
    pidfd_watch watch(pid);
    trace_process(pid, options, watch);
    return exit_ok;
}

int attach_command(const std::vector<std::uint32_t>& pids, const session_options& options) {
    trace_processes(pids, options);
    return exit_ok;
}

int attach_binary_command(const std::string& path, const session_options& options) {
    trace_binary(path, options);
    return exit_ok;
}

int run_command(const std::vector<std::string>& argv, const session_options& options) {
    const std::string exe = resolve_executable(argv.at(0));
    // The child waits on this pipe until the probes are attached, so not an
    // event is missed from its first instruction.
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) throw error("cannot create a pipe");
    const pid_t child = fork();
    if (child < 0) throw error("cannot fork");
    if (child == 0) {
        close(gate[1]);
        char go = 0;
        if (read(gate[0], &go, 1) != 1) _exit(127);  // cotrace failed before attaching
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(exe.c_str(), args.data());
        std::fprintf(stderr, "cotrace: cannot execute %s\n", exe.c_str());
        _exit(127);
    }
    close(gate[0]);
    child_watch watch(child);
    try {
        trace_process(static_cast<std::uint32_t>(child), options, watch, exe, [&] {
            const char go = 1;
            if (write(gate[1], &go, 1) != 1) throw error("cannot start " + exe);
            close(gate[1]);
            gate[1] = -1;
        });
    } catch (...) {
        if (gate[1] >= 0) close(gate[1]);  // the child exits without running CMD
        kill(child, SIGCONT);  // never left held at the loader's hook
        watch.wait();
        throw;
    }
    // The loader's hook may have stopped it just before its probes were
    // detached: nobody would continue it then.
    kill(child, SIGCONT);
    return watch.wait();
}

int probes_command(std::uint32_t pid, const std::string& path) {
    std::vector<probe_object> objects;
    if (pid != 0)
        objects = find_probe_objects(pid);
    else
        objects.push_back(probe_object_of_file(path));
    std::size_t count = 0;
    for (const probe_object& obj : objects) {
        for (const usdt_note& n : obj.probes) {
            std::printf("%s  %s:%s  address 0x%llx  semaphore 0x%llx\n", obj.path.c_str(), n.provider.c_str(),
                        n.name.c_str(), static_cast<unsigned long long>(n.address),
                        static_cast<unsigned long long>(n.semaphore));
            ++count;
        }
    }
    if (count == 0)
        throw error((pid ? "process " + std::to_string(pid) : path) +
                    " has no cotrace probes: build it with #include <cotrace/cotrace.hpp> (without "
                    "-DCOTRACE_ENABLED=0)");
    return exit_ok;
}

}  // namespace cotrace
