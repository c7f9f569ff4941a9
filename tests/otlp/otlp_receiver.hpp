#pragma once
// A stand-in OpenTelemetry collector on loopback: an HTTP/1.1 server that
// records every request and answers each with the status a test chooses
// (e.g. 503 for a while, then 200; or no answer at all).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace otlp_test {

struct received_request {
    std::string method, path, content_type, body;
    int status = 0;  // what the receiver answered (0: nothing)
};

class otlp_receiver {
public:
    // status_for(n): the HTTP status of the n-th request (0-based); 0 = never answer.
    explicit otlp_receiver(std::function<int(std::size_t)> status_for);
    ~otlp_receiver();
    otlp_receiver(const otlp_receiver&) = delete;
    otlp_receiver& operator=(const otlp_receiver&) = delete;

    std::uint16_t port() const { return port_; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<received_request> requests() const;

private:
    void serve();
    void handle(int fd);

    std::function<int(std::size_t)> status_for_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<received_request> requests_;
    std::vector<int> held_;  // connections never answered, closed at the end
    std::thread thread_;
};

// A loopback port with nothing listening on it (a collector that is gone).
std::uint16_t unused_port();

}  // namespace otlp_test
