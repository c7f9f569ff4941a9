#pragma once
// A timer thread for the demo: `co_await timers.after(pool, 3ms)` suspends the
// coroutine and, once the time has passed, resumes it on a pool thread. It
// stands for any event source (a socket, a database client) that completes
// work from another thread; cotrace sees it only as an ordinary co_await.

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include <cotrace/thread_pool.hpp>

namespace demo {

class timer_queue {
public:
    using clock = std::chrono::steady_clock;

    timer_queue() : thread_([this] { run(); }) {}
    ~timer_queue() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    struct after_awaiter {
        timer_queue* timers;
        cotrace::thread_pool* pool;
        clock::duration delay;
        bool await_ready() const noexcept { return delay <= clock::duration::zero(); }
        void await_suspend(std::coroutine_handle<> h) const { timers->add(clock::now() + delay, pool, h); }
        void await_resume() const noexcept {}
    };
    after_awaiter after(cotrace::thread_pool& pool, clock::duration delay) { return {this, &pool, delay}; }

private:
    struct entry {
        clock::time_point due;
        cotrace::thread_pool* pool;
        std::coroutine_handle<> h;
        bool operator>(const entry& o) const { return due > o.due; }
    };

    void add(clock::time_point due, cotrace::thread_pool* pool, std::coroutine_handle<> h) {
        {
            std::lock_guard lock(mutex_);
            queue_.push({due, pool, h});
        }
        wake_.notify_one();
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (queue_.empty()) {
                if (stopping_) return;
                wake_.wait(lock);
                continue;
            }
            entry next = queue_.top();
            if (clock::now() < next.due) {
                wake_.wait_until(lock, next.due);
                continue;
            }
            queue_.pop();
            next.pool->post(next.h);
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace demo
