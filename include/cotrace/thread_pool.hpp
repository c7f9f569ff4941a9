#pragma once
// cotrace::thread_pool: a fixed set of threads that resume coroutines.
//   co_await pool.schedule();   // continue on a pool thread (a traced hop)
//   cotrace::spawn(pool, t);    // run t detached, as a child of the current span
// The destructor runs what is already queued, then joins the threads.
// Every hand-off to the pool is a wake link (who made the resumed span
// runnable), so a viewer can draw the hop from one thread to the other.

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "adapter.hpp"
#include "task.hpp"

namespace cotrace {
namespace detail {
struct pool_access;
}

class thread_pool {
public:
    explicit thread_pool(std::size_t threads = std::thread::hardware_concurrency()) {
        if (threads == 0) threads = 1;
        workers_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
    }
    ~thread_pool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    struct schedule_awaiter {
        thread_pool* pool;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) const {
            // The hop is the span's own doing: it wakes itself on the pool.
            adapter::link(h.address(), h.address(), adapter::link_kind::wake);
            pool->enqueue(h);
        }
        void await_resume() const noexcept {}
    };
    // Resumes the awaiting coroutine on one of the pool's threads.
    schedule_awaiter schedule() noexcept { return schedule_awaiter{this}; }

    // Resumes h on one of the pool's threads (for timers and other event
    // sources): woken by the span current on the calling thread, if any.
    void post(std::coroutine_handle<> h) {
        adapter::link(nullptr, h.address(), adapter::link_kind::wake);
        enqueue(h);
    }

    std::size_t size() const noexcept { return workers_.size(); }

private:
    friend struct detail::pool_access;

    void enqueue(std::coroutine_handle<> h) {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(h);
        }
        wake_.notify_one();
    }

    void run() {
        for (;;) {
            std::coroutine_handle<> h;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;  // stopping, and nothing left to run
                h = queue_.front();
                queue_.pop_front();
            }
            h.resume();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::coroutine_handle<>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

namespace detail {

// The pool's queue without a wake link, for hand-offs that say their own.
struct pool_access {
    static void enqueue(thread_pool& pool, std::coroutine_handle<> h) { pool.enqueue(h); }
};

// Owns a spawned task until it finishes; itself not a span. An exception of
// the task ends its span with status exception and goes no further.
struct detached_runner {
    struct promise_type {
        detached_runner get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept {}
    };
};

// Moves the (untraced) runner to the pool; the wake link was said by spawn.
struct hand_off_to_pool {
    thread_pool* pool;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { pool_access::enqueue(*pool, h); }
    void await_resume() const noexcept {}
};

inline detached_runner run_detached(thread_pool& pool, task<void> t) {
    co_await hand_off_to_pool{&pool};
    // Not awaited by a traced span, so say where it starts running.
    adapter::resume(task_access::handle(t).address());
    co_await std::move(t);
}

}  // namespace detail

// Runs t on the pool without waiting for it: a child of the span current on
// the calling thread, linked to it by a spawn link, which also wakes it.
inline void spawn(thread_pool& pool, task<void> t) {
    void* child = detail::task_access::handle(t).address();
    adapter::spawn(nullptr, child);
    adapter::link(nullptr, child, adapter::link_kind::wake);
    detail::run_detached(pool, std::move(t));
}

}  // namespace cotrace
