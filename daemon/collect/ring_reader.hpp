#pragma once
// The thread that drains the BPF ring into a large user-space queue, so the
// ring never waits for assembly or output: the other thread takes events
// from the queue at its own pace. Both sides work in bounded batches, so
// stopping never waits for a producer that keeps writing.
//
// Every event that does not reach the consumer is counted: the queue being
// full (overflow) and, at stop, what was still in the ring (left behind).
// A thread that lost an event to a full queue has its next event that gets
// through marked COTRACE_EVF_AFTER_LOSS, as the BPF side does for a full ring.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <unordered_set>

#include "collect/event_queue.hpp"
#include "collect/ring_consumer.hpp"

namespace cotrace {

// At the end of a session, a backlog of at most this many events (in the
// ring, then in the queue) is the quiet tail of a session and is always
// taken; a larger one is a flood's, and is taken within a deadline. Small
// enough that taking it whole stays within the stop's budget on a loaded
// machine (~30 ms at 0.5 M events/s).
inline constexpr std::size_t quiet_tail_events = 16384;

class ring_reader {
public:
    ring_reader(int ring_map_fd, std::size_t ring_bytes, std::size_t queue_events);
    ~ring_reader();  // stops the thread
    ring_reader(const ring_reader&) = delete;
    ring_reader& operator=(const ring_reader&) = delete;

    event_queue& queue() { return queue_; }

    // Ends the thread: one last bounded pass over the ring into the queue,
    // then what is still in the ring is counted as left behind. Call it once
    // the producer has stopped writing (so that pass finds an end).
    void stop();

    std::uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
    std::uint64_t left_behind() const { return left_behind_.load(std::memory_order_relaxed); }

private:
    void run();
    std::size_t take(std::size_t budget);

    ring_consumer ring_;
    event_queue queue_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> overflowed_{0};
    std::atomic<std::uint64_t> left_behind_{0};
    // Threads whose last event the queue refused (this thread's only).
    // Bounded: past the bound the oldest entries are mostly of threads that
    // have exited, and the set starts again.
    std::unordered_set<std::uint32_t> lost_threads_;
    static constexpr std::size_t max_lost_threads = 65536;
    std::thread thread_;
};

}  // namespace cotrace
