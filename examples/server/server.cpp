// server: shaped like a real server. An acceptor thread in plain code (never
// inside a coroutine) takes each request and spawns its handler onto a
// thread pool; the handlers' coroutines live in a shared library linked at
// start, and, once loaded with dlopen, in a plugin.
//
//   server [--requests N] [--wait-for-start] [--plugin PATH] [--plugin-after N]
//
// --unload-after N unloads the plugin (dlclose) between two requests.
// SIGUSR1 starts accepting (with --wait-for-start); SIGUSR2 loads the plugin;
// SIGTERM stops accepting, lets every request in flight finish, and exits 0.
// Prints "server pid N ready", "plugin loaded" and, at the end, "served N".
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <cotrace/cotrace.hpp>
#include <cstdio>
#include <mutex>
#include <semaphore>
#include <thread>

#include "handlers.hpp"

namespace {

volatile sig_atomic_t start_requested = 0;
volatile sig_atomic_t plugin_requested = 0;
volatile sig_atomic_t stop_requested = 0;

// Requests in flight at once, at most (so a trace cut by attaching is one
// of a known few).
constexpr int max_in_flight = 4;
std::counting_semaphore<max_in_flight> in_flight{max_in_flight};
std::atomic<int> served{0};
std::atomic<enrich_function> enrich{nullptr};
void* plugin_handle = nullptr;

cotrace::task<void> handle_request(cotrace::thread_pool& pool, int id) {
    cotrace::annotate("request", id);
    co_await pool.schedule();
    int result = co_await server::check_request(id);
    if (enrich_function f = enrich.load()) result += co_await f(id);
    cotrace::annotate("result", result);
    served.fetch_add(1);
    in_flight.release();
}

bool load_plugin(const std::string& path) {
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        std::fprintf(stderr, "server: cannot load %s: %s\n", path.c_str(), dlerror());
        return false;
    }
    plugin_handle = lib;
    enrich.store(reinterpret_cast<enrich_function>(dlsym(lib, SERVER_PLUGIN_ENTRY)));
    std::printf("plugin loaded\n");
    std::fflush(stdout);
    return enrich.load() != nullptr;
}

// Once no request is in flight (none can be running the plugin's code).
void unload_plugin() {
    for (int i = 0; i < max_in_flight; ++i) in_flight.acquire();
    enrich.store(nullptr);
    dlclose(plugin_handle);
    plugin_handle = nullptr;
    std::printf("plugin unloaded\n");
    std::fflush(stdout);
    in_flight.release(max_in_flight);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"server: an acceptor thread spawning requests onto a pool"};
    int requests = -1;
    bool wait_for_start = false;
    std::string plugin;
    int plugin_after = -1;
    int unload_after = -1;
    int interval_us = 200;
    app.add_option("--requests,-n", requests, "Serve this many requests, then exit (default: until SIGTERM)");
    app.add_flag("--wait-for-start", wait_for_start, "Accept nothing until SIGUSR1");
    app.add_option("--plugin", plugin, "The plugin to load on SIGUSR2 (or after --plugin-after requests)");
    app.add_option("--plugin-after", plugin_after, "Load the plugin once this many requests were accepted");
    app.add_option("--unload-after", unload_after, "Unload the plugin (dlclose) once this many requests were accepted");
    app.add_option("--interval-us", interval_us, "Pause between accepted requests")->check(CLI::NonNegativeNumber);
    CLI11_PARSE(app, argc, argv);

    struct sigaction sa {};
    sa.sa_handler = [](int sig) {
        if (sig == SIGUSR1) start_requested = 1;
        if (sig == SIGUSR2) plugin_requested = 1;
        if (sig == SIGTERM) stop_requested = 1;
    };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGUSR2, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    int accepted = 0;
    {
        cotrace::thread_pool pool{3};
        std::printf("server pid %d ready\n", static_cast<int>(getpid()));
        std::fflush(stdout);
        std::thread acceptor([&] {
            // Plain code: waits for "connections" and hands each to the pool.
            auto plugin_due = [&] {
                if (!plugin.empty() && !enrich.load() &&
                    (plugin_requested || (plugin_after >= 0 && accepted >= plugin_after)))
                    if (!load_plugin(plugin)) plugin.clear();
            };
            while (wait_for_start && !start_requested && !stop_requested) {
                plugin_due();
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            while (!stop_requested && (requests < 0 || accepted < requests)) {
                plugin_due();
                if (plugin_handle && unload_after >= 0 && accepted >= unload_after) {
                    unload_plugin();
                    plugin.clear();
                }
                in_flight.acquire();
                cotrace::spawn(pool, handle_request(pool, accepted++));
                if (interval_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(interval_us));
            }
            for (int i = 0; i < max_in_flight; ++i) in_flight.acquire();  // every request done
        });
        acceptor.join();
    }
    std::printf("served %d\n", served.load());
    return served.load() == accepted ? 0 : 1;
}
