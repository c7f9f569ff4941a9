// The Asio handler-tracking hooks of include/cotrace/asio_tracking.hpp,
// probe by probe, without BPF: built with COTRACE_TEST_SINK, every probe the
// hooks fire goes to the recorder below instead of a USDT site, and
// cotrace_test_sink_active plays the semaphores (false: no tracer attached).
// Real Asio code runs on a real io_context; the expected sequences follow
// from Asio 1.22's sources (see the comments), so a change in either shows.

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// ---- the recorder ------------------------------------------------------------------

namespace {

struct probe_call {
    int kind;
    std::uint64_t a0, a1, a2;
};

std::mutex recorded_mutex;
std::vector<probe_call> recorded;

}  // namespace

extern "C" {
bool cotrace_test_sink_active = false;
}
extern "C" void cotrace_test_sink(int kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
    std::lock_guard lock(recorded_mutex);
    recorded.push_back({kind, a0, a1, a2});
}

namespace {

constexpr std::uint64_t none = COTRACE_PARENT_NONE;
constexpr std::uint64_t id_bit = std::uint64_t{1} << 62;

// A probe call in a readable form: "async_begin(#1, 0, io_context.post)".
// Ids are numbered in order of first appearance (#1, #2, ...), names and
// event names are the strings they point to.
std::string render(const std::vector<probe_call>& calls) {
    std::vector<std::uint64_t> ids;
    auto id = [&](std::uint64_t v) -> std::string {
        if (v == 0) return "0";
        if (v == none) return "none";
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (ids[i] == v) return "#" + std::to_string(i + 1);
        ids.push_back(v);
        return "#" + std::to_string(ids.size());
    };
    auto text = [](std::uint64_t p) { return std::string(reinterpret_cast<const char*>(p)); };
    std::ostringstream s;
    for (const probe_call& c : calls) {
        switch (c.kind) {
            case COTRACE_EV_async_begin:
                s << "async_begin(" << id(c.a0) << ", " << id(c.a1) << ", " << text(c.a2) << ")";
                break;
            case COTRACE_EV_resume: s << "resume(" << id(c.a0) << ")"; break;
            case COTRACE_EV_end: s << "end(" << id(c.a0) << ", " << c.a1 << ")"; break;
            case COTRACE_EV_event: s << "event(" << text(c.a0) << ", " << static_cast<std::int64_t>(c.a1) << ")"; break;
            default: s << "probe" << c.kind << "(" << c.a0 << ", " << c.a1 << ", " << c.a2 << ")";
        }
        s << "\n";
    }
    return s.str();
}

class AsioHooks : public ::testing::Test {
protected:
    void SetUp() override {
        std::lock_guard lock(recorded_mutex);
        recorded.clear();
        cotrace_test_sink_active = true;
    }
    void TearDown() override { cotrace_test_sink_active = false; }

    static std::vector<probe_call> calls() {
        std::lock_guard lock(recorded_mutex);
        return recorded;
    }
    static std::string trace() { return render(calls()); }
};

// Every id the hooks make is non-zero, has bit 62 set (never a frame
// address) and leaves bits 63 and 61 clear.
void expect_ids_well_formed(const std::vector<probe_call>& calls) {
    for (const probe_call& c : calls) {
        std::uint64_t id = 0;
        if (c.kind == COTRACE_EV_async_begin || c.kind == COTRACE_EV_resume || c.kind == COTRACE_EV_end) id = c.a0;
        if (id == 0) continue;
        EXPECT_EQ(id & (std::uint64_t{0b111} << 61), id_bit) << std::hex << id;
    }
}

// ---- tests ---------------------------------------------------------------------------

TEST_F(AsioHooks, APostedHandlerIsASpanThatRunsOnceAndEndsOkAndWhatItPostsIsItsChild) {
    asio::io_context io;
    asio::post(io, [&] { asio::post(io, [] {}); });
    io.run();
    // post(io_context, handler) goes through the executor's execute().
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, io_context.execute)\n"
              "resume(#1)\n"
              "async_begin(#2, 0, io_context.execute)\n"  // begun while #1 runs: its child
              "end(#1, 0)\n"
              "resume(#2)\n"
              "end(#2, 0)\n");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, ACancelledTimerWaitNamesItsObjectRecordsTheCancelAndTheErrorAndEndsCancelled) {
    asio::io_context io;
    asio::steady_timer timer(io, std::chrono::hours(1));
    timer.async_wait([](const asio::error_code&) {});
    timer.cancel();
    io.run();
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, deadline_timer.async_wait)\n"
              "event(deadline_timer.cancel, 0)\n"
              "resume(#1)\n"
              "event(asio.system, 125)\n"  // operation_aborted (ECANCELED) as the handler sees it
              "end(#1, 2)\n");            // COTRACE_STATUS_CANCELLED
}

