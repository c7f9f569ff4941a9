// suspending_coroutine: a thread stopped inside a coroutine's await_suspend,
// after the coroutine's suspend probe fired and before control leaves it,
// with the coroutine that started it by symmetric transfer below it.
// The awaiter (a legacy callback API's, in the manner of
// examples/legacy_queue.hpp) captures the current context when it is made,
// and its await_suspend hands the coroutine to a new thread, which runs a
// callback in that context and resumes it. The first request's await_suspend
// blocks reading a FIFO first, so whoever attaches finds the thread exactly
// there; when it returns, main's sync_wait goes on to the next request, from
// plain code.
//
//   suspending_coroutine FIFO          (the FIFO has a writer already)
//   -> "suspending_coroutine pid P ready"   (blocked inside await_suspend)
//   a byte -> requests 0, 1 and 2 run to their end, one after another,
//             each annotated request=K, each awaiting hand_off(K), which
//             has a "callback" scope run in its context on the thread it
//             is handed to
//   -> "suspending_coroutine requests done"; exit 0

#include <unistd.h>

#include <coroutine>
#include <cstdio>
#include <thread>

#include <cotrace/cotrace.hpp>

#include "fifo_input.hpp"

namespace {

int fifo = -1;

void wait_for_byte() { workload::read_byte(fifo); }

// Resumes the coroutine on a thread of its own, after a callback run in the
// context of the span that made the awaiter.
struct handed_off {
    bool announce_and_block;
    cotrace::context ctx = cotrace::current_context();
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        if (announce_and_block) {
            std::printf("suspending_coroutine pid %d ready\n", static_cast<int>(getpid()));
            std::fflush(stdout);
            wait_for_byte();
        }
        std::thread([ctx = ctx, h] {
            {
                cotrace::context_scope in_request{ctx};
                COTRACE_SCOPE("callback");
            }
            h.resume();
        }).detach();
    }
    void await_resume() const noexcept {}
};

cotrace::task<void> hand_off(int k) { co_await handed_off{k == 0}; }

// Awaits its child, which starts by symmetric transfer: unoptimised, the
// child's resume function is called from this one's, whose frame stays on
// the stack below it while the child suspends.
cotrace::task<int> request(int k) {
    co_await hand_off(k);
    cotrace::annotate("request", k);
    co_return k;
}

}  // namespace

int main(int argc, char** argv) {
    fifo = workload::open_fifo(argc, argv, "suspending_coroutine");
    for (int k = 0; k < 3; ++k)
        if (cotrace::sync_wait(request(k)) != k) return 1;
    std::printf("suspending_coroutine requests done\n");
    std::fflush(stdout);
    return 0;
}
