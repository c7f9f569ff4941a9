#pragma once
// The request handlers of the server example, in a shared library linked at
// start (libserver_handlers.so): coroutines whose probes live in an object
// other than the executable.

#include <cotrace/cotrace.hpp>

namespace server {

// Checks a request: a coroutine that awaits another in the same library.
cotrace::task<int> check_request(int id);

}  // namespace server

// The plugin's entry point (libserver_plugin.so, loaded with dlopen): a
// coroutine that enriches a checked request.
extern "C" {
using enrich_function = cotrace::task<int> (*)(int);
}
#define SERVER_PLUGIN_ENTRY "server_plugin_enrich"
