// Probes as another library might write them with raw <sys/sdt.h>, whose
// default operand constraint ("nor") lets the compiler name a value where it
// lies in memory: a global as `8@sym(%rip)`, a thread-local as
// `8@%fs:sym@tpoff`. cotrace must refuse those sites aloud (tests/e2e/
// foreign_test.cpp) and trace the rest: one span through the adapter.

#include <sys/sdt.h>

#include <cotrace/adapter.hpp>

#include <cstdint>

std::uint64_t foreign_global;                  // read where it lies: RIP-relative
thread_local std::uint64_t foreign_thread_local;  // %fs-relative

int main(int argc, char**) {
    foreign_global = static_cast<std::uint64_t>(argc);
    foreign_thread_local = static_cast<std::uint64_t>(argc) + 1;
    int span = 0;
    cotrace::adapter::begin(&span, cotrace::adapter::no_parent, nullptr);
    STAP_PROBE3(cotrace, link, foreign_global, foreign_global, COTRACE_LINK_WAKE);
    STAP_PROBE3(cotrace, event, foreign_thread_local, 0, 0);
    cotrace::adapter::end(&span, cotrace::status::ok);
    return 0;
}
