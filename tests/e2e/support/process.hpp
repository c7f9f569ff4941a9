#pragma once
// Child processes for the end-to-end tests: start a program with its stdout
// and stderr on pipes, read them line by line as they come, send signals,
// and wait for the exit with a deadline.
//
// Synchronisation is on what the programs print (a "ready" line, the k-th
// trace line) or on their exit, never on sleeps; deadlines only bound a
// failure.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace e2e {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// How long any single wait may take before the test fails. Generous: it only
// bounds a failure, a passing run never waits for it. (cotrace's exit includes
// detaching one uprobe per probe site, ~90 ms each on a busy 2-core VM, so a
// session's end alone can take several seconds.)
inline constexpr std::chrono::seconds deadline{60};

// The lines of one output stream of a child, collected by a reader thread.
class line_stream {
public:
    using predicate = std::function<bool(const std::string&)>;

    line_stream() = default;
    line_stream(const line_stream&) = delete;
    line_stream& operator=(const line_stream&) = delete;
    ~line_stream();

    void start(int fd);  // takes ownership of fd

    // Every complete line so far (without the newline).
    std::vector<std::string> lines() const;
    // Everything so far, lines joined with '\n' (for failure messages).
    std::string text() const;

    // Waits until `count` lines satisfy `match`; returns whether they did
    // before the timeout (false too if the stream ended with fewer).
    bool wait_for_count(const predicate& match, std::size_t count,
                        std::chrono::milliseconds timeout = deadline);
    // The first line that satisfies `match`, waiting for it.
    std::optional<std::string> wait_for(const predicate& match, std::chrono::milliseconds timeout = deadline);
    // Waits until the writer side is closed (every writer exited).
    bool wait_closed(std::chrono::milliseconds timeout = deadline);

    std::size_t count(const predicate& match) const;

private:
    void run();

    int fd_ = -1;
    bool stop_ = false;  // guarded by mu_
    bool closed_ = false;
    std::string partial_;
    std::vector<std::string> lines_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::thread reader_;
};

// How a child ended.
struct exit_status {
    bool exited = false;  // exited normally with `code`
    int code = 0;
    int signal = 0;       // killed by this signal
    bool ok() const { return exited && code == 0; }  // exited with status 0
    std::string describe() const;
};

struct spawn_options {
    bool capture_stdout = true;
    bool capture_stderr = true;
};

class process {
public:
    // Starts argv[0] (a path, or a name looked up in PATH) with stdin from
    // /dev/null. The child is killed if the test process dies. Throws
    // std::runtime_error if it cannot be started.
    static std::unique_ptr<process> spawn(const std::vector<std::string>& argv, spawn_options options = {});

    process(const process&) = delete;
    process& operator=(const process&) = delete;
    // Kills (SIGKILL) and reaps the child if it is still running.
    ~process();

    pid_t pid() const { return pid_; }
    const std::vector<std::string>& argv() const { return argv_; }
    line_stream& out() { return out_; }
    line_stream& err() { return err_; }

    void signal(int sig);
    // Waits for the child to exit (reaping it); nullopt if still running at the timeout.
    std::optional<exit_status> wait(std::chrono::milliseconds timeout = deadline);
    // True while the child has not exited (and has not been reaped).
    bool running();
    // After signal(SIGSTOP): waits until every thread of the child is stopped.
    bool wait_stopped(std::chrono::milliseconds timeout = deadline);
    // Exited children's status once reaped.
    const std::optional<exit_status>& status() const { return status_; }

    // For failure messages: the command line and what it printed.
    std::string describe() const;

private:
    process() = default;
    bool reap(bool block);

    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::vector<std::string> argv_;
    std::optional<exit_status> status_;
    line_stream out_;
    line_stream err_;
};

// Runs a program to completion (deadline-bounded) and returns its status and output.
struct completed {
    exit_status status;
    std::vector<std::string> out;
    std::vector<std::string> err;
    std::string describe() const;
};
completed run_to_completion(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = deadline);

// Helpers for predicates.
bool starts_with(const std::string& s, const std::string& prefix);
bool contains(const std::string& s, const std::string& part);

// A PID that belonged to a process that has exited and been reaped just now
// (so no process has it, barring an immediate wrap-around of PIDs).
pid_t vacant_pid();

}  // namespace e2e
