// A process of N threads (--threads N), each running a short traced request
// in a loop with a pause: the target `cotrace attach` stops and reads, thread
// by thread, in the attach-latency benchmark. Prints "threads pid N ready".
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cotrace/cotrace.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {
cotrace::task<int> step(int x) { co_return x + 1; }
cotrace::task<int> request(int x) { co_return co_await step(x) * 2; }
}  // namespace

int main(int argc, char** argv) {
    int threads = 2;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--threads") threads = std::atoi(argv[i + 1]);
    std::vector<std::thread> workers;
    std::atomic<long> sink{0};
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&sink, t] {
            for (int i = 0;; ++i) {
                sink += cotrace::sync_wait(request(t + i));
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
        });
    std::printf("threads pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    for (auto& w : workers) w.join();
}
