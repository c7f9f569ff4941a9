#include "sinks/otlp_http_exporter.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "error.hpp"

namespace cotrace {

namespace {

constexpr int max_attempts = 8;
constexpr auto first_backoff = std::chrono::milliseconds(100);
constexpr auto max_backoff = std::chrono::milliseconds(5000);

bool retryable(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

// libcurl calls this during a transfer: a non-zero return aborts it, so a
// dead collector never holds the end of the session past finish_timeout.
int abort_when_stopping(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<std::atomic<bool>*>(flag)->load() ? 1 : 0;
}

std::string traces_url(const std::string& endpoint) {
    const bool http = endpoint.rfind("http://", 0) == 0, https = endpoint.rfind("https://", 0) == 0;
    if (!http && !https)
        throw error("--otlp-endpoint " + endpoint + " is not an http:// or https:// URL (e.g. http://localhost:4318)",
                    exit_usage);
    std::string url = endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    const std::string suffix = "/v1/traces";
    if (url.size() < suffix.size() || url.compare(url.size() - suffix.size(), suffix.size(), suffix) != 0)
        url += suffix;
    return url;
}

}  // namespace

otlp_http_exporter::otlp_http_exporter(otlp_http_options options)
    : options_(std::move(options)), url_(traces_url(options_.endpoint)), encoder_(options_.otlp) {
    static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (global != CURLE_OK) throw error(std::string("cannot initialise libcurl: ") + curl_easy_strerror(global));
    sender_ = std::thread([this] { run(); });
}

otlp_http_exporter::~otlp_http_exporter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        abort_transfer_ = true;
    }
    wake_.notify_all();
    if (sender_.joinable()) sender_.join();
}

void otlp_http_exporter::on_trace(const trace& t) {
    const std::size_t spans = otlp_encoder::exported_spans(t);
    if (spans == 0) return;
    scratch_.clear();
    encoder_.resource_spans(t, scratch_);
    std::lock_guard lock(mutex_);
    if (queued_bytes_ + open_.body.size() + scratch_.size() > options_.max_queue_bytes) {
        totals_.spans_dropped += spans;  // the collector is behind: never grow past the bound
        return;
    }
    if (open_.body.empty())
        open_.opened = std::chrono::steady_clock::now();
    else
        open_.body += ',';
    open_.body += scratch_;
    open_.spans += spans;
    if (open_.body.size() >= options_.batch_bytes) {
        seal_locked();
        wake_.notify_all();
    }
}

void otlp_http_exporter::seal_locked() {
    if (open_.body.empty()) return;
    queued_bytes_ += open_.body.size();
    queue_.push_back(std::move(open_));
    open_ = batch{};
}

void otlp_http_exporter::finish() {
    std::unique_lock lock(mutex_);
    flushing_ = true;
    seal_locked();
    wake_.notify_all();
    const bool delivered = wake_.wait_for(lock, options_.finish_timeout,
                                          [&] { return queue_.empty() && open_.body.empty() && !sending_; });
    stopping_ = true;                        // ends the retries
    if (!delivered) abort_transfer_ = true;  // and the transfer under way
    lock.unlock();
    wake_.notify_all();
    if (sender_.joinable()) sender_.join();
}

otlp_http_totals otlp_http_exporter::totals() const {
    std::lock_guard lock(mutex_);
    return totals_;
}

void otlp_http_exporter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, options_.batch_delay,
                       [&] { return stopping_ || !queue_.empty() || (flushing_ && !open_.body.empty()); });
        if (!open_.body.empty() &&
            (flushing_ || std::chrono::steady_clock::now() - open_.opened >= options_.batch_delay))
            seal_locked();
        if (stopping_) break;
        if (queue_.empty()) continue;
        batch b = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= b.body.size();
        sending_ = true;
        lock.unlock();
        const bool sent = deliver(b);
        lock.lock();
        sending_ = false;
        if (sent)
            totals_.spans_sent += b.spans;
        else
            totals_.spans_dropped += b.spans;
        wake_.notify_all();
    }
    // Whatever is left could not be sent in time.
    seal_locked();
    for (const batch& b : queue_) totals_.spans_dropped += b.spans;
    queue_.clear();
    queued_bytes_ = 0;
}

bool otlp_http_exporter::deliver(batch& b) {
    const std::string body = otlp_encoder::request_prefix + b.body + otlp_encoder::request_suffix;
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        std::lock_guard lock(mutex_);
        totals_.last_error = "libcurl could not start a transfer";
        return false;
    }
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"), &curl_slist_free_all);
    curl_easy_setopt(curl.get(), CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, &abort_when_stopping);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &abort_transfer_);

    auto backoff = first_backoff;
    for (int attempt = 1;; ++attempt) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return false;
            ++totals_.requests;
        }
        const CURLcode rc = curl_easy_perform(curl.get());
        long status = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 200 && status < 300) return true;
        const bool again = rc != CURLE_OK || retryable(status);
        {
            std::unique_lock lock(mutex_);
            totals_.last_error = rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                                : "HTTP " + std::to_string(status);
            if (!again || attempt >= max_attempts) return false;
            ++totals_.retries;
            // Wait out the backoff, but not past a stop.
            if (wake_.wait_for(lock, backoff, [&] { return stopping_; })) return false;
        }
        backoff = std::min(backoff * 2, max_backoff);
    }
}

}  // namespace cotrace
