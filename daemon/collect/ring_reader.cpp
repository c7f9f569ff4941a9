#include "collect/ring_reader.hpp"

#include <chrono>
#include <cstring>

namespace cotrace {

namespace {
// Records per batch: small enough that a stop request is seen within
// microseconds, large enough that the per-batch work (publishing positions,
// waking the consumer) stays negligible.
constexpr std::size_t batch_records = 1024;
// How long the reader sleeps on an empty ring before looking again. The BPF
// side wakes it early only when data piles up (wake-ups cost the target more
// than the events themselves).
constexpr int idle_wait_ms = 10;
// After a short batch the reader has caught up with the producer: it lets
// the ring fill for this long rather than spin on a few records at a time,
// which would take a core from the assembler and the target. The ring holds
// far more than this much of any rate.
constexpr auto catch_up_pause = std::chrono::microseconds(500);
// The last pass at stop: bounded in time, what it cannot take is counted.
// A quiet session's tail is always taken (quiet_tail_events), however
// slowly the machine runs this thread: the bound is for floods.
constexpr auto final_pass = std::chrono::milliseconds(30);
}  // namespace

ring_reader::ring_reader(int ring_map_fd, std::size_t ring_bytes, std::size_t queue_events)
    : ring_(ring_map_fd, ring_bytes), queue_(queue_events), thread_([this] { run(); }) {}

ring_reader::~ring_reader() { stop(); }

std::size_t ring_reader::take(std::size_t budget) {
    std::uint64_t overflow = 0;
    const std::size_t n = ring_.consume(budget, [&](const void* data, std::size_t size) {
        if (size < sizeof(cotrace_event)) return;  // not a record of ours
        cotrace_event e;
        std::memcpy(&e, data, sizeof e);
        const bool marked = !lost_threads_.empty() && lost_threads_.erase(e.tid) != 0;
        if (marked) e.flags |= COTRACE_EVF_AFTER_LOSS;
        if (queue_.push(e)) return;
        ++overflow;
        if (lost_threads_.size() >= max_lost_threads) lost_threads_.clear();
        lost_threads_.insert(e.tid);
    });
    if (overflow) overflowed_.fetch_add(overflow, std::memory_order_relaxed);
    if (n) queue_.notify();
    return n;
}

void ring_reader::run() {
    while (!stop_.load(std::memory_order_acquire)) {
        const std::size_t n = take(batch_records);
        if (n == 0)
            ring_.wait(idle_wait_ms);
        else if (n < batch_records)
            std::this_thread::sleep_for(catch_up_pause);
    }
    const auto until = std::chrono::steady_clock::now() + final_pass;
    const bool flood = ring_.pending_bytes() / (sizeof(cotrace_event) + ring_record::header_size) > quiet_tail_events;
    while (take(batch_records) > 0)
        if (flood && std::chrono::steady_clock::now() >= until) break;
    left_behind_.store(ring_.discard_all(), std::memory_order_relaxed);
    queue_.close();
}

void ring_reader::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    thread_.join();
}

}  // namespace cotrace
