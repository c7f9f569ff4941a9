// creating_coroutine: a thread stopped while the coroutine it runs creates
// another one. Unoptimised, GCC's ramp (the function that creates a frame)
// calls the new frame's resume function directly, to run it to its initial
// suspend point: the thread's stack then holds a resume function of a
// coroutine that has not begun, called from its ramp, above the creating
// coroutine's. Here the new coroutine's initial suspend blocks reading a
// FIFO, so whoever attaches finds the thread exactly there. Each byte read
// lets the request go on: first a scope it opens after the creation, then
// its end.
//
//   creating_coroutine FIFO            (the FIFO has a writer already)
//   -> "creating_coroutine pid P ready"   (blocked in the initial suspend)
//   a byte -> the scope "after_creating" runs
//   -> "creating_coroutine scope done"
//   a byte or end of file -> the request ends; exit 0

#include <unistd.h>

#include <coroutine>
#include <cstdio>
#include <exception>

#include <cotrace/cotrace.hpp>

#include "fifo_input.hpp"

namespace {

int fifo = -1;

void wait_for_byte() { workload::read_byte(fifo); }

// A lazy coroutine of no library in particular whose initial suspend does
// work before suspending (as a scheduler registering new work might).
struct registered {
    struct promise_type {
        struct enrol {
            bool await_ready() noexcept {
                std::printf("creating_coroutine pid %d ready\n", static_cast<int>(getpid()));
                std::fflush(stdout);
                wait_for_byte();
                return false;
            }
            void await_suspend(std::coroutine_handle<>) noexcept {}
            void await_resume() noexcept {}
        };
        registered get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
        enrol initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

registered background_job() { co_return; }

cotrace::task<void> request() {
    const registered job = background_job();  // attached while this runs
    {
        COTRACE_SCOPE("after_creating");
    }
    std::printf("creating_coroutine scope done\n");
    std::fflush(stdout);
    wait_for_byte();
    job.handle.destroy();
    co_return;
}

}  // namespace

int main(int argc, char** argv) {
    fifo = workload::open_fifo(argc, argv, "creating_coroutine");
    cotrace::sync_wait(request());
    return 0;
}
