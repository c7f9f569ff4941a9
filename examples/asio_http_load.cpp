// asio_http_load: load for Asio's shipped HTTP server (cpp11/http/server).
// C concurrent clients each make R requests, one connection per request (the
// server answers HTTP/1.0 and closes), read each response to its end and
// check it is "200 OK". Prints one line:
//   "asio_http_load requests N seconds T requests_per_s R"
// Exits 1 if any request failed. Plain Asio, not traced.
//
//   asio_http_load --port P [--clients C] [--requests R] [--path /index.html]

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace {

using asio::ip::tcp;

struct load {
    asio::io_context io;
    tcp::endpoint server;
    std::string request;
    long requests_left_each = 0;
    long failed = 0;
};

// One client: a request on a fresh connection, the response read to EOF,
// then the next, until its share is done.
struct client : std::enable_shared_from_this<client> {
    client(load& l, long requests) : l_(l), socket_(l.io), left_(requests) {}

    void next() {
        if (left_-- == 0) return;
        socket_ = tcp::socket(l_.io);
        response_.clear();
        socket_.async_connect(l_.server, [self = shared_from_this()](const asio::error_code& ec) {
            if (ec) return self->fail();
            asio::async_write(self->socket_, asio::buffer(self->l_.request),
                              [self](const asio::error_code& ec, std::size_t) {
                                  if (ec) return self->fail();
                                  self->read();
                              });
        });
    }
    void read() {
        socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](const asio::error_code& ec,
                                                                                std::size_t n) {
            self->response_.append(self->buf_, n);
            if (!ec) return self->read();
            if (ec != asio::error::eof || self->response_.rfind("HTTP/1.0 200 OK", 0) != 0) return self->fail();
            self->next();
        });
    }
    void fail() {
        ++l_.failed;
        next();
    }

    load& l_;
    tcp::socket socket_;
    long left_;
    std::string response_;
    char buf_[8192];
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"asio_http_load: drive Asio's example HTTP server with one connection per request"};
    unsigned short port = 0;
    int clients = 4;
    long requests = 1000;
    std::string path = "/index.html";
    app.add_option("--port,-p", port, "The server's port on 127.0.0.1")->required();
    app.add_option("--clients,-c", clients, "Concurrent clients")->check(CLI::Range(1, 1000));
    app.add_option("--requests,-r", requests, "Requests per client")->check(CLI::Range(1L, 100000000L));
    app.add_option("--path", path, "The path requested");
    CLI11_PARSE(app, argc, argv);

    load l;
    l.server = tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
    l.request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    for (int i = 0; i < clients; ++i) std::make_shared<client>(l, requests)->next();
    const auto start = std::chrono::steady_clock::now();
    l.io.run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (l.failed != 0) {
        std::fprintf(stderr, "asio_http_load: %ld requests failed\n", l.failed);
        return 1;
    }
    const long total = requests * clients;
    std::printf("asio_http_load requests %ld seconds %.6f requests_per_s %.1f\n", total, seconds,
                static_cast<double>(total) / seconds);
    return 0;
}
