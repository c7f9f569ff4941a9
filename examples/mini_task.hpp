#pragma once
// mini: a small coroutine library that is not cotrace's (its own lazy task,
// sync_wait, thread pool, spawn, and a when_all in libcoro's style, which
// starts each branch from an untraced helper coroutine), traced through
// <cotrace/adapter.hpp> alone, the way probes/PROTOCOL.md ("A foreign task
// type, worked through") describes. Every line that traces is marked "trace:";
// take those away and what is left is an ordinary coroutine library.

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <source_location>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cotrace/adapter.hpp>

namespace mini {

namespace trace = cotrace::adapter;

template <class T>
class task;

namespace detail {

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

// A mini coroutine awaiting a mini task: the child starts at once on this
// thread (symmetric transfer) and resumes the parent where it ends.
template <class Promise>
struct child_awaiter {
    std::coroutine_handle<Promise> child;
    const void* site;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        child.promise().continuation = parent;
        trace::suspend(parent.address(), site, child.address());  // trace: the child begins here, under parent
        return child;
    }
    decltype(auto) await_resume() { return child.promise().result(); }
};

// A mini coroutine awaiting anything else (the pool, when_all): it stops here
// and runs again wherever the awaiter resumes it.
template <class Awaiter>
struct other_awaiter {
    Awaiter& inner;  // the awaitable outlives the co_await expression
    void* frame;
    const void* site;
    bool await_ready() { return inner.await_ready(); }
    template <class P>
    auto await_suspend(std::coroutine_handle<P> h) {
        trace::suspend(frame, site, nullptr);  // trace
        return inner.await_suspend(h);
    }
    decltype(auto) await_resume() {
        trace::resume(frame);  // trace: running again, on this thread
        return inner.await_resume();
    }
};

// What a task holds when it is done: its value (or nothing) or its exception.
template <class T>
struct result_of {
    std::optional<T> value;
    std::exception_ptr error;
    template <class U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T result() {
        if (error) std::rethrow_exception(error);
        return std::move(*value);
    }
};
template <>
struct result_of<void> {
    std::exception_ptr error;
    void return_void() noexcept {}
    void result() {
        if (error) std::rethrow_exception(error);
    }
};

template <class T>
struct promise : result_of<T> {
    std::coroutine_handle<> continuation;

    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
        struct transfer {
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise> h) noexcept {
                promise& p = h.promise();
                trace::end(h.address(), p.error ? cotrace::status::exception : cotrace::status::ok);  // trace
                return p.continuation ? p.continuation : std::noop_coroutine();
            }
            void await_resume() const noexcept {}
        };
        return transfer{};
    }
    void unhandled_exception() noexcept { this->error = std::current_exception(); }

    // trace: every co_await in a mini coroutine comes through here; the
    // default argument is the co_await's own file and line.
    template <class A>
    auto await_transform(A&& awaitable, const void* site = __builtin_source_location()) noexcept {
        void* frame = std::coroutine_handle<promise>::from_promise(*this).address();
        if constexpr (is_task<std::remove_cvref_t<A>>::value)
            return child_awaiter<typename std::remove_cvref_t<A>::promise_type>{awaitable.h_, site};
        else
            return other_awaiter<std::remove_reference_t<A>>{awaitable, frame, site};
    }
};

}  // namespace detail

// A lazy task: it starts when awaited (or by sync_wait, when_all, spawn).
template <class T = void>
class [[nodiscard]] task {
public:
    using promise_type = detail::promise<T>;

    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&&) = delete;
    ~task() {
        if (!h_) return;
        if (!h_.done()) trace::end(h_.address(), cotrace::status::cancelled);  // trace: destroyed unfinished
        h_.destroy();
    }

    // For awaiters outside mini coroutines (the helpers below): no probe.
    auto operator co_await() && noexcept {
        struct awaiter {
            std::coroutine_handle<promise_type> h;
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept {
                h.promise().continuation = c;
                return h;
            }
            decltype(auto) await_resume() { return h.promise().result(); }
        };
        return awaiter{h_};
    }
    void* address() const noexcept { return h_.address(); }  // its span

private:
    template <class>
    friend struct detail::promise;
    std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<promise<T>>::from_promise(*this)};
}

// An untraced coroutine that runs a task and lets its caller know.
struct runner {
    struct promise_type {
        runner get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept {}
    };
};
}  // namespace detail

// Blocks until t has finished; returns its result.
template <class T>
T sync_wait(task<T> t, const void* site = __builtin_source_location()) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> out;
    std::exception_ptr error;
    auto run = [&](task<T> t) -> detail::runner {
        try {
            if constexpr (std::is_void_v<T>)
                co_await std::move(t), out.emplace();
            else
                out.emplace(co_await std::move(t));
        } catch (...) {
            error = std::current_exception();
        }
        std::lock_guard lock(m);
        done = true;
        cv.notify_one();
    };
    trace::begin(t.address(), nullptr, site);  // trace: a root here (or a child of the current span)
    run(std::move(t));
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*out);
}

