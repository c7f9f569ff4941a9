// Thread and process names captured from a live process (this one): each
// thread named once, ahead of its first event, from /proc/PID/task/TID/comm;
// the process named once, ahead of everything.

#include "collect/thread_names.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string name_in(const cotrace_event& e, std::size_t words) {
    char bytes[sizeof e.args + 1] = {};
    std::memcpy(bytes, e.args, words * sizeof(std::uint64_t));
    return bytes;
}

cotrace_event probe_event(std::uint32_t pid, std::uint32_t tid, std::uint64_t ts) {
    cotrace_event e{};
    e.ts_ns = ts;
    e.pid = pid;
    e.tid = tid;
    e.kind = COTRACE_EV_resume;
    return e;
}

TEST(ThreadNames, EachThreadIsNamedOnceAheadOfItsFirstEventAndTheProcessAheadOfAll) {
    const auto pid = static_cast<std::uint32_t>(getpid());
    // A thread of ours with a known name, alive while we look.
    std::mutex m;
    std::condition_variable cv;
    bool named = false, done = false;
    std::uint32_t worker_tid = 0;
    std::thread worker([&] {
        pthread_setname_np(pthread_self(), "pool-worker-7");
        std::unique_lock lock(m);
        worker_tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
        named = true;
        cv.notify_all();
        cv.wait(lock, [&] { return done; });
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return named; });
    }
    cotrace::thread_names names(pid, "pipeline");
    std::vector<cotrace_event> out;
    auto emit = [&](const cotrace_event& e) { out.push_back(e); };
    names.before(probe_event(pid, worker_tid, 100), emit);
    names.before(probe_event(pid, worker_tid, 200), emit);  // seen: nothing more
    {
        std::lock_guard lock(m);
        done = true;
    }
    cv.notify_all();
    worker.join();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].kind, COTRACE_EV_process_name);
    EXPECT_EQ(out[0].pid, pid);
    EXPECT_EQ(name_in(out[0], 3), "pipeline");
    EXPECT_EQ(out[1].kind, COTRACE_EV_thread_name);
    EXPECT_EQ(out[1].tid, worker_tid);
    EXPECT_EQ(out[1].ts_ns, 100u);
    EXPECT_EQ(name_in(out[1], 2), "pool-worker-7");
}

TEST(ThreadNames, AThreadThatAlreadyExitedGetsNoNameAndOtherProcessesAndCollectorEventsAreIgnored) {
    const auto pid = static_cast<std::uint32_t>(getpid());
    std::uint32_t gone = 0;
    std::thread([&] { gone = static_cast<std::uint32_t>(syscall(SYS_gettid)); }).join();
    cotrace::thread_names names(pid, "");
    std::vector<cotrace_event> out;
    auto emit = [&](const cotrace_event& e) { out.push_back(e); };
    names.before(probe_event(pid, gone, 1), emit);
    names.before(probe_event(pid + 1, pid + 1, 2), emit);
    cotrace_event collector = probe_event(pid, pid, 3);
    collector.kind = COTRACE_EV_thread_idle;
    names.before(collector, emit);
    EXPECT_TRUE(out.empty());  // no process name given, the thread gone
}

TEST(ThreadNames, NamesLongerThanTheirRoomAreCutAndTheProcessIsNamedByItsCommandsBaseName) {
    const cotrace_event t = cotrace::thread_names::thread_name_event(1, 2, 3, "a-very-long-thread-name");
    EXPECT_EQ(name_in(t, 2), "a-very-long-thre");
    const cotrace_event p = cotrace::thread_names::process_name_event(1, 3, std::string(40, 'x'));
    EXPECT_EQ(name_in(p, 3), std::string(24, 'x'));
    EXPECT_EQ(cotrace::thread_names::base_name("/usr/bin/pipeline"), "pipeline");
    EXPECT_EQ(cotrace::thread_names::process_name_of(static_cast<std::uint32_t>(getpid())),
              "cotrace_daemon_tests");
}

}  // namespace
