#pragma once
// Child processes for the Asio end-to-end tests: start a program with its
// stdout and stderr on pipes, read them line by line as they come, send
// signals, and wait for the exit with a deadline.
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

namespace e2e_asio {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// How long any single wait may take before the test fails. Generous: it only
// bounds a failure, a passing run never waits for it.
inline constexpr std::chrono::seconds deadline{30};

// The lines of one output stream of a child, collected by a reader thread.
class line_stream {
public:
    using predicate = std::function<bool(const std::string&)>;

    line_stream() = default;
    line_stream(const line_stream&) = delete;
    line_stream& operator=(const line_stream&) = delete;
    ~line_stream();

    void start(int fd);  // takes ownership of fd

    std::vector<std::string> lines() const;  // every complete line so far
    std::string text() const;                 // for failure messages

    // Waits until `count` lines satisfy `match` (false: timeout, or the
    // stream ended with fewer).
    bool wait_for_count(const predicate& match, std::size_t count, std::chrono::milliseconds timeout = deadline);
    // The first line that satisfies `match`, waiting for it.
    std::optional<std::string> wait_for(const predicate& match, std::chrono::milliseconds timeout = deadline);
    // Waits until every writer has closed the stream.
    bool wait_closed(std::chrono::milliseconds timeout = deadline);

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

struct exit_status {
    bool exited = false;  // exited normally with `code`
    int code = 0;
    int signal = 0;  // killed by this signal
    bool ok() const { return exited && code == 0; }
    std::string describe() const;
};

class process {
public:
    // Starts argv[0] (a path) with stdin from /dev/null. The child is killed
    // if the test process dies. Throws std::runtime_error if it cannot start.
    static std::unique_ptr<process> spawn(const std::vector<std::string>& argv);

    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process();  // kills (SIGKILL) and reaps the child if it still runs

    pid_t pid() const { return pid_; }
    line_stream& out() { return out_; }
    line_stream& err() { return err_; }

    void signal(int sig);
    // Waits for the exit (and reaps); nullopt if still running at the timeout.
    std::optional<exit_status> wait(std::chrono::milliseconds timeout = deadline);
    bool running();

    std::string describe() const;  // command line, status and output

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

// Runs a program to completion (deadline-bounded).
struct completed {
    exit_status status;
    std::vector<std::string> out;
    std::vector<std::string> err;
    std::string describe() const;
};
completed run_to_completion(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = deadline);

bool starts_with(const std::string& s, const std::string& prefix);

}  // namespace e2e_asio
