#pragma once
// SIGINT/SIGTERM end a session cleanly (probes detached, traces flushed):
// while an interrupt_handlers lives, they are counted instead of killing
// cotrace, and the session loop looks at the count every few milliseconds.
// SA_RESTART: a write blocked on a slow reader of the output resumes rather
// than failing the session (poll and timed waits return early regardless).

#include <signal.h>

namespace cotrace {

// Interrupts received since the current interrupt_handlers was installed.
int interrupts_received();

class interrupt_handlers {
public:
    interrupt_handlers();
    ~interrupt_handlers();
    interrupt_handlers(const interrupt_handlers&) = delete;
    interrupt_handlers& operator=(const interrupt_handlers&) = delete;

private:
    struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace cotrace
