// A workload on a coroutine library that is not cotrace's (mini_task.hpp),
// traced through <cotrace/adapter.hpp> alone. Each request builds
//
//   serve(pool, id)                          sync_wait from main
//   ├─ gather(pool, id)                      awaited
//   │  └─ when_all ─┬─ fetch_part(pool, id, 1)   each started by an untraced
//   │               ├─ fetch_part(pool, id, 2)   helper, hops to the pool
//   │               └─ fetch_part(pool, id, 3)
//   └─ log_total(id, total)                  spawned, detached, on the pool
//
// usage: foreign_tasks [--hold] [REQUESTS]   (default 4)
// Prints "foreign_tasks pid N ready" first. With --hold it then prints
// "foreign_tasks done" on stderr after the last request and exits only on
// SIGUSR1, so a tracer can finish reading what it needs from the live process
// (stderr: a tracer sharing stdout may be writing a line longer than a pipe
// writes at once, and the two would interleave).

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mini_task.hpp"

namespace {

std::atomic<int> logged{0};

mini::task<int> fetch_part(mini::pool& pool, int id, int part) {
    co_await pool.schedule();  // fetch_part: hop
    co_return id * 10 + part;
}

mini::task<int> gather(mini::pool& pool, int id) {
    auto parts = mini::when_all(fetch_part(pool, id, 1), fetch_part(pool, id, 2), fetch_part(pool, id, 3));
    auto [a, b, c] = co_await std::move(parts);  // gather: when_all
    co_return a + b + c;
}

mini::task<void> log_total(int id, int total) {
    if (total != id * 30 + 6) std::abort();  // the when_all's results, in order
    logged.fetch_add(1);
    co_return;
}

mini::task<int> serve(mini::pool& pool, int id) {
    const int total = co_await gather(pool, id);  // serve: gather
    mini::spawn(pool, log_total(id, total));
    co_return total;
}

}  // namespace

int main(int argc, char** argv) {
    int arg = 1;
    const bool hold = arg < argc && std::string(argv[arg]) == "--hold";
    if (hold) ++arg;
    int requests = 4;
    if (arg < argc) {
        char* end = nullptr;
        const long n = std::strtol(argv[arg], &end, 10);
        if (*end != '\0' || n < 0 || n > 1000000) {
            std::fprintf(stderr, "foreign_tasks: REQUESTS must be a whole number from 0 to 1000000, not \"%s\"\n",
                         argv[arg]);
            return 2;
        }
        requests = static_cast<int>(n);
    }
    // Blocked before any thread starts, so every thread inherits the mask and
    // the signal waits for sigwait below.
    sigset_t release;
    sigemptyset(&release);
    sigaddset(&release, SIGUSR1);
    if (hold) pthread_sigmask(SIG_BLOCK, &release, nullptr);
    std::printf("foreign_tasks pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    {
        mini::pool pool{2};
        for (int id = 0; id < requests; ++id)
            if (mini::sync_wait(serve(pool, id)) != id * 30 + 6) return 1;  // main: sync_wait
    }  // the pool runs what is queued (the spawned logs), then stops
    if (logged.load() != requests) return 1;
    if (hold) {
        std::fprintf(stderr, "foreign_tasks done\n");
        int sig = 0;
        sigwait(&release, &sig);
    }
    return 0;
}
