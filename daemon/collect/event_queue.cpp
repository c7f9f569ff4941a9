#include "collect/event_queue.hpp"

namespace cotrace {

namespace {
std::size_t power_of_two_at_least(std::size_t n) {
    std::size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}
}  // namespace

event_queue::event_queue(std::size_t capacity)
    : slots_(power_of_two_at_least(capacity ? capacity : 1)), mask_(slots_.size() - 1) {}

void event_queue::notify() {
    // The common case (the consumer is busy) costs a fence and a load, no
    // lock. The fence orders the pushes before the load, against the
    // consumer announcing its sleep before looking at the queue.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sleeping_.load(std::memory_order_seq_cst)) return;
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_one();
}

void event_queue::close() {
    closed_.store(true, std::memory_order_seq_cst);
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_one();
}

bool event_queue::wait(std::chrono::milliseconds timeout) {
    if (size() > 0) return true;
    std::unique_lock<std::mutex> lock(mu_);
    sleeping_.store(true, std::memory_order_seq_cst);
    // Checked again after announcing the sleep: a push before it is seen
    // here, a push after it sees sleeping_ and notifies under the lock.
    cv_.wait_for(lock, timeout, [&] { return size() > 0 || closed(); });
    sleeping_.store(false, std::memory_order_relaxed);
    return size() > 0;
}

}  // namespace cotrace
