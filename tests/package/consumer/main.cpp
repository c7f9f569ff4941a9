// A downstream application of cotrace: what a user's first program looks like.
#include <cotrace/cotrace.hpp>

#include <cstdio>
#include <tuple>

namespace {

cotrace::task<int> square(int x) { co_return x * x; }

cotrace::task<int> sum_of_squares(int n) {
    int sum = 0;
    for (int i = 1; i <= n; ++i) sum += co_await square(i);
    co_return sum;
}

cotrace::task<int> on_the_pool(cotrace::thread_pool& pool, int n) {
    co_await pool.schedule();
    co_return co_await sum_of_squares(n);
}

cotrace::task<int> fan_out(cotrace::thread_pool& pool) {
    auto [a, b] = co_await cotrace::when_all(on_the_pool(pool, 3), on_the_pool(pool, 4));
    co_return a + b;
}

}  // namespace

int main() {
    cotrace::thread_pool pool{2};
    std::printf("sum_of_squares(4) = %d\n", cotrace::sync_wait(sum_of_squares(4)));
    std::printf("fan_out = %d\n", cotrace::sync_wait(fan_out(pool)));
    return 0;
}
