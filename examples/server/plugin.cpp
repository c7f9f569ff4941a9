// A plugin the server loads with dlopen while it runs: its coroutines have
// probes of their own, in an object mapped long after the tracer attached.
#include "handlers.hpp"

namespace {
cotrace::task<int> lookup_extra(int id) { co_return id * 3; }

cotrace::task<int> enrich_request(int id) {
    const int extra = co_await lookup_extra(id);
    co_return extra + 1;
}
}  // namespace

// The C entry point dlsym finds; the caller awaits the task it returns.
extern "C" cotrace::task<int> server_plugin_enrich(int id) { return enrich_request(id); }
