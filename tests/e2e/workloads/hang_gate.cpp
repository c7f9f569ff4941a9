// hang_gate: a server one of whose requests hangs forever while the others
// flow, for the live tests (--stuck, SIGUSR1, `cotrace top`). Requests run on
// a thread pool, one every millisecond. On SIGUSR1 the next request awaits a
// gate that is never opened; once it waits there the program says so (with
// the file:line of that co_await). It serves until SIGTERM or SIGINT, then
// prints how many requests it served and exits 0 (the hung frame stays
// suspended: it is never resumed, as in a real hang).
//
//   hang_gate
//   -> "hang_gate pid P ready"
//   SIGUSR1 -> "hang_gate request K hangs at FILE:LINE"
//   SIGTERM -> "hang_gate served R requests"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include <cotrace/cotrace.hpp>

namespace {

volatile sig_atomic_t finish = 0;
volatile sig_atomic_t hang_next = 0;
void on_finish(int) { finish = 1; }
void on_hang(int) { hang_next = 1; }

// A gate that holds whoever awaits it until opened, which never happens here.
class gate {
public:
    struct awaiter {
        gate* g;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) const {
            std::lock_guard lock(g->mutex_);
            g->waiters_.push_back(h);
            g->waiting_.store(true);
        }
        void await_resume() const noexcept {}
    };
    awaiter wait() { return {this}; }
    bool someone_waits() const { return waiting_.load(); }

private:
    std::mutex mutex_;
    std::vector<std::coroutine_handle<>> waiters_;
    std::atomic<bool> waiting_{false};
};

gate never_opened;
std::atomic<int> gate_line{0};

cotrace::task<int> lookup(int id) { co_return id * 2; }

cotrace::task<int> wait_for_gate(int id) {
    gate_line.store(__LINE__ + 1);
    co_await never_opened.wait();
    co_return id;
}

cotrace::task<void> hung_request(int id) { (void)co_await wait_for_gate(id); }

cotrace::task<int> handle_request(cotrace::thread_pool& pool, int id) {
    co_await pool.schedule();
    co_return co_await lookup(id) + 1;
}

}  // namespace

// The hung request's frames are never resumed nor destroyed, as in a real
// hang: under LeakSanitizer that is by design, not a leak to report.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }

int main() {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_finish;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = on_hang;
    sigaction(SIGUSR1, &sa, nullptr);
    cotrace::thread_pool pool(2);
    std::printf("hang_gate pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    long served = 0, wrong = 0;
    bool hung = false;
    for (int i = 0; !finish; ++i) {
        if (hang_next && !hung) {
            hung = true;
            cotrace::spawn(pool, hung_request(i));
            // The pool runs it at once; it is there within microseconds.
            while (!never_opened.someone_waits() && !finish) std::this_thread::yield();
            std::printf("hang_gate request %d hangs at %s:%d\n", i, __FILE__, gate_line.load());
            std::fflush(stdout);
            continue;
        }
        if (cotrace::sync_wait(handle_request(pool, i)) != i * 2 + 1) ++wrong;
        ++served;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the request rate, not synchronisation
    }
    if (wrong != 0) {
        std::fprintf(stderr, "hang_gate: %ld requests returned a wrong value\n", wrong);
        return 1;
    }
    std::printf("hang_gate served %ld requests\n", served);
    return 0;
}
