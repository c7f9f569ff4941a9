#pragma once
// The Asio tests' servers on loopback: a free port to give them, and their
// readiness seen without connecting (a connection would be a session).

#include <chrono>

#include "support/process.hpp"

namespace e2e_asio {

// Whether something listens on the port (any address), from /proc/net/tcp.
bool listening(unsigned port);

// Until the server listens on the port (true), exits or `timeout` passes.
bool wait_listening(unsigned port, e2e::process& server, std::chrono::milliseconds timeout);

// A port nothing uses now (bound and released: the server binds it next).
unsigned free_port();

}  // namespace e2e_asio
