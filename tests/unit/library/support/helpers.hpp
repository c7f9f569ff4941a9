#pragma once
// Small building blocks for the library tests: instance counting, awaitables
// that suspend in controlled ways, and a timed rendezvous between threads.

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <utility>

namespace cotrace_test {

// Counts constructions and destructions (cppcoro style) to prove that a value
// or a coroutine frame holding one is destroyed exactly once, never copied.
struct counted {
    static inline int default_constructions = 0;
    static inline int copy_constructions = 0;
    static inline int move_constructions = 0;
    static inline int destructions = 0;

    static void reset() { default_constructions = copy_constructions = move_constructions = destructions = 0; }
    static int constructions() { return default_constructions + copy_constructions + move_constructions; }
    static int alive() { return constructions() - destructions; }

    int id = -1;  // -1 once destroyed: a use after destruction shows up in checks

    counted() : id(0) { ++default_constructions; }
    explicit counted(int i) : id(i) { ++default_constructions; }
    counted(const counted& other) : id(other.id) { ++copy_constructions; }
    counted(counted&& other) noexcept : id(other.id) { ++move_constructions; }
    counted& operator=(const counted&) = delete;
    counted& operator=(counted&&) = delete;
    ~counted() {
        id = -1;
        ++destructions;
    }
};

// An awaitable that always suspends and hands the coroutine's handle out, for
// the test to resume (or never resume) later.
struct parking_lot {
    std::coroutine_handle<> parked;

    struct awaiter {
        parking_lot* lot;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { lot->parked = h; }
        void await_resume() const noexcept {}
    };
    awaiter operator co_await() noexcept { return awaiter{this}; }

    // Resumes the parked coroutine (on the calling thread).
    void release() { std::exchange(parked, {}).resume(); }
};

// A single-threaded event: the awaiting coroutine resumes inline when set.
struct single_event {
    bool is_set = false;
    std::coroutine_handle<> waiter;

    struct awaiter {
        single_event* ev;
        bool await_ready() const noexcept { return ev->is_set; }
        void await_suspend(std::coroutine_handle<> h) noexcept { ev->waiter = h; }
        void await_resume() const noexcept {}
    };
    awaiter operator co_await() noexcept { return awaiter{this}; }

    void set() {
        is_set = true;
        if (waiter) std::exchange(waiter, {}).resume();
    }
};

// `co_await this_frame{}` evaluates to the awaiting coroutine's frame address
// (its span id) without really suspending.
struct this_frame {
    void* address = nullptr;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        address = h.address();
        return false;  // resume at once
    }
    void* await_resume() const noexcept { return address; }
};

// Threads meet here: arrive_and_wait() returns true once `count` threads have
// arrived, false if that did not happen within the timeout (which only keeps a
// broken test from hanging: passing never depends on it).
class rendezvous {
public:
    explicit rendezvous(std::size_t count) : remaining_(count) {}

    bool arrive_and_wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        if (remaining_ > 0 && --remaining_ == 0) {
            all_here_.notify_all();
            return true;
        }
        return all_here_.wait_for(lock, timeout, [this] { return remaining_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable all_here_;
    std::size_t remaining_;
};

// A one-shot gate: wait() blocks until open() (true), or until the timeout
// (false; again only a guard against hanging).
class gate {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return opened_.wait_for(lock, timeout, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};

}  // namespace cotrace_test