// Threads that resume coroutines.
class pool {
public:
    explicit pool(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
    }
    ~pool() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

    void push(std::coroutine_handle<> h) {
        {
            std::lock_guard lock(m_);
            q_.push_back(h);
        }
        cv_.notify_one();
    }

    // co_await pool.schedule(): continue on one of the pool's threads.
    auto schedule() noexcept {
        struct awaiter {
            pool* p;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) {
                trace::link(h.address(), h.address(), trace::link_kind::wake);  // trace: the hop wakes itself
                p->push(h);
            }
            void await_resume() const noexcept {}
        };
        return awaiter{this};
    }

private:
    void work() {
        for (;;) {
            std::coroutine_handle<> h;
            {
                std::unique_lock lock(m_);
                cv_.wait(lock, [this] { return stop_ || !q_.empty(); });
                if (q_.empty()) return;
                h = q_.front();
                q_.pop_front();
            }
            h.resume();
        }
    }

    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::coroutine_handle<>> q_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

namespace detail {
// Moves the untraced runner to the pool (the wake link was said by spawn).
struct hop {
    pool* p;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { p->push(h); }
    void await_resume() const noexcept {}
};

inline runner run_detached(pool& p, task<void> t) {
    co_await hop{&p};
    trace::resume(t.address());  // trace: its first run, on this thread
    try {
        co_await std::move(t);
    } catch (...) {  // its end said "exception"; it goes no further
    }
}
}  // namespace detail

// Runs t on the pool, detached: a child of the span current here.
inline void spawn(pool& p, task<void> t) {
    trace::spawn(nullptr, t.address());                         // trace: it begins now, detached
    trace::link(nullptr, t.address(), trace::link_kind::wake);  // trace: and this span makes it runnable
    detail::run_detached(p, std::move(t));
}

namespace detail {

struct when_all_latch {
    std::atomic<std::size_t> count{0};
    std::coroutine_handle<> awaiting;
};

// libcoro's when_all_task: one untraced helper coroutine per branch, which
// awaits the branch's task and counts down the latch when it is done.
template <class T>
class branch {
public:
    struct promise_type {
        when_all_latch* latch = nullptr;
        void* child = nullptr;  // the branch task's span
        std::optional<T> value;
        std::exception_ptr error;
        branch get_return_object() noexcept { return branch{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        auto final_suspend() noexcept {
            struct count_down {
                bool await_ready() const noexcept { return false; }
                std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                    when_all_latch& l = *h.promise().latch;
                    if (l.count.fetch_sub(1, std::memory_order_acq_rel) != 1) return std::noop_coroutine();
                    trace::link(h.promise().child, l.awaiting.address(), trace::link_kind::wake);  // trace: the last one wakes it
                    return l.awaiting;
                }
                void await_resume() const noexcept {}
            };
            return count_down{};
        }
        void return_value(T v) { value.emplace(std::move(v)); }
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };

    explicit branch(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    branch(branch&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    ~branch() {
        if (h_) h_.destroy();
    }
    void set_child(void* span) noexcept { h_.promise().child = span; }
    void start(when_all_latch& latch) {
        h_.promise().latch = &latch;
        h_.resume();
    }
    T take() {
        if (h_.promise().error) std::rethrow_exception(h_.promise().error);
        return std::move(*h_.promise().value);
    }

private:
    std::coroutine_handle<promise_type> h_;
};

template <class T>
branch<T> make_branch(task<T> t) {
    // trace: the branch begins here; its parent is the parent_scope's, the
    // coroutine awaiting when_all (which has already suspended).
    trace::begin(t.address(), nullptr, nullptr);
    co_return co_await std::move(t);
}

template <class T>
branch<T> branch_for(task<T> t) {
    void* child = t.address();
    branch<T> b = make_branch(std::move(t));
    b.set_child(child);
    return b;
}

template <class... Ts>
class when_all_awaitable {
public:
    explicit when_all_awaitable(task<Ts>... ts) : branches_(branch_for(std::move(ts))...) {}

    bool await_ready() const noexcept { return sizeof...(Ts) == 0; }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        latch_.count.store(sizeof...(Ts) + 1, std::memory_order_relaxed);  // + 1: this loop
        latch_.awaiting = awaiting;
        {
            trace::parent_scope scope{awaiting.address()};  // trace: the branches' parent
            std::apply([this](auto&... b) { (b.start(latch_), ...); }, branches_);
        }
        return latch_.count.fetch_sub(1, std::memory_order_acq_rel) != 1;
    }
    std::tuple<Ts...> await_resume() {
        return std::apply([](auto&... b) { return std::tuple<Ts...>{b.take()...}; }, branches_);
    }

private:
    std::tuple<branch<Ts>...> branches_;
    when_all_latch latch_;
};

}  // namespace detail

// co_await when_all(a, b, ...): runs every task concurrently; their results in
// argument order (non-void tasks only, to keep the example short).
template <class... Ts>
detail::when_all_awaitable<Ts...> when_all(task<Ts>... ts) {
    return detail::when_all_awaitable<Ts...>{std::move(ts)...};
}

}  // namespace mini
