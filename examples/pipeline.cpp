// pipeline: the demo workload. Each request is one trace:
//
//   handle_request(int)                       root, on a client thread
//   ├─ parse(int)                             inline; a COTRACE_SCOPE "validate" inside
//   ├─ when_all                               fan-out on the thread pool
//   │  ├─ lookup_user(int)                    pool hop, then a timer wait
//   │  ├─ lookup_stock(int)                   pool hop, timer wait; throws for id % fail_every == fail_every - 1
//   │  └─ lookup_price(int)                   pool hop, timer wait
//   ├─ merge(...)                             inline
//   ├─ record_metrics (scope)                 on the legacy callback thread, via current_context()
//   ├─ audit(int)                             spawned, detached, on the pool
//   └─ render(...) | render_error(int)        pool hop; annotate("bytes", n)
//
// The out-of-stock exception is caught by handle_request, which renders an
// error page instead: the root ends ok, lookup_stock and when_all with an
// exception. Timer waits are (id % 3 + 1) ms for users, (id % 2 + 1) ms for
// stock and 1 ms for prices, so traces have known shapes and ordering.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <cotrace/cotrace.hpp>

#include "legacy_queue.hpp"
#include "timer_queue.hpp"

namespace {

using namespace std::chrono_literals;
using cotrace::task;

struct services {
    cotrace::thread_pool& pool;
    demo::timer_queue& timers;
    demo::legacy_queue& legacy;
    int fail_every;
};

struct request {
    int id;
};
struct quote {
    int id;
    std::string user;
    int stock;
    double price;
};
struct out_of_stock : std::runtime_error {
    using std::runtime_error::runtime_error;
};

task<request> parse(int id) {
    COTRACE_SCOPE("validate");
    if (id < 0) throw std::invalid_argument("negative request id");
    co_return request{id};
}

task<std::string> lookup_user(services& s, int id) {
    co_await s.pool.schedule();
    co_await s.timers.after(s.pool, std::chrono::milliseconds(id % 3 + 1));
    co_return "user" + std::to_string(id);
}

task<int> lookup_stock(services& s, int id) {
    co_await s.pool.schedule();
    co_await s.timers.after(s.pool, std::chrono::milliseconds(id % 2 + 1));
    if (s.fail_every > 0 && id % s.fail_every == s.fail_every - 1)
        throw out_of_stock("item " + std::to_string(id) + " is out of stock");
    co_return id * 10;
}

task<double> lookup_price(services& s, int id) {
    co_await s.pool.schedule();
    co_await s.timers.after(s.pool, 1ms);
    co_return 9.5 + id;
}

task<quote> merge(int id, std::string user, int stock, double price) {
    co_return quote{id, std::move(user), stock, price};
}

task<std::string> render(services& s, quote q) {
    co_await s.pool.schedule();
    std::string page = q.user + ": " + std::to_string(q.stock) + " at " + std::to_string(q.price);
    cotrace::annotate("bytes", static_cast<std::int64_t>(page.size()));
    co_return page;
}

task<std::string> render_error(services& s, int id) {
    co_await s.pool.schedule();
    co_return "request " + std::to_string(id) + ": out of stock";
}

task<void> audit(int id) {
    COTRACE_SCOPE("write_audit_record");
    cotrace::annotate("request", id);
    co_return;
}

void record_metrics(int id) {
    COTRACE_SCOPE("record_metrics");
    cotrace::annotate("request", id);
}

task<std::string> handle_request(services& s, int id) {
    request req = co_await parse(id);
    std::string page;
    bool failed = false;
    try {
        // One line per co_await: GCC gives a co_await spanning lines the
        // line where its operand ends.
        auto lookups = cotrace::when_all(lookup_user(s, req.id), lookup_stock(s, req.id), lookup_price(s, req.id));
        auto [user, stock, price] = co_await std::move(lookups);
        quote q = co_await merge(req.id, std::move(user), stock, price);
        page = co_await render(s, std::move(q));
    } catch (const out_of_stock&) {
        failed = true;  // co_await is not allowed in a handler
    }
    if (failed) page = co_await render_error(s, req.id);
    co_await s.legacy.call(s.pool, [id] { record_metrics(id); });
    cotrace::spawn(s.pool, audit(id));
    co_return page;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pipeline: a multistage async workload traced with cotrace"};
    int requests = 10;
    unsigned threads = 2;
    unsigned clients = 1;
    bool forever = false;
    int interval_ms = -1;
    int fail_every = 7;
    bool quiet = false;
    app.add_option("--requests,-n", requests, "Number of requests to serve, then exit")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads,-t", threads, "Thread pool size")->check(CLI::PositiveNumber);
    app.add_option("--clients,-c", clients, "Client threads issuing requests concurrently")
        ->check(CLI::PositiveNumber);
    app.add_flag("--forever", forever, "Serve until killed (so a tracer can attach by PID)");
    app.add_option("--interval-ms", interval_ms,
                   "Pause between a client's requests (default 0, or 20 with --forever)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--fail-every", fail_every,
                   "Request ids with id % N == N-1 fail their stock lookup (0: never)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--quiet,-q", quiet, "Print nothing per request");
    CLI11_PARSE(app, argc, argv);
    if (interval_ms < 0) interval_ms = forever ? 20 : 0;

    // Declared in this order so the pool (which may run spawned audits) is
    // destroyed first, while the timer and legacy threads still exist.
    demo::timer_queue timers;
    demo::legacy_queue legacy;
    cotrace::thread_pool pool{threads};
    services s{pool, timers, legacy, fail_every};

    std::printf("pipeline pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);

    std::atomic<int> next_id{0};
    std::vector<std::thread> client_threads;
    for (unsigned c = 0; c < clients; ++c) {
        client_threads.emplace_back([&] {
            for (;;) {
                int id = next_id.fetch_add(1);
                if (!forever && id >= requests) return;
                std::string page = cotrace::sync_wait(handle_request(s, id));
                if (!quiet) std::printf("request %d: %s\n", id, page.c_str());
                if (interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
            }
        });
    }
    for (auto& t : client_threads) t.join();
    return 0;
}
