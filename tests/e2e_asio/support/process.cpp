#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace e2e_asio {

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

int ms_until(clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
}

exit_status status_of(int raw) {
    exit_status s;
    if (WIFEXITED(raw)) {
        s.exited = true;
        s.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        s.signal = WTERMSIG(raw);
    }
    return s;
}

}  // namespace

line_stream::~line_stream() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) close(fd_);
}

void line_stream::start(int fd) {
    fd_ = fd;
    reader_ = std::thread([this] { run(); });
}

void line_stream::run() {
    char buf[65536];
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (stop_) break;
        }
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, 50);  // wakes up now and then to see stop_
        if (r <= 0) continue;
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        std::lock_guard lock(mu_);
        if (n <= 0) {
            if (!partial_.empty()) lines_.push_back(std::move(partial_));
            partial_.clear();
            closed_ = true;
            cv_.notify_all();
            return;
        }
        partial_.append(buf, static_cast<std::size_t>(n));
        std::size_t pos;
        while ((pos = partial_.find('\n')) != std::string::npos) {
            lines_.push_back(partial_.substr(0, pos));
            partial_.erase(0, pos + 1);
        }
        cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
}

std::vector<std::string> line_stream::lines() const {
    std::lock_guard lock(mu_);
    return lines_;
}

std::string line_stream::text() const {
    std::lock_guard lock(mu_);
    std::string s;
    for (const auto& l : lines_) s += l + "\n";
    if (!partial_.empty()) s += partial_ + "  [no newline yet]\n";
    return s;
}

bool line_stream::wait_for_count(const predicate& match, std::size_t count, std::chrono::milliseconds timeout) {
    const auto end = clock::now() + timeout;
    std::unique_lock lock(mu_);
    std::size_t seen = 0, checked = 0;
    for (;;) {
        for (; checked < lines_.size(); ++checked)
            if (match(lines_[checked])) ++seen;
        if (seen >= count) return true;
        if (closed_) return false;
        if (cv_.wait_until(lock, end) == std::cv_status::timeout) {
            for (; checked < lines_.size(); ++checked)
                if (match(lines_[checked])) ++seen;
            return seen >= count;
        }
    }
}

std::optional<std::string> line_stream::wait_for(const predicate& match, std::chrono::milliseconds timeout) {
    const auto end = clock::now() + timeout;
    std::unique_lock lock(mu_);
    std::size_t checked = 0;
    for (;;) {
        for (; checked < lines_.size(); ++checked)
            if (match(lines_[checked])) return lines_[checked];
        if (closed_) return std::nullopt;
        if (cv_.wait_until(lock, end) == std::cv_status::timeout) {
            for (; checked < lines_.size(); ++checked)
                if (match(lines_[checked])) return lines_[checked];
            return std::nullopt;
        }
    }
}

bool line_stream::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return closed_; });
}

std::string exit_status::describe() const {
    if (exited) return "exit status " + std::to_string(code);
    if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "unknown status";
}

std::unique_ptr<process> process::spawn(const std::vector<std::string>& argv) {
    if (argv.empty()) throw std::runtime_error("spawn: empty argv");
    std::unique_ptr<process> p(new process);
    p->argv_ = argv;

    // Everything the child needs is prepared before fork: between fork and
    // exec it only calls async-signal-safe functions.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0)
        throw std::runtime_error(errno_text("pipe2"));
    const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) throw std::runtime_error(errno_text("open /dev/null"));
    const pid_t parent = getpid();

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(errno_text("fork"));
    if (pid == 0) {
        // A test that dies must not leave a server running behind it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGPIPE, SIG_DFL);
        dup2(devnull, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        execv(args[0], args.data());
        const int e = errno;
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    p->pid_ = pid;
    close(devnull);
    close(report[1]);
    close(out[1]);
    close(err[1]);
    int exec_errno = 0;
    ssize_t n;
    do n = read(report[0], &exec_errno, sizeof exec_errno);
    while (n < 0 && errno == EINTR);
    close(report[0]);
    p->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    p->out_.start(out[0]);
    p->err_.start(err[0]);
    if (n > 0) {
        p->wait(5s);
        throw std::runtime_error("cannot execute " + argv[0] + ": " + std::strerror(exec_errno));
    }
    if (p->pidfd_ < 0) throw std::runtime_error(errno_text("pidfd_open"));
    return p;
}

process::~process() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    if (pidfd_ >= 0) close(pidfd_);
}

bool process::reap(bool block) {
    if (status_) return true;
    int raw = 0;
    pid_t r;
    do r = waitpid(pid_, &raw, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid_) {
        status_ = status_of(raw);
        return true;
    }
    return false;
}

void process::signal(int sig) {
    if (status_) return;  // reaped: the PID may be someone else's now
    ::kill(pid_, sig);
}

std::optional<exit_status> process::wait(std::chrono::milliseconds timeout) {
    const auto end = clock::now() + timeout;
    while (!status_) {
        if (reap(false)) break;
        pollfd p{pidfd_, POLLIN, 0};
        const int r = ::poll(&p, 1, ms_until(end));
        if (r == 0 && clock::now() >= end) return reap(false) ? status_ : std::nullopt;
        if (r < 0 && errno != EINTR && clock::now() >= end) return reap(false) ? status_ : std::nullopt;
    }
    return status_;
}

bool process::running() { return !reap(false); }

std::string process::describe() const {
    std::ostringstream s;
    s << "command:";
    for (const auto& a : argv_) s << ' ' << a;
    s << "\n  pid " << pid_ << ", " << (status_ ? status_->describe() : std::string("running"));
    auto clip = [](const std::string& t) {
        constexpr std::size_t limit = 8000;
        return t.size() <= limit ? t : t.substr(0, limit / 2) + "\n  [...]\n" + t.substr(t.size() - limit / 2);
    };
    s << "\n  stdout:\n" << clip(out_.text()) << "  stderr:\n" << clip(err_.text());
    return s.str();
}

std::string completed::describe() const {
    std::ostringstream s;
    s << status.describe() << "\n  stdout:\n";
    for (const auto& l : out) s << "    " << l << '\n';
    s << "  stderr:\n";
    for (const auto& l : err) s << "    " << l << '\n';
    return s.str();
}

completed run_to_completion(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    auto p = process::spawn(argv);
    auto st = p->wait(timeout);
    if (!st) throw std::runtime_error("still running after the deadline: " + p->describe());
    p->out().wait_closed(5s);
    p->err().wait_closed(5s);
    return {*st, p->out().lines(), p->err().lines()};
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace e2e_asio
