#pragma once
// A callback-based worker thread, as legacy code has: it knows nothing of
// coroutines. The demo reaches it with `co_await legacy.call(pool, fn)` and
// carries the trace into fn with cotrace::current_context / context_scope.

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <cotrace/context.hpp>
#include <cotrace/thread_pool.hpp>

namespace demo {

class legacy_queue {
public:
    legacy_queue() : thread_([this] { run(); }) {}
    ~legacy_queue() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void submit(std::function<void()> fn) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(fn));
        }
        wake_.notify_one();
    }

    // Runs fn on the legacy thread inside the caller's trace, then resumes the
    // caller on the pool.
    struct call_awaiter {
        legacy_queue* queue;
        cotrace::thread_pool* pool;
        std::function<void()> fn;
        cotrace::context ctx = cotrace::current_context();
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            queue->submit([this, h] {
                {
                    cotrace::context_scope in_caller_trace{ctx};
                    fn();
                }
                pool->post(h);
            });
        }
        void await_resume() const noexcept {}
    };
    call_awaiter call(cotrace::thread_pool& pool, std::function<void()> fn) {
        return call_awaiter{this, &pool, std::move(fn)};
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace demo
