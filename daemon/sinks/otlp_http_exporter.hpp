#pragma once
// --otlp-endpoint URL: traces POSTed as OTLP/HTTP JSON to URL/v1/traces while
// tracing, alongside the normal output. A slow or dead collector must never
// slow tracing or grow memory: traces are encoded into batches (by size and
// by age) that a sender thread posts with libcurl; the queue is bounded in
// bytes; 429, 502-504 and connection errors are retried with exponential
// backoff; what cannot be delivered is dropped and counted, and the summary
// says so.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "model/trace_consumer.hpp"
#include "sinks/otlp_json.hpp"

namespace cotrace {

struct otlp_http_options {
    std::string endpoint;  // http(s)://host[:port][/prefix]; "/v1/traces" is appended
    otlp_options otlp;
    std::size_t max_queue_bytes = 32u << 20;
    std::size_t batch_bytes = 1u << 20;
    std::chrono::milliseconds batch_delay{500};
    std::chrono::milliseconds finish_timeout{5000};  // how long finish() may wait for delivery
};

struct otlp_http_totals {
    std::uint64_t spans_sent = 0;
    std::uint64_t spans_dropped = 0;
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
    std::string last_error;  // why the last failed attempt failed
};

class otlp_http_exporter : public trace_consumer {
public:
    // Throws cotrace::error (usage) for a URL that is not http:// or https://.
    explicit otlp_http_exporter(otlp_http_options options);
    ~otlp_http_exporter() override;
    otlp_http_exporter(const otlp_http_exporter&) = delete;
    otlp_http_exporter& operator=(const otlp_http_exporter&) = delete;

    void on_trace(const trace& t) override;
    // Sends what is queued, waiting at most finish_timeout; the rest is dropped.
    void finish();
    otlp_http_totals totals() const;
    const std::string& url() const { return url_; }

private:
    struct batch {
        std::string body;  // resourceSpans elements joined by ','
        std::size_t spans = 0;
        std::chrono::steady_clock::time_point opened;
    };
    void run();
    void seal_locked();
    // One batch until delivered, refused or given up; false when stopping.
    bool deliver(batch& b);

    otlp_http_options options_;
    std::string url_;
    otlp_encoder encoder_;
    std::string scratch_;  // encoding buffer (assembler thread)

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    batch open_;
    std::deque<batch> queue_;
    std::size_t queued_bytes_ = 0;
    bool flushing_ = false;
    bool stopping_ = false;
    bool sending_ = false;
    std::atomic<bool> abort_transfer_{false};  // read by libcurl's progress callback
    otlp_http_totals totals_;
    std::thread sender_;
};

}  // namespace cotrace
