// A traced program that hands the tracer hostile input, for hostile_test.cpp.
//
//   hostile_target sites N        N requests whose sites, names and frames
//                                 hold pointers that lead nowhere: (char*)-1,
//                                 the top of the address space, unmapped pages
//   hostile_target big-map DIR N  N plain requests, in a process that maps a
//                                 4 GiB sparse file in DIR (read-only data,
//                                 and its first page executable, as a loader
//                                 would map code)
//
// Either prints "hostile_target pid P ready" once set up, and runs its
// requests on SIGUSR1 (sent once the tracer is attached).
//
// Probes are fired directly (the contract in probes/), so every argument is
// exactly the lie under test. It prints "hostile_target done" at the end.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cotrace/detail/probe.hpp"

namespace {

const char* const minus_one = reinterpret_cast<const char*>(~std::uintptr_t{0});
const char* const near_top = reinterpret_cast<const char*>(~std::uintptr_t{0} - 3);
const char* const unmapped = reinterpret_cast<const char*>(std::uintptr_t{0x10});

// Sites whose strings point nowhere (a forged or corrupted site struct).
// Integers of cotrace_site's layout, so that they are constant data in the
// file (.rodata), where the tracer reads sites from, not built at startup.
struct raw_site {
    std::uintptr_t file, function;
    std::uint32_t line, column;
};
static_assert(sizeof(raw_site) == sizeof(cotrace_site), "the layout of cotrace_site");
constexpr std::uintptr_t top = ~std::uintptr_t{0};
const raw_site hostile_sites[] = {
    {top, top, 7, 1},
    {top - 3, top - 3, 8, 2},
    {0x7fff00000000, top, 9, 3},  // lies outside every segment of the file
};
const cotrace_site good_site = {__FILE__, "handle", __LINE__, 1};

// Coroutine frames as the probes see them: their first word is the resume
// function's address. Here it is a lie too.
struct fake_frame {
    const void* resume;
    char rest[56];
};
fake_frame frames[4];

void hostile_request(int i) {
    fake_frame* root = &frames[0];
    fake_frame* child = &frames[1];
    root->resume = minus_one;
    child->resume = near_top;
    const raw_site* site = &hostile_sites[i % 3];
    COTRACE_DETAIL_PROBE(span_begin, root, 0, site);
    COTRACE_DETAIL_PROBE(event, minus_one, i, site);
    COTRACE_DETAIL_PROBE(event, near_top, i, minus_one);      // the site pointer itself is hostile
    COTRACE_DETAIL_PROBE(suspend, root, near_top, child);     // child begins at a hostile site
    COTRACE_DETAIL_PROBE(end, child, COTRACE_STATUS_OK);       // root runs again
    COTRACE_DETAIL_PROBE(scope_begin, &frames[2], unmapped);
    COTRACE_DETAIL_PROBE(end, &frames[2], COTRACE_STATUS_OK);
    COTRACE_DETAIL_PROBE(end, root, COTRACE_STATUS_OK);
}

void plain_request(int i) {
    fake_frame* root = &frames[3];
    root->resume = nullptr;
    COTRACE_DETAIL_PROBE(span_begin, root, 0, &good_site);
    COTRACE_DETAIL_PROBE(event, "step", i, &good_site);
    COTRACE_DETAIL_PROBE(end, root, COTRACE_STATUS_OK);
}

int usage() {
    std::fprintf(stderr, "usage: hostile_target sites N | big-map DIR N\n");
    return 2;
}

// Blocks until SIGUSR1, after saying it is ready.
void wait_for_tracer() {
    sigset_t go;
    sigemptyset(&go);
    sigaddset(&go, SIGUSR1);
    sigprocmask(SIG_BLOCK, &go, nullptr);
    std::printf("hostile_target pid %d ready\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&go, &sig);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    const std::string mode = argv[1];
    if (mode == "sites") {
        const int n = std::atoi(argv[2]);
        wait_for_tracer();
        for (int i = 0; i < n; ++i) hostile_request(i);
    } else if (mode == "big-map" && argc == 4) {
        const std::string path = std::string(argv[2]) + "/big.data";
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
        const off_t size = off_t{4} << 30;
        if (fd < 0 || ftruncate(fd, size) != 0) {
            std::perror(path.c_str());
            return 1;
        }
        // Starts like an ELF file, so a reader that trusts the magic reads on.
        const unsigned char magic[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
        if (pwrite(fd, magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic)) return 1;
        void* data = mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
        void* code = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED || code == MAP_FAILED) {
            std::perror("mmap");
            return 1;
        }
        const int n = std::atoi(argv[3]);
        wait_for_tracer();
        for (int i = 0; i < n; ++i) plain_request(i);
        munmap(code, 4096);
        munmap(data, static_cast<size_t>(size));
        ::close(fd);
    } else {
        return usage();
    }
    std::printf("hostile_target done\n");
    return 0;
}
