// rpc_client: sends requests to rpc_server over loopback TCP, each carrying
// a W3C traceparent from cotrace::outgoing_traceparent(), which names the
// calling coroutine's span (empty while nobody traces this process).
//
//   rpc_client --port N [--requests N] [--wait-signal]
//
// With --wait-signal it connects, prints "rpc_client pid P ready" and waits
// for SIGUSR1 before the first request (so a tracer can attach first). Each
// reply prints "request I traceparent H result R".

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cotrace/cotrace.hpp>
#include <cotrace/propagation.hpp>
#include <cstdio>

#include "rpc_wire.hpp"

namespace {

struct connection {
    int fd;
    std::string buffer;
};

cotrace::task<long> prepare(long i) { co_return i + 2; }

// The calling span: the traceparent it sends names it.
cotrace::task<long> call_server(connection& c, long n, std::string& header) {
    header = co_await cotrace::outgoing_traceparent();
    if (!rpc::send_all(c.fd, (header.empty() ? std::string("-") : header) + " " + std::to_string(n) + "\n"))
        co_return -1;
    std::string line;
    if (!rpc::read_line(c.fd, c.buffer, line)) co_return -1;
    co_return std::strtol(line.c_str(), nullptr, 10);
}

cotrace::task<long> client_request(connection& c, long i, std::string& header) {
    const long n = co_await prepare(i);
    co_return co_await call_server(c, n, header);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rpc_client: the caller of rpc_server; each request's traceparent names its calling span"};
    unsigned short port = 0;
    long requests = 3;
    bool wait_signal = false;
    app.add_option("--port", port, "rpc_server's TCP port on 127.0.0.1")->required();
    app.add_option("--requests", requests, "How many requests to send");
    app.add_flag("--wait-signal", wait_signal, "Connect, print a ready line, and wait for SIGUSR1 before sending");
    CLI11_PARSE(app, argc, argv);

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (wait_signal) sigprocmask(SIG_BLOCK, &usr1, nullptr);  // before anyone can send it

    connection c{::socket(AF_INET, SOCK_STREAM, 0), {}};
    const sockaddr_in addr = rpc::loopback(port);
    if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("rpc_client: cannot connect to 127.0.0.1 (is rpc_server running on --port?)");
        return 1;
    }
    if (wait_signal) {
        std::printf("rpc_client pid %d ready\n", static_cast<int>(::getpid()));
        std::fflush(stdout);
        int sig = 0;
        sigwait(&usr1, &sig);
    }
    for (long i = 0; i < requests; ++i) {
        std::string header;
        const long r = cotrace::sync_wait(client_request(c, i, header));
        std::printf("request %ld traceparent %s result %ld\n", i, header.empty() ? "-" : header.c_str(), r);
        std::fflush(stdout);
        if (r < 0) return 1;
    }
    ::close(c.fd);
    return 0;
}
