#pragma once
// The examples' RPC over loopback TCP, one request and one reply per line:
//
//   request:  "<traceparent or -> <n>\n"
//   reply:    "<result>\n"
//
// Plain blocking sockets: the point is the header the request carries, not
// the transport.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace rpc {

// Writes all of `data`; false when the peer is gone.
inline bool send_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads one line (without its '\n') into `line`; false at end of stream.
// Lines longer than 4 KiB are refused: the peer is not trusted.
inline bool read_line(int fd, std::string& buffer, std::string& line) {
    for (;;) {
        if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
            line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            return true;
        }
        if (buffer.size() > 4096) return false;
        char chunk[512];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

inline sockaddr_in loopback(unsigned short port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

}  // namespace rpc
