// rpc_server: answers the requests of rpc_client over loopback TCP. Each
// request carries the caller's W3C traceparent; the request's root task
// begins inside cotrace::incoming_traceparent, so its trace continues the
// caller's (whether the caller is traced by this cotrace, another one, or an
// OpenTelemetry SDK).
//
//   rpc_server [--port N] [--connections N]
//
// Prints "rpc_server pid P port N ready" once listening (port 0 picks one),
// serves one connection at a time, and exits after --connections of them
// (0: never).

#include <CLI/CLI.hpp>
#include <cotrace/cotrace.hpp>
#include <cotrace/propagation.hpp>
#include <cstdio>

#include "rpc_wire.hpp"

namespace {

cotrace::task<long> lookup(long n) { co_return n * n; }

cotrace::task<long> render(long value) { co_return value + 1; }

// The request's root: in the caller's trace when the header names one.
cotrace::task<long> serve_request(long n) {
    const long v = co_await lookup(n);
    co_return co_await render(v);
}

void serve_connection(int fd) {
    std::string buffer, line;
    while (rpc::read_line(fd, buffer, line)) {
        const auto space = line.find(' ');
        if (space == std::string::npos) break;
        const std::string header = line.substr(0, space);
        const long n = std::strtol(line.c_str() + space + 1, nullptr, 10);
        long result;
        {
            cotrace::incoming_traceparent scope{header == "-" ? std::string_view() : std::string_view(header)};
            result = cotrace::sync_wait(serve_request(n));
        }
        if (!rpc::send_all(fd, std::to_string(result) + "\n")) break;
    }
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rpc_server: the callee of rpc_client, one trace per request joined to the caller's"};
    unsigned short port = 0;
    unsigned connections = 0;
    app.add_option("--port", port, "TCP port on 127.0.0.1 (0: any free one)");
    app.add_option("--connections", connections, "Exit after serving N connections (0: never)");
    CLI11_PARSE(app, argc, argv);

    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = rpc::loopback(port);
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 16) != 0) {
        std::perror("rpc_server: cannot listen on 127.0.0.1 (choose another --port)");
        return 1;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("rpc_server pid %d port %u ready\n", static_cast<int>(::getpid()), ntohs(addr.sin_port));
    std::fflush(stdout);
    for (unsigned served = 0; connections == 0 || served < connections; ++served) {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) continue;
        serve_connection(fd);
    }
    ::close(listener);
    return 0;
}
