// hung_requests: a server whose requests all hang, for `cotrace stacks`.
// N requests (hung_request -> middle -> wait_on_gate) and one fan_out
// (when_all of two wait_on_gate) are spawned on a pool and wait forever at a
// gate no one opens. Before them, FREED finished requests ran to the end:
// their frames were freed, and the memory of half of them was then taken by
// ordinary data, so a scan that reported freed or reused frames would show
// finished_request or finished_step. No tracer is ever attached by it.
//
// With `step`, one more request, stepper, waits at one of two co_awaits in
// turn, and each SIGUSR2 moves it on to the other ("hung_requests stepped").
//
//   hung_requests N [FREED [step]]
//   -> "hung_requests pid P ready" once every request waits at the gate;
//      then it waits until killed.
//
// The tests find the lines of the co_awaits by the "stacks:" marks below.

#include <unistd.h>

#include <csignal>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include <cotrace/cotrace.hpp>

namespace {

// Counts arrivals; never resumes anyone.
struct gate {
    std::mutex mutex;
    std::condition_variable arrived;
    long waiting = 0;
};
gate the_gate;

struct wait_at_gate {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {
        std::lock_guard lock(the_gate.mutex);
        ++the_gate.waiting;
        the_gate.arrived.notify_all();
    }
    void await_resume() const noexcept {}
};

cotrace::task<int> wait_on_gate(int id) {
    co_await wait_at_gate{};  // stacks: gate
    co_return id;
}

cotrace::task<int> middle(int id) {
    const int v = co_await wait_on_gate(id);  // stacks: middle
    co_return v + 1;
}

cotrace::task<void> hung_request(int id) {
    co_await middle(id);  // stacks: request
}

cotrace::task<void> fan_out() {
    co_await cotrace::when_all(wait_on_gate(-1), wait_on_gate(-2));  // stacks: fan_out
}

// Where stepper waits; taken and resumed by main on SIGUSR2.
std::coroutine_handle<> stepper_waiting;

struct wait_for_step {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        std::lock_guard lock(the_gate.mutex);
        stepper_waiting = h;
        ++the_gate.waiting;
        the_gate.arrived.notify_all();
    }
    void await_resume() const noexcept {}
};

cotrace::task<void> stepper() {
    for (;;) {
        co_await wait_for_step{};  // stacks: step one
        co_await wait_for_step{};  // stacks: step two
    }
}

cotrace::task<int> finished_step(int x) { co_return x * 2; }
cotrace::task<int> finished_request(int x) { co_return co_await finished_step(x) + 1; }

// Runs `count` requests to their end, frees every frame at once, then takes
// the memory of half of them with data of the same size. Says how many of
// the new blocks lie where a finished request's frame was.
std::vector<char*> finish_and_reuse(int count) {
    std::vector<cotrace::task<int>> done;
    std::vector<void*> frames;
    for (int i = 0; i < count; ++i) {
        done.push_back(finished_request(i));
        frames.push_back(cotrace::detail::task_access::handle(done.back()).address());
    }
    long sum = 0;
    for (auto& t : done) sum += cotrace::sync_wait(std::move(t));
    done.clear();
    if (sum < 0) std::abort();
    std::vector<char*> reused;
    for (int i = 0; i < count / 2; ++i) {
        // A frame's size class: the malloc chunks just freed are handed out again.
        for (std::size_t size : {std::size_t{64}, std::size_t{96}, std::size_t{128}}) {
            char* p = static_cast<char*>(std::malloc(size));
            std::memset(p, 0x5a, size);
            reused.push_back(p);
        }
    }
    long over_frames = 0;
    for (char* p : reused)
        for (void* f : frames) over_frames += p == f;
    std::printf("hung_requests reused %ld freed frames\n", over_frames);
    return reused;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4 || (argc == 4 && std::strcmp(argv[3], "step") != 0)) {
        std::fprintf(stderr, "usage: %s N [FREED [step]]\n", argv[0]);
        return 2;
    }
    const long n = std::atol(argv[1]);
    const int freed = argc >= 3 ? std::atoi(argv[2]) : 200;
    const bool step = argc == 4;
    const std::vector<char*> reused = finish_and_reuse(freed);

    // SIGUSR2 is taken by sigwait below, on this thread only.
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, nullptr);

    cotrace::thread_pool pool(1);
    for (long i = 0; i < n; ++i) cotrace::spawn(pool, hung_request(static_cast<int>(i)));
    cotrace::spawn(pool, fan_out());
    if (step) cotrace::spawn(pool, stepper());
    {
        std::unique_lock lock(the_gate.mutex);
        the_gate.arrived.wait(lock, [&] { return the_gate.waiting == n + 2 + (step ? 1 : 0); });
    }
    std::printf("hung_requests pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    for (;;) {
        int sig = 0;
        if (sigwait(&usr2, &sig) != 0 || !step) continue;
        std::coroutine_handle<> h;
        {
            std::lock_guard lock(the_gate.mutex);
            h = std::exchange(stepper_waiting, {});
        }
        if (!h) continue;
        h.resume();  // runs to its other co_await
        std::printf("hung_requests stepped\n");
        std::fflush(stdout);
    }
}
