// asio_echo: a TCP echo server written the usual way with Asio C++20
// coroutines (asio::awaitable, co_spawn, use_awaitable) on a multi-threaded
// io_context. It knows nothing of cotrace: the traced build differs only by
//
//   -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp"
//
// (examples/CMakeLists.txt builds it traced, untraced and traced with
// COTRACE_ENABLED=0). Each co_await passes `asio::use_awaitable_t<>()`, whose
// default argument captures the co_await's source location (Asio keeps it
// when handler tracking is on, as the flag turns it on). Under
// `cotrace attach` each client session is one trace:
//
//   session                           the coroutine, for its whole life
//   ├─ socket.async_receive           asio_echo.cpp:63  co_await async_read_some
//   ├─ socket.async_send              asio_echo.cpp:66  co_await async_write
//   ├─ ...                            a receive and a send per message
//   └─ socket.async_receive           end of file: "asio.misc: End of file" = 2
//      • socket.close                 (in the session: its socket is destroyed)
//
// linked from the accept that accepted it. The listener is no trace of its
// own: each accept is a trace of one span.
//
//   asio_echo [--threads T] [--port P] [--forever | --sessions N]
//
// Listens on 127.0.0.1:P (0: an ephemeral port), prints
// "asio_echo pid N port P ready", and serves until N sessions have ended
// (default 1), or with --forever until SIGINT/SIGTERM. Drive it with
// asio_echo_client.

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using asio::ip::tcp;

struct server_state {
    asio::io_context& io;
    long sessions_to_serve;  // 0: forever
    std::atomic<long> sessions_ended{0};
};

// One client: read what it sends, write it back, until it closes.
asio::awaitable<void> session(tcp::socket socket, server_state& state) {
    char data[4096];
    for (;;) {
        asio::error_code ec;
        const std::size_t n =
            co_await socket.async_read_some(asio::buffer(data), asio::redirect_error(asio::use_awaitable_t<>(), ec));
        if (ec) break;  // end of file, or an error: the session is over
        co_await asio::async_write(socket, asio::buffer(data, n),
                                   asio::redirect_error(asio::use_awaitable_t<>(), ec));
        if (ec) break;
    }
    const long ended = state.sessions_ended.fetch_add(1) + 1;
    if (state.sessions_to_serve != 0 && ended >= state.sessions_to_serve) state.io.stop();
}

// Accepts connections for ever; each one is a session of its own.
asio::awaitable<void> listener(tcp::acceptor acceptor, server_state& state) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable_t<>());
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket), state), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"asio_echo: an Asio C++20 coroutine echo server (a cotrace demo target)"};
    int threads = 1;
    unsigned short port = 0;
    bool forever = false;
    long sessions = 1;
    app.add_option("--threads,-t", threads, "Threads running the io_context")->check(CLI::Range(1, 64));
    app.add_option("--port,-p", port, "TCP port on 127.0.0.1 (0: ephemeral, printed)");
    auto* forever_flag = app.add_flag("--forever", forever, "Serve until SIGINT/SIGTERM (so a tracer can attach by PID)");
    app.add_option("--sessions,-s", sessions, "Exit after this many sessions have ended")
        ->check(CLI::PositiveNumber)
        ->excludes(forever_flag);
    CLI11_PARSE(app, argc, argv);

    asio::io_context io(threads);
    server_state state{io, forever ? 0 : sessions};

    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    const unsigned short bound = acceptor.local_endpoint().port();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const asio::error_code&, int) { io.stop(); });

    asio::co_spawn(io, listener(std::move(acceptor), state), asio::detached);
    // Start the listener here, so its first accept is pending before "ready":
    // whoever connects after that line is served by an operation begun before.
    io.poll();

    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
    // Every thread exists from here on.
    std::printf("asio_echo pid %d port %u ready\n", static_cast<int>(getpid()), static_cast<unsigned>(bound));
    std::fflush(stdout);
    io.run();
    io.stop();  // the other threads, when the last session ended on this one
    for (auto& w : workers) w.join();
    std::printf("asio_echo served %ld sessions\n", state.sessions_ended.load());
    return 0;
}
