// returned_coroutine: a thread in plain code whose live stack still holds the
// return address into a coroutine's resume function that returned long ago.
// main resumes a coroutine from deep in its stack (the coroutine calls a
// plain function, which pushes a return address into the coroutine's resume
// function there), destroys it once it is done from main's shallow depth,
// and then, back in plain code, blocks reading a FIFO in a function whose
// large uninitialised local covers the slots that the coroutine's frames
// used: the dead return address stays there, on the live stack, for whoever
// looks. Each byte read from the FIFO runs one traced request from that
// plain code (cotrace::sync_wait); end of file ends the program.
//
//   returned_coroutine FIFO            (the FIFO has a writer already)
//   -> "returned_coroutine pid P ready, dead return address on the stack: yes|no"
//   a byte on FIFO -> "returned_coroutine request K done"
//   end of file    -> exit 0

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include <cotrace/cotrace.hpp>

namespace {

// Where the coroutine's call to plain code returned to: an address inside
// the coroutine's resume function, which the stack slot below holds.
void* volatile resume_return_address = nullptr;

[[gnu::noinline]] int plain_step(int x) {
    resume_return_address = __builtin_return_address(0);
    asm volatile("" ::: "memory");
    return x + 1;
}

// Opaque to the compiler: what it is given must exist, and may be written.
[[gnu::noinline]] void keep(void* p) { asm volatile("" : : "r"(p) : "memory"); }

// A coroutine of no library in particular, run by hand: created suspended,
// resumed once (it runs to its final suspension), destroyed by its owner.
struct by_hand {
    struct promise_type {
        int result = 0;
        by_hand get_return_object() { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(int v) noexcept { result = v; }
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

by_hand first_request(int x) { co_return plain_step(x); }

// Resumes h 16 KiB below the caller's frame: deeper than anything main's
// own calls reach afterwards, so nothing overwrites what the coroutine left.
[[gnu::noinline]] void resume_deep(std::coroutine_handle<> h) {
    alignas(16) unsigned char below[16 << 10];
    keep(below);
    h.resume();
    keep(below);
}

cotrace::task<int> lookup(int x) { co_return x * 2; }

cotrace::task<int> later_request(int x) { co_return co_await lookup(x) + 1; }

// The same pointer, where it comes from hidden from the compiler (which
// would otherwise warn that the slots are read unwritten: that is the point).
const unsigned char* opaque(unsigned char* p) {
    asm volatile("" : "+r"(p));
    return p;
}

// Whether the dead return address is in `slots` (read as the bytes they
// are: nothing writes them).
bool holds_dead_address(const unsigned char* slots, std::size_t size) {
    const auto wanted = reinterpret_cast<std::uintptr_t>(resume_return_address);
    for (std::size_t at = 0; at + sizeof wanted <= size; at += alignof(std::uintptr_t)) {
        std::uintptr_t word;
        std::memcpy(&word, slots + at, sizeof word);
        if (word == wanted) return true;
    }
    return false;
}

// Reads one byte from fd with 64 KiB of this frame left as the request's
// frames left them. Returns whether a byte came.
[[gnu::noinline]] bool wait_for_byte(int fd, bool announce) {
    alignas(16) unsigned char untouched[64 << 10];
    keep(untouched);
    if (announce) {
        std::printf("returned_coroutine pid %d ready, dead return address on the stack: %s\n",
                    static_cast<int>(getpid()), holds_dead_address(opaque(untouched), sizeof untouched) ? "yes" : "no");
        std::fflush(stdout);
    }
    char byte = 0;
    ssize_t n;
    do n = read(fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    keep(untouched);
    return n == 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: returned_coroutine FIFO\n");
        return 2;
    }
    const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::fprintf(stderr, "returned_coroutine: cannot open %s: %s\n", argv[1], std::strerror(errno));
        return 2;
    }
    const by_hand first = first_request(1);
    resume_deep(first.handle);
    const bool first_right = first.handle.done() && first.handle.promise().result == 2;
    first.handle.destroy();
    if (!first_right) return 1;
    for (int k = 0; wait_for_byte(fd, k == 0); ++k) {
        if (cotrace::sync_wait(later_request(k)) != k * 2 + 1) return 1;
        std::printf("returned_coroutine request %d done\n", k);
        std::fflush(stdout);
    }
    return 0;
}
