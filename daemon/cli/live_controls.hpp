#pragma once
// What a live session shows while requests are still in flight: --stuck
// (a request whose span has been suspended past a threshold, once per stuck
// episode), SIGUSR1 and the `s` key on a terminal (every request in flight
// now; with `run`, read from /dev/tty when CMD's stdin is not the terminal),
// and a periodic view (`cotrace top`). Checked once per turn of the
// session loop, which turns at least every 20 ms with or without events.

#include <signal.h>
#include <termios.h>

#include <chrono>
#include <cstdint>
#include <unordered_set>

#include "sinks/trace_output.hpp"

namespace cotrace {

// A view redrawn on a timer from the session loop (`cotrace top`).
class session_view {
public:
    virtual ~session_view() = default;
    // How often on_tick is called.
    virtual std::chrono::milliseconds period() const { return std::chrono::milliseconds(1000); }
    // now_ts: CLOCK_MONOTONIC, the events' clock.
    virtual void on_tick(trace_output& out, std::uint64_t now_ts) = 0;
    // A key pressed on the terminal; true ends the session.
    virtual bool on_key(char) { return false; }
};

// Where keys are read from.
enum class key_source {
    none,
    stdin_terminal,  // stdin, when it is a terminal (attach, top)
    // The controlling terminal (/dev/tty), only when stdin is not that
    // terminal: `run` leaves stdin to CMD, which inherits it, so keys are
    // read only where CMD does not read (CMD < FILE, a pipe, /dev/null).
    tty_unless_stdin,
};

struct live_options {
    std::uint64_t stuck_ns = 0;     // --stuck; 0: not watched
    key_source keys = key_source::none;
    session_view* view = nullptr;   // redrawn on its timer; it gets the keys first
};

// Whether keys may be read from the terminal open on tty_fd when the
// command's stdin is stdin_fd: not when they are the same terminal.
bool tty_is_not_stdin(int tty_fd, int stdin_fd);

// Puts a terminal in non-canonical mode without echo (a key counts at
// once), and restores it when destroyed, at exit or on a fatal signal.
class terminal_keys {
public:
    explicit terminal_keys(key_source source);  // does nothing unless the source is a terminal
    ~terminal_keys();
    terminal_keys(const terminal_keys&) = delete;
    terminal_keys& operator=(const terminal_keys&) = delete;
    bool active() const { return active_; }
    // The next key pressed, or 0 when none is waiting.
    char next();

private:
    int fd_ = -1;
    bool owns_fd_ = false;  // /dev/tty, opened here
    bool active_ = false;
};

class live_controls {
public:
    explicit live_controls(const live_options& options);  // installs the SIGUSR1 handler
    ~live_controls();                                     // and restores the previous one
    live_controls(const live_controls&) = delete;
    live_controls& operator=(const live_controls&) = delete;

    // Once per turn of the session loop, with the timestamp of the latest
    // event assembled so far. True when the session should end (the view's
    // quit key).
    bool turn(trace_output& out, std::uint64_t last_event_ts);

    // Every request in flight now, through the output; a count on stderr.
    void show_all(trace_output& out, std::uint64_t now_ts);

private:
    void check_stuck(trace_output& out, std::uint64_t now_ts);

    live_options options_;
    std::unique_ptr<terminal_keys> keys_;
    struct sigaction old_usr1_ {};
    std::chrono::steady_clock::time_point next_stuck_check_, next_tick_;
    std::chrono::steady_clock::duration stuck_period_{};
    std::unordered_set<std::uint64_t> stuck_;  // traces shown stuck, until they are not stuck any more
    // A show asked for (SIGUSR1, `s`) at this time, waiting until the events
    // written before it are assembled; 0: none.
    std::uint64_t show_asked_ts_ = 0;
};

}  // namespace cotrace
