// The queue between the ring reader and the assembler: one thread pushing,
// one popping, nothing lost or reordered that was accepted, nothing
// accepted past capacity.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "collect/event_queue.hpp"

namespace cotrace {
namespace {

cotrace_event numbered(std::uint64_t n) {
    cotrace_event e{};
    e.ts_ns = n;
    return e;
}

TEST(EventQueue, AFullQueueRefusesTheEventAndKeepsWhatItHolds) {
    event_queue q(4);
    for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(q.push(numbered(i)));
    EXPECT_FALSE(q.push(numbered(4)));
    std::vector<std::uint64_t> got;
    EXPECT_EQ(q.pop(100, [&](const cotrace_event& e) { got.push_back(e.ts_ns); }), 4u);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_TRUE(q.push(numbered(5)));
}

TEST(EventQueue, PopTakesNoMoreThanItsBudget) {
    event_queue q(16);
    for (std::uint64_t i = 0; i < 10; ++i) q.push(numbered(i));
    std::size_t seen = 0;
    EXPECT_EQ(q.pop(3, [&](const cotrace_event&) { ++seen; }), 3u);
    EXPECT_EQ(seen, 3u);
    EXPECT_EQ(q.size(), 7u);
}

TEST(EventQueue, WaitingOnAnEmptyQueueTimesOutAndCloseWakesTheWaiter) {
    event_queue q(8);
    EXPECT_FALSE(q.wait(std::chrono::milliseconds(1)));
    std::thread closer([&] { q.close(); });
    // Bounded only by the failure case: close() must end the wait.
    const auto start = std::chrono::steady_clock::now();
    while (!q.closed()) q.wait(std::chrono::seconds(10));
    closer.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(EventQueue, AcrossTwoThreadsEveryAcceptedEventArrivesOnceInOrder) {
    event_queue q(1024);
    constexpr std::uint64_t total = 500000;
    std::uint64_t refused = 0;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < total; ++i) {
            if (!q.push(numbered(i))) ++refused;
            if ((i & 255) == 255) q.notify();
        }
        q.close();
    });
    std::uint64_t received = 0, last = 0;
    bool ordered = true, first = true;
    for (;;) {
        q.wait(std::chrono::milliseconds(50));
        const std::size_t n = q.pop(4096, [&](const cotrace_event& e) {
            if (!first && e.ts_ns <= last) ordered = false;
            first = false;
            last = e.ts_ns;
            ++received;
        });
        if (n == 0 && q.closed() && q.size() == 0) break;
    }
    producer.join();
    EXPECT_TRUE(ordered);
    EXPECT_EQ(received + refused, total);
}

}  // namespace
}  // namespace cotrace
