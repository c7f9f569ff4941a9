// stacks_heap N MIB: a target for the `stacks` benchmark. N requests of three
// coroutines each hang forever at a gate, among MIB MiB of ordinary heap data
// (64 KiB blocks, below malloc's mmap threshold, so the [heap] itself grows;
// half allocated before the requests, half after), filled with words that are
// not pointers. Prints "stacks_heap pid P ready" and waits to be killed.

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <cotrace/cotrace.hpp>

namespace {

std::mutex mutex;
std::condition_variable arrived;
long waiting = 0;

struct wait_at_gate {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {
        std::lock_guard lock(mutex);
        ++waiting;
        arrived.notify_all();
    }
    void await_resume() const noexcept {}
};

cotrace::task<int> leaf(int id) {
    co_await wait_at_gate{};
    co_return id;
}
cotrace::task<int> middle(int id) { co_return co_await leaf(id) + 1; }
cotrace::task<void> request(int id) { co_await middle(id); }

std::vector<std::uint64_t*> ballast(long mib) {
    constexpr std::size_t block = 64 << 10;
    std::vector<std::uint64_t*> out;
    std::uint64_t x = 0x9e3779b97f4a7c15;
    for (long i = 0; i < mib * 16; ++i) {
        auto* p = static_cast<std::uint64_t*>(std::malloc(block));
        for (std::size_t w = 0; w < block / 8; ++w) p[w] = (x = x * 6364136223846793005u + 1442695040888963407u);
        out.push_back(p);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s N MIB\n", argv[0]);
        return 2;
    }
    const long n = std::atol(argv[1]), mib = std::atol(argv[2]);
    const auto before = ballast(mib / 2);
    cotrace::thread_pool pool(1);
    for (long i = 0; i < n; ++i) cotrace::spawn(pool, request(static_cast<int>(i)));
    {
        std::unique_lock lock(mutex);
        arrived.wait(lock, [&] { return waiting == n; });
    }
    const auto after = ballast(mib - mib / 2);
    std::printf("stacks_heap pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    for (;;) pause();
}
