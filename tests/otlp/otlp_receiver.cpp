#include "otlp_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace otlp_test {

namespace {

int loopback_socket(std::uint16_t& port, bool listening) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        (listening && listen(fd, 64) != 0) ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        throw std::runtime_error("cannot bind a loopback port");
    }
    port = ntohs(addr.sin_port);
    return fd;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::uint16_t unused_port() {
    std::uint16_t port = 0;
    close(loopback_socket(port, false));  // bound, never listened: connections are refused
    return port;
}

otlp_receiver::otlp_receiver(std::function<int(std::size_t)> status_for) : status_for_(std::move(status_for)) {
    listen_fd_ = loopback_socket(port_, true);
    thread_ = std::thread([this] { serve(); });
}

otlp_receiver::~otlp_receiver() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
    for (int fd : held_) close(fd);
}

std::vector<received_request> otlp_receiver::requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

void otlp_receiver::serve() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;  // wakes to check stop_
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) handle(fd);
    }
}

// One request per connection (the answer says Connection: close).
void otlp_receiver::handle(int fd) {
    std::string data;
    char buf[65536];
    std::size_t header_end = std::string::npos, body_length = 0;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break;
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
            const std::string headers = lower(data.substr(0, header_end));
            const auto at = headers.find("content-length:");
            if (at != std::string::npos) body_length = std::stoul(headers.substr(at + 15));
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + body_length) break;
    }
    received_request r;
    if (header_end != std::string::npos) {
        const std::string head = data.substr(0, header_end);
        const auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
        r.method = head.substr(0, sp1);
        r.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
        const std::string lowered = lower(head);
        const auto ct = lowered.find("content-type:");
        if (ct != std::string::npos) {
            auto start = ct + 13, end = lowered.find("\r\n", ct);
            while (start < end && head[start] == ' ') ++start;
            r.content_type = head.substr(start, end - start);
        }
        r.body = data.substr(header_end + 4, body_length);
    }
    int status = 0;
    {
        std::lock_guard lock(mu_);
        status = status_for_(requests_.size());
        r.status = status;
        requests_.push_back(std::move(r));
    }
    if (status == 0) {
        held_.push_back(fd);  // a collector that hangs: never answered
        return;
    }
    const std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(fd, reply.data(), reply.size()) < 0) {
    }
    close(fd);
}

}  // namespace otlp_test
