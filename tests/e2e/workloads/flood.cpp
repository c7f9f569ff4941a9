// flood: a target that fires cotrace probes faster than any tracer can take
// them, for the load tests. THREADS threads each run requests of a chain of
// seven coroutines (14 probes per request, one complete trace each) as fast
// as they can until SIGUSR1 (or, failing that, until SECONDS have passed),
// then it prints how many requests it served and exits 0: a tracer that
// harmed it would show as a crash, a hang or a wrong count.
//
//   flood THREADS SECONDS
//   -> "flood pid N ready"  ...  "flood served R requests"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <cotrace/cotrace.hpp>

namespace {

volatile sig_atomic_t finish = 0;
void on_finish(int) { finish = 1; }

cotrace::task<int> step7(int x) { co_return x + 1; }
cotrace::task<int> step6(int x) { co_return co_await step7(x) + 1; }
cotrace::task<int> step5(int x) { co_return co_await step6(x) + 1; }
cotrace::task<int> step4(int x) { co_return co_await step5(x) + 1; }
cotrace::task<int> step3(int x) { co_return co_await step4(x) + 1; }
cotrace::task<int> step2(int x) { co_return co_await step3(x) + 1; }
cotrace::task<int> request(int x) { co_return co_await step2(x) + 1; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s THREADS SECONDS\n", argv[0]);
        return 2;
    }
    const int threads = std::atoi(argv[1]);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
    struct sigaction sa {};
    sa.sa_handler = on_finish;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);
    std::atomic<long> served{0};
    std::atomic<long> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            long n = 0;
            for (int i = 0; !finish && std::chrono::steady_clock::now() < until; ++i, ++n)
                if (cotrace::sync_wait(request(i)) != i + 7) wrong.fetch_add(1);
            served.fetch_add(n);
        });
    std::printf("flood pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    for (auto& w : workers) w.join();
    if (wrong.load() != 0) {
        std::fprintf(stderr, "flood: %ld requests returned a wrong value\n", wrong.load());
        return 1;
    }
    std::printf("flood served %ld requests\n", served.load());
    return 0;
}
