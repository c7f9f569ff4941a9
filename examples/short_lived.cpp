// short_lived: three coroutines, then exit: the whole program runs well
// under a millisecond, so a tracer must have what names its spans and sites
// before the process is gone.
#include <cotrace/cotrace.hpp>

namespace {
cotrace::task<int> first_step(int x) { co_return x + 1; }
cotrace::task<int> second_step(int x) { co_return x * 2; }
cotrace::task<int> short_request(int x) {
    const int a = co_await first_step(x);
    const int b = co_await second_step(a);
    co_return a + b;
}
}  // namespace

int main() { return cotrace::sync_wait(short_request(1)) == 6 ? 0 : 1; }
