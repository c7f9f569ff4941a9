// asio_echo_client: load for asio_echo. Opens C connections to
// 127.0.0.1:PORT at once; on each, sends M messages of S bytes one after the
// other, reads each echo back in full and checks it, then closes. Exits 0
// when every echo matched, 1 otherwise (or when --timeout-s passes first).
// Prints one line: "asio_echo_client connections C messages N bytes B seconds
// T messages_per_s R" (N = C * M, all of them echoed).
//
//   asio_echo_client --port P [--connections C] [--messages M] [--size S]
//
// With --pause-after K, every connection stops after its K-th echo; once all
// have, the client prints "asio_echo_client paused" and waits for SIGUSR1
// before going on (so a tracer can attach while sessions are open).
//
// Not traced itself (no handler-tracking flag): only the server is.

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using asio::ip::tcp;

struct load {
    unsigned short port = 0;
    int connections = 1;
    long messages = 10;
    std::size_t size = 64;
    long pause_after = 0;                // 0: no pause
    asio::steady_timer* gate = nullptr;  // expires never; cancelled by SIGUSR1
    int paused = 0;
    int done = 0;
    int failed = 0;
    std::string first_error;
};

asio::awaitable<void> connection(load& l, int index) {
    try {
        tcp::socket socket(co_await asio::this_coro::executor);
        co_await socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), l.port),
                                      asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        std::vector<char> out(l.size), in(l.size);
        for (long m = 0; m < l.messages; ++m) {
            if (l.pause_after != 0 && m == l.pause_after) {
                if (++l.paused == l.connections) {
                    std::printf("asio_echo_client paused\n");
                    std::fflush(stdout);
                }
                asio::error_code ec;
                co_await l.gate->async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            // Different bytes per connection and message, so a mixed-up echo shows.
            for (std::size_t i = 0; i < out.size(); ++i)
                out[i] = static_cast<char>('a' + (static_cast<std::size_t>(index) * 7 + m * 3 + i) % 26);
            co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
            co_await asio::async_read(socket, asio::buffer(in), asio::use_awaitable);
            if (in != out) throw std::runtime_error("echo differs from what was sent");
        }
        socket.shutdown(tcp::socket::shutdown_send);
        // Wait for the server to close its side: the session is over then.
        char byte;
        asio::error_code ec;
        co_await socket.async_read_some(asio::buffer(&byte, 1),
                                        asio::redirect_error(asio::use_awaitable, ec));
        if (ec != asio::error::eof) throw std::runtime_error("expected end of file, got: " + ec.message());
    } catch (const std::exception& e) {
        if (l.failed++ == 0) l.first_error = "connection " + std::to_string(index) + ": " + e.what();
    }
    ++l.done;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"asio_echo_client: drive asio_echo with known traffic and check every echo"};
    load l;
    int timeout_s = 60;
    app.add_option("--port,-p", l.port, "asio_echo's port on 127.0.0.1")->required();
    app.add_option("--connections,-c", l.connections, "Concurrent connections")->check(CLI::Range(1, 1000));
    app.add_option("--messages,-m", l.messages, "Messages per connection")->check(CLI::Range(1L, 100000000L));
    app.add_option("--size,-s", l.size, "Bytes per message")->check(CLI::Range(1, 65536));
    app.add_option("--pause-after", l.pause_after,
                   "Pause every connection after this many echoes until SIGUSR1 (0: never)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--timeout-s", timeout_s, "Give up (exit 1) after this long")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    if (l.pause_after >= l.messages) {
        std::fprintf(stderr, "asio_echo_client: --pause-after must be less than --messages\n");
        return 2;
    }

    asio::io_context io(1);
    asio::steady_timer gate(io, asio::steady_timer::time_point::max());
    l.gate = &gate;
    asio::signal_set go(io, SIGUSR1);
    go.async_wait([&](const asio::error_code& ec, int) {
        if (!ec) gate.cancel();
    });
    for (int i = 0; i < l.connections; ++i) asio::co_spawn(io, connection(l, i), asio::detached);
    bool timed_out = false;
    asio::steady_timer deadline(io, std::chrono::seconds(timeout_s));
    deadline.async_wait([&](const asio::error_code& ec) {
        if (!ec) {
            timed_out = true;
            io.stop();
        }
    });
    const auto start = std::chrono::steady_clock::now();
    // Runs until every connection is done (then the timer is the only work left).
    while (l.done < l.connections && !timed_out && io.run_one() > 0) {
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    deadline.cancel();
    go.cancel();

    if (timed_out) {
        std::fprintf(stderr, "asio_echo_client: timed out after %d s (%d of %d connections done)\n", timeout_s,
                     l.done, l.connections);
        return 1;
    }
    if (l.failed != 0) {
        std::fprintf(stderr, "asio_echo_client: %d connections failed; first: %s\n", l.failed,
                     l.first_error.c_str());
        return 1;
    }
    const long total = l.messages * l.connections;
    std::printf("asio_echo_client connections %d messages %ld bytes %zu seconds %.6f messages_per_s %.1f\n",
                l.connections, total, l.size, seconds, static_cast<double>(total) / seconds);
    return 0;
}
