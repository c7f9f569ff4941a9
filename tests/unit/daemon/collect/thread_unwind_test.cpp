// The census's unwinder on a real stopped process: a forked child blocked in
// plain code, its registers and stack copied as the census copies them, then
// walked after the child went again.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "collect/thread_unwind.hpp"
#include "target/target_symbols.hpp"

namespace {

using cotrace::thread_snapshot;
using cotrace::unwound_stack;

[[gnu::noinline]] std::uintptr_t return_address_here() {
    return reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
}

// The child's plain code: says where it is (an address inside this
// function), then blocks reading `in`.
[[gnu::noinline]] void blocked_in_plain_code(int in, int out) {
    const std::uintptr_t here = return_address_here();
    if (write(out, &here, sizeof here) != sizeof here) _exit(1);
    char byte;
    while (read(in, &byte, 1) < 0) {
    }
    _exit(0);
}

// A child blocked in blocked_in_plain_code, killed at the end.
class blocked_child {
public:
    blocked_child() {
        int to_child[2], from_child[2];
        if (pipe(to_child) != 0 || pipe(from_child) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) blocked_in_plain_code(to_child[0], from_child[1]);
        close(to_child[0]);
        close(from_child[1]);
        release_ = to_child[1];
        if (read(from_child[0], &inside_, sizeof inside_) != sizeof inside_) throw std::runtime_error("no address");
        close(from_child[0]);
    }
    ~blocked_child() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        close(release_);
    }
    pid_t pid() const { return pid_; }
    std::uintptr_t inside() const { return inside_; }

private:
    pid_t pid_ = -1;
    int release_ = -1;
    std::uintptr_t inside_ = 0;
};

// The end of the mapping that holds addr in pid's maps, or 0.
std::uint64_t mapping_end(pid_t pid, std::uint64_t addr) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::uint64_t lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && addr >= lo && addr < hi) return hi;
    }
    return 0;
}

// Stops pid, copies its registers and the top of its stack, lets it go.
thread_snapshot copy_stopped(pid_t pid) {
    thread_snapshot t;
    t.tid = static_cast<std::uint32_t>(pid);
    EXPECT_EQ(ptrace(PTRACE_SEIZE, pid, nullptr, nullptr), 0);
    EXPECT_EQ(ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr), 0);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, __WALL), pid);
    EXPECT_EQ(ptrace(PTRACE_GETREGS, pid, nullptr, &t.regs), 0);
    t.stack_start = (t.regs.rsp - 128) & ~std::uint64_t{7};
    const std::uint64_t end = mapping_end(pid, t.regs.rsp);
    EXPECT_GT(end, t.stack_start);
    t.stack.resize((end - t.stack_start) / 8);
    EXPECT_TRUE(cotrace::read_process_memory(t.tid, t.stack_start, t.stack.data(), t.stack.size() * 8));
    EXPECT_EQ(ptrace(PTRACE_DETACH, pid, nullptr, nullptr), 0);
    return t;
}

TEST(ThreadUnwind, AThreadInPlainCodeIsWalkedToItsOutermostFrameAfterItWentAgain) {
    blocked_child child;
    const thread_snapshot t = copy_stopped(child.pid());
    cotrace::stack_unwinder unwinder(static_cast<std::uint32_t>(child.pid()));
    const unwound_stack walked = unwinder.walk(t);
    EXPECT_EQ(walked.how, unwound_stack::outcome::outermost);
    EXPECT_GE(walked.frames.size(), 3u) << "read, blocked_in_plain_code, the test's callers";
}

TEST(ThreadUnwind, ACallerFrameIsAReturnAddressLookedUpAtTheCallsLastByte) {
    blocked_child child;
    const thread_snapshot t = copy_stopped(child.pid());
    cotrace::stack_unwinder unwinder(static_cast<std::uint32_t>(child.pid()));
    cotrace::target_symbols symbols;
    symbols.refresh(static_cast<std::uint32_t>(child.pid()));
    const auto in_it = [&](std::uint64_t pc) {
        return symbols.function(static_cast<std::uint32_t>(child.pid()), pc).find("blocked_in_plain_code") !=
               std::string::npos;
    };
    ASSERT_TRUE(in_it(child.inside())) << "the symbol is not found where the child says it is";
    const unwound_stack walked = unwinder.walk(t);
    ASSERT_FALSE(walked.frames.empty());
    EXPECT_TRUE(walked.frames.front().exact) << "the innermost frame is where the thread stood";
    EXPECT_FALSE(in_it(walked.frames.front().code())) << "it stood in read, not in its caller";
    std::size_t found = walked.frames.size();
    for (std::size_t i = 0; i < walked.frames.size(); ++i)
        if (in_it(walked.frames[i].code())) {
            found = i;
            break;
        }
    ASSERT_LT(found, walked.frames.size()) << "blocked_in_plain_code is not among the frames walked";
    EXPECT_GE(found, 1u) << "found in a caller frame";
    EXPECT_FALSE(walked.frames[found].exact);
    EXPECT_EQ(walked.frames[found].code(), walked.frames[found].pc - 1);
}

TEST(ThreadUnwind, AThreadWhosePcIsInNoObjectIsNotCalledOutermost) {
    blocked_child child;
    thread_snapshot t = copy_stopped(child.pid());
    t.regs.rip = 0x10;  // no mapping, no unwind info
    cotrace::stack_unwinder unwinder(static_cast<std::uint32_t>(child.pid()));
    const unwound_stack walked = unwinder.walk(t);
    EXPECT_EQ(walked.how, unwound_stack::outcome::broken);
}

TEST(ThreadUnwind, ASnapshotAnswersOnlyForAlignedWordsItHolds) {
    thread_snapshot t;
    t.stack_start = 0x1000;
    t.stack = {1, 2, 3};
    std::uint64_t v = 0;
    EXPECT_TRUE(t.word(0x1008, &v));
    EXPECT_EQ(v, 2u);
    EXPECT_FALSE(t.word(0x1004, &v));
    EXPECT_FALSE(t.word(0x0ff8, &v));
    EXPECT_FALSE(t.word(0x1018, &v));
}

}  // namespace
