// The detached-overhead workloads. Built twice (see workload.hpp): with
// COTRACE_ENABLED=1 (probes present, nobody attached) and COTRACE_ENABLED=0.
// Nothing here suspends for real: every round trip runs to completion on the
// calling thread, so the figures are the library's own cost (frames, awaiters,
// symmetric transfer, probes) and not a scheduler's.

#include "workload.hpp"

#include <coroutine>
#include <cotrace/cotrace.hpp>
#include <cstdint>
#include <exception>
#include <tuple>
#include <utility>

#ifndef COTRACE_BENCH_VARIANT
#error "build with -DCOTRACE_BENCH_VARIANT=traced|untraced (bench/CMakeLists.txt does)"
#endif
// The variant's name and the library's switch must agree.
#define COTRACE_BENCH_ENABLED_traced 1
#define COTRACE_BENCH_ENABLED_untraced 0
#define COTRACE_BENCH_CAT3(a, b, c) COTRACE_BENCH_CAT3_(a, b, c)
#define COTRACE_BENCH_CAT3_(a, b, c) a##b##c
#if COTRACE_BENCH_CAT3(COTRACE_BENCH_ENABLED_, COTRACE_BENCH_VARIANT, ) != COTRACE_ENABLED
#error "COTRACE_BENCH_VARIANT does not match COTRACE_ENABLED"
#endif

// cotrace_bench_<variant>_<name>
#define COTRACE_BENCH_ENTRY(name)                                                       \
    extern "C" __attribute__((visibility("default"))) std::uint64_t COTRACE_BENCH_CAT3( \
        cotrace_bench_, COTRACE_BENCH_VARIANT, _##name)(std::uint64_t iterations)

namespace {

using cotrace::task;

// ---- driver ---------------------------------------------------------------
// A minimal eager coroutine (not a task, not traced) that awaits the root task
// from plain code. Since nothing suspends for real, it reaches its final
// suspend point before its ramp returns: no thread, no latch, no queue.
struct driver {
    struct promise_type {
        driver get_return_object() noexcept {
            return driver{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    explicit driver(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;
    ~driver() {
        if (!h_.done()) std::terminate();  // a workload suspended for real: not this benchmark
        h_.destroy();
    }
    std::coroutine_handle<promise_type> h_;
};

driver drive(task<int> root, int& out) { out = co_await std::move(root); }

int run(task<int> root) {
    int out = 0;
    { driver d = drive(std::move(root), out); }
    return out;
}

// ---- chain7: a request seven coroutines deep --------------------------------
task<int> decode(int x) { co_return x * 3 + 1; }
task<int> fetch(int x) { co_return (co_await decode(x)) ^ 0x55; }
task<int> lookup(int x) { co_return (co_await fetch(x + 1)) + 2; }
task<int> authorize(int x) { co_return (co_await lookup(x)) * 5; }
task<int> validate(int x) { co_return (co_await authorize(x)) - 7; }
task<int> parse(int x) { co_return (co_await validate(x >> 1)) + x; }
task<int> handle_request(int x) { co_return (co_await parse(x)) & 0xffff; }

// ---- when_all3: fan-out to three children ----------------------------------
task<int> part(int x) { co_return x * 2 + 1; }
task<int> fan_out(int x) {
    auto [a, b, c] = co_await cotrace::when_all(part(x), part(x + 1), part(x + 2));
    co_return a + b + c;
}

// ---- scope_annotate: synchronous spans and events inside a task ------------
int tokenize(int x) noexcept {
    COTRACE_SCOPE("tokenize");
    cotrace::annotate("bytes", x);
    return x * 7 + 3;
}
task<int> read_body(int x) { co_return tokenize(x); }
task<int> handle_body(int x) {
    int n = co_await read_body(x);
    cotrace::annotate("tokens", n);
    co_return n;
}

// ---- context_handoff: a legacy callback API's hand-off, on one thread -------
// The callback is called through a pointer the compiler cannot see through,
// as a queue's would be.
using callback_fn = int (*)(const cotrace::context&, int);
int run_callback(const cotrace::context& ctx, int x) {
    cotrace::context_scope in_request{ctx};
    return x * 5 + 1;
}
callback_fn volatile callback = run_callback;
task<int> hand_off(int x) {
    const cotrace::context ctx = cotrace::current_context();
    co_return callback(ctx, x);
}

}  // namespace

COTRACE_BENCH_ENTRY(context_handoff) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) sum += run(hand_off(static_cast<int>(i)));
    return sum;
}

COTRACE_BENCH_ENTRY(chain7) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) sum += run(handle_request(static_cast<int>(i)));
    return sum;
}

COTRACE_BENCH_ENTRY(when_all3) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) sum += run(fan_out(static_cast<int>(i)));
    return sum;
}

COTRACE_BENCH_ENTRY(scope_annotate) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) sum += run(handle_body(static_cast<int>(i)));
    return sum;
}

COTRACE_BENCH_ENTRY(sync_wait_chain7) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i)
        sum += cotrace::sync_wait(handle_request(static_cast<int>(i)));
    return sum;
}