TEST_F(AsioHooks, AHandlerThatThrowsEndsWithExceptionAndOneNeverInvokedEndsCancelled) {
    {
        asio::io_context io;
        asio::post(io, [] { throw std::runtime_error("boom"); });
        EXPECT_THROW(io.run(), std::runtime_error);
    }
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, io_context.execute)\n"
              "resume(#1)\n"
              "end(#1, 1)\n");  // COTRACE_STATUS_EXCEPTION, from the completion's destructor

    SetUp();
    {
        asio::io_context io;
        asio::post(io, [] {});
    }  // destroyed with the handler still queued
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, io_context.execute)\n"
              "end(#1, 2)\n");  // cancelled, never resumed
}

TEST_F(AsioHooks, DetachedNothingFiresAndAHandlerCreatedThenRunsAsAPartialSpanOnceATracerIsThere) {
    asio::io_context io;
    cotrace_test_sink_active = false;  // no tracer: creations take no id
    asio::post(io, [&] { asio::post(io, [] {}); });
    EXPECT_TRUE(calls().empty()) << trace();

    cotrace_test_sink_active = true;  // a tracer attaches before it runs
    io.run();
    // The first handler has no beginning (it began detached): resume of an
    // id never begun, which the collector shows as a partial span; what it
    // starts is its child as usual.
    EXPECT_EQ(trace(),
              "resume(#1)\n"
              "async_begin(#2, 0, io_context.execute)\n"
              "end(#1, 0)\n"
              "resume(#2)\n"
              "end(#2, 0)\n");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, CoSpawnFromOutsideTheIoContextRootsATraceAroundTheQueuedStartOfTheCoroutine) {
    asio::io_context io;
    asio::co_spawn(io, []() -> asio::awaitable<void> { co_return; }, asio::detached);
    // Not on a thread running io: co_spawn's first step (dispatch) is queued.
    EXPECT_EQ(trace(),
              "async_begin(#1, none, co_spawn)\n"
              "resume(#1)\n"
              "async_begin(#2, 0, io_context.execute)\n"
              "end(#1, 0)\n");
    io.run();
    const std::string all = trace();
    EXPECT_EQ(all.substr(0, all.find("resume(#2)")),
              "async_begin(#1, none, co_spawn)\n"
              "resume(#1)\n"
              "async_begin(#2, 0, io_context.execute)\n"
              "end(#1, 0)\n")
        << all;
    EXPECT_NE(all.find("resume(#2)\n"), std::string::npos) << all;
    EXPECT_NE(all.find("end(#2, 0)\n"), std::string::npos) << all;
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, CoSpawnFromAHandlerRootsANewTraceAndTheCoroutinesFirstOperationIsItsChild) {
    asio::io_context io;
    asio::steady_timer timer(io, std::chrono::milliseconds(1));
    asio::post(io, [&] {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await timer.async_wait(asio::use_awaitable);
            },
            asio::detached);
    });
    io.run();
    // On io's thread co_spawn starts the coroutine inline: its timer wait
    // begins inside the co_spawn root, not inside the posted handler (#1).
    const std::string all = trace();
    EXPECT_EQ(all.substr(0, all.find("resume(#3)")),
              "async_begin(#1, 0, io_context.execute)\n"
              "resume(#1)\n"
              "async_begin(#2, none, co_spawn)\n"
              "resume(#2)\n"
              "async_begin(#3, 0, deadline_timer.async_wait)\n"
              "end(#2, 0)\n"
              "end(#1, 0)\n")
        << all;
    EXPECT_NE(all.find("resume(#3)\nend(#3, 0)\n"), std::string::npos) << all;
}

TEST_F(AsioHooks, HandlersOnAStrandAreSpansOfTheStrandQueuedThroughTheIoContext) {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    asio::post(strand, [] {});
    io.run();
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, strand_executor.execute)\n"
              "async_begin(#2, 0, io_context.execute)\n"  // the strand's invoker
              "resume(#2)\n"
              "resume(#1)\n"
              "end(#1, 0)\n"
              "end(#2, 0)\n");
}

}  // namespace
