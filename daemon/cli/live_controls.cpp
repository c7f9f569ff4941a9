#include "cli/live_controls.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "clock.hpp"

namespace cotrace {

namespace {

volatile sig_atomic_t show_requested = 0;
void on_usr1(int) { show_requested = 1; }

// The terminal as it was, restored by whichever comes first: the owner's
// destructor, exit, or a signal that would end cotrace without either.
struct termios saved_terminal {};
volatile sig_atomic_t terminal_fd = -1;  // the terminal changed, until restored

void restore_terminal() {
    const int fd = terminal_fd;
    if (fd >= 0) {
        tcsetattr(fd, TCSANOW, &saved_terminal);
        terminal_fd = -1;
    }
}

constexpr int fatal_signals[] = {SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};

void on_fatal(int sig) {
    restore_terminal();  // tcsetattr is async-signal-safe
    signal(sig, SIG_DFL);
    raise(sig);
}

}  // namespace

bool tty_is_not_stdin(int tty_fd, int stdin_fd) {
    struct stat tty {}, in {};
    if (fstat(tty_fd, &tty) != 0) return false;
    if (!isatty(stdin_fd) || fstat(stdin_fd, &in) != 0) return true;
    return tty.st_rdev != in.st_rdev;
}

terminal_keys::terminal_keys(key_source source) {
    if (source == key_source::stdin_terminal) {
        fd_ = STDIN_FILENO;
    } else if (source == key_source::tty_unless_stdin) {
        // O_NONBLOCK: no controlling terminal is no wait, just no keys.
        fd_ = ::open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (fd_ < 0) return;
        owns_fd_ = true;
        if (!tty_is_not_stdin(fd_, STDIN_FILENO)) return;
    } else {
        return;
    }
    // Only in the terminal's foreground: a background process changing or
    // reading it would be stopped (SIGTTOU, SIGTTIN).
    if (!isatty(fd_) || tcgetpgrp(fd_) != getpgrp() || tcgetattr(fd_, &saved_terminal) != 0) return;
    struct termios raw = saved_terminal;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));  // ISIG stays: Ctrl-C still stops cotrace
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    static bool registered = false;
    if (!registered) {
        std::atexit(restore_terminal);
        registered = true;
    }
    for (int sig : fatal_signals) {
        struct sigaction old {};
        sigaction(sig, nullptr, &old);
        if (old.sa_handler == SIG_DFL) signal(sig, on_fatal);
    }
    if (tcsetattr(fd_, TCSANOW, &raw) != 0) return;
    terminal_fd = fd_;
    active_ = true;
}

terminal_keys::~terminal_keys() {
    if (owns_fd_ && !active_) ::close(fd_);
    if (!active_) return;
    restore_terminal();
    if (owns_fd_) ::close(fd_);
    for (int sig : fatal_signals) {
        struct sigaction old {};
        sigaction(sig, nullptr, &old);
        if (old.sa_handler == on_fatal) signal(sig, SIG_DFL);
    }
}

char terminal_keys::next() {
    if (!active_ || tcgetpgrp(fd_) != getpgrp()) return 0;  // sent to the background since
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return 0;
    char c = 0;
    return read(fd_, &c, 1) == 1 ? c : 0;
}

live_controls::live_controls(const live_options& options) : options_(options) {
    show_requested = 0;
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    // SA_RESTART: a write blocked on the output resumes (the loop's poll and
    // timed waits return early regardless).
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_usr1_);
    if (options_.keys != key_source::none || options_.view)
        keys_ = std::make_unique<terminal_keys>(options_.view ? key_source::stdin_terminal : options_.keys);
    // Often enough that a request is shown within a small part of the
    // threshold after reaching it, and never more than 100 times a second.
    stuck_period_ = std::clamp<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(options_.stuck_ns / 5),
                                                                     std::chrono::milliseconds(10),
                                                                     std::chrono::milliseconds(100));
    next_stuck_check_ = next_tick_ = std::chrono::steady_clock::now();
}

live_controls::~live_controls() { sigaction(SIGUSR1, &old_usr1_, nullptr); }

void live_controls::show_all(trace_output& out, std::uint64_t now_ts) {
    const std::uint64_t stuck_ns = options_.stuck_ns;
    const std::size_t n = out.show_in_flight(now_ts, 0, [&](in_flight_trace& f) {
        f.stuck = stuck_ns != 0 && f.longest_wait_ns >= stuck_ns;
        f.requested = true;
        return true;
    });
    std::fprintf(stderr, "cotrace: %zu %s in flight\n", n, n == 1 ? "request" : "requests");
}

void live_controls::check_stuck(trace_output& out, std::uint64_t now_ts) {
    std::unordered_set<std::uint64_t> now_stuck;
    out.show_in_flight(
        now_ts, options_.stuck_ns,
        [](in_flight_trace& f) {
            f.stuck = true;
            return true;
        },
        [&](std::uint64_t id) {
            now_stuck.insert(id);
            return !stuck_.contains(id);  // once per episode: shown when it became stuck, not copied again
        });
    stuck_.swap(now_stuck);
}

// What the target did up to the request is shown: the events it wrote before
// are still on their way through the ring (the reader wakes in batches), so
// the show waits for an event written after the request, or at most this
// long on a target that has gone quiet.
constexpr std::uint64_t show_catch_up_ns = 100'000'000;

bool live_controls::turn(trace_output& out, std::uint64_t last_event_ts) {
    const auto now = std::chrono::steady_clock::now();
    if (show_requested) {
        show_requested = 0;
        if (show_asked_ts_ == 0) show_asked_ts_ = monotonic_ns();
    }
    for (char c = keys_ ? keys_->next() : 0; c != 0; c = keys_->next()) {
        if (options_.view && options_.view->on_key(c)) return true;
        if (!options_.view && (c == 's' || c == 'S') && show_asked_ts_ == 0) show_asked_ts_ = monotonic_ns();
    }
    if (show_asked_ts_ != 0) {
        const std::uint64_t t = monotonic_ns();
        if (last_event_ts >= show_asked_ts_ || t - show_asked_ts_ >= show_catch_up_ns) {
            show_asked_ts_ = 0;
            show_all(out, t);
        }
    }
    if (options_.stuck_ns != 0 && now >= next_stuck_check_) {
        next_stuck_check_ = now + stuck_period_;
        check_stuck(out, monotonic_ns());
    }
    if (options_.view && now >= next_tick_) {
        next_tick_ = now + options_.view->period();
        options_.view->on_tick(out, monotonic_ns());
    }
    return false;
}

}  // namespace cotrace
