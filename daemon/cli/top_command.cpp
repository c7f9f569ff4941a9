#include "cli/top_command.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

#include "clock.hpp"
#include "cli/commands.hpp"
#include "sinks/top_view.hpp"

namespace cotrace {

namespace {

class top_screen : public session_view {
public:
    top_screen(top_view& view, const top_options& options, bool terminal)
        : view_(view), options_(options), terminal_(terminal) {
        if (terminal_) std::cout << "\033[?25l" << std::flush;  // no cursor while redrawing
    }
    ~top_screen() override {
        if (terminal_) std::cout << "\033[?25h\r\n" << std::flush;
    }
    std::chrono::milliseconds period() const override { return options_.interval; }
    void on_tick(trace_output& out, std::uint64_t now_ts) override {
        out.assembled().in_flight(now_ts, 0, [&](in_flight_trace& f) { view_.add_in_flight(f); });
        std::size_t rows = 0, columns = 0;
        winsize ws{};
        if (terminal_ && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
            rows = ws.ws_row;
            columns = ws.ws_col;
        } else if (terminal_) {
            rows = 24;
            columns = 80;
        }
        view_.render(std::cout, realtime_ns(), rows, columns);
    }
    bool on_key(char c) override { return c == 'q' || c == 'Q'; }

private:
    top_view& view_;
    top_options options_;
    bool terminal_;
};

}  // namespace

int top_command(std::uint32_t pid, const top_options& options) {
    const bool terminal = isatty(STDOUT_FILENO) != 0;
    top_view view(pid, terminal);
    top_screen screen(view, options, terminal);
    session_options so;
    so.output.sink = &view;
    so.live.view = &screen;
    so.live.keys = key_source::stdin_terminal;
    return attach_command(pid, so);
}

}  // namespace cotrace
