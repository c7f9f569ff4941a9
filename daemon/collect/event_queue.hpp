#pragma once
// A bounded single-producer, single-consumer queue of events between the
// ring reader thread (producer) and the thread that assembles and writes
// (consumer). Fixed capacity, allocated once: a full queue refuses the event
// and the reader counts it as dropped, so neither side ever waits for the
// other to make room.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "cotrace_probes.h"

namespace cotrace {

class event_queue {
public:
    // capacity: rounded up to a power of two.
    explicit event_queue(std::size_t capacity);

    // Producer side. False when full (the event is not queued).
    bool push(const cotrace_event& e) {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ > mask_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ > mask_) return false;
        }
        slots_[tail & mask_] = e;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }
    // After a batch of pushes: wakes the consumer if it sleeps.
    void notify();
    // Producer side: no more events will come (wakes the consumer).
    void close();

    // Consumer side: hands up to `budget` events to f, oldest first.
    template <typename F>
    std::size_t pop(std::size_t budget, F&& f) {
        std::size_t head = head_.load(std::memory_order_relaxed);
        const std::size_t tail = tail_.load(std::memory_order_acquire);
        std::size_t n = 0;
        for (; head != tail && n < budget; ++head, ++n) {
            f(slots_[head & mask_]);
            // Free each slot as it is used, so a slow consumer gives the
            // reader room as early as possible.
            if ((n & 255) == 255) head_.store(head + 1, std::memory_order_release);
        }
        head_.store(head, std::memory_order_release);
        return n;
    }
    // Consumer side: waits up to timeout for an event (or close()); true if
    // there is one.
    bool wait(std::chrono::milliseconds timeout);
    bool closed() const { return closed_.load(std::memory_order_acquire); }
    std::size_t size() const {
        return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
    }
    std::size_t capacity() const { return mask_ + 1; }

private:
    std::vector<cotrace_event> slots_;
    std::size_t mask_;
    alignas(64) std::atomic<std::size_t> head_{0};  // next to pop (consumer)
    alignas(64) std::atomic<std::size_t> tail_{0};  // next to push (producer)
    std::size_t head_cache_ = 0;                    // producer's last view of head_
    std::atomic<bool> closed_{false};
    std::atomic<bool> sleeping_{false};
    std::mutex mu_;
    std::condition_variable cv_;
};

}  // namespace cotrace
