#include "cli/interrupts.hpp"

namespace cotrace {

namespace {
volatile sig_atomic_t received = 0;
void on_interrupt(int) { received = received + 1; }
}  // namespace

int interrupts_received() { return received; }

interrupt_handlers::interrupt_handlers() {
    received = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
}

interrupt_handlers::~interrupt_handlers() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
}

}  // namespace cotrace
