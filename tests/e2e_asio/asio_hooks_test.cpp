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
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <regex>
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
            case COTRACE_EV_suspend: {
                const auto* site = reinterpret_cast<const cotrace_site*>(c.a1);
                s << "suspend(" << id(c.a0) << ", "
                  << (site ? std::string(site->function) + ":" + std::to_string(site->line) : "0") << ")";
                break;
            }
            case COTRACE_EV_link:
                s << "link(" << id(c.a0) << ", " << id(c.a1) << (c.a2 == COTRACE_LINK_WAKE        ? ", wake)"
                                                                 : c.a2 == COTRACE_LINK_CONTINUES ? ", continues)"
                                                                                                  : ", ?)");
                break;
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
              "event(asio.system: Operation aborted., 125)\n"  // operation_aborted (ECANCELED), with its message
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
    // id never begun, which the collector shows as a partial span. It is a
    // session: what it starts is its child, and it ends with the last of it.
    EXPECT_EQ(trace(),
              "resume(#1)\n"
              "async_begin(#2, #1, io_context.execute)\n"
              "resume(#2)\n"
              "end(#2, 0)\n"
              "end(#1, 0)\n");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, CoSpawnFromOutsideTheIoContextQueuesASilentFirstStepAndTheSessionBeginsWhereItFirstActs) {
    asio::io_context io;
    asio::co_spawn(io, []() -> asio::awaitable<void> { co_return; }, asio::detached);
    // Not on a thread running io: co_spawn's first step (dispatch) is
    // queued, which is no span: the coroutine has not been named yet.
    EXPECT_EQ(trace(), "");
    io.run();
    // It never awaits an operation: its session begins (named co_spawn, no
    // location named it) when it hands its completion to the executor, and
    // ends when that has run.
    EXPECT_EQ(trace(),
              "async_begin(#1, none, co_spawn)\n"
              "resume(#1)\n"
              "async_begin(#2, #1, io_context.execute)\n"
              "resume(#2)\n"
              "end(#2, 0)\n"
              "end(#1, 0)\n");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, ACoroutineIsOneSpanForItsLifeNamedByItsLocationWithItsCoAwaitsAFlatSequenceOfChildren) {
    asio::io_context io;
    asio::steady_timer timer(io);
    asio::post(io, [&] {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                timer.expires_after(std::chrono::milliseconds(1));
                co_await timer.async_wait(asio::use_awaitable_t<>(__FILE__, 101, "waiter()"));
                timer.expires_after(std::chrono::milliseconds(1));
                co_await timer.async_wait(asio::use_awaitable_t<>(__FILE__, 102, "waiter()"));
            },
            asio::detached);
    });
    io.run();
    // On io's thread co_spawn starts the coroutine inline: its session roots
    // a new trace, linked from the posted handler (#1) that spawned it, and
    // begins at its first co_await, named by that location. Each wait
    // suspends it at its site and is its child; each completion ends the
    // wait and resumes the coroutine; the session ends with its last step.
    EXPECT_EQ(trace(),
              "async_begin(#1, 0, io_context.execute)\n"
              "resume(#1)\n"
              "async_begin(#2, none, waiter())\n"
              "resume(#2)\n"
              "link(#1, #2, wake)\n"
              "suspend(#2, waiter():101)\n"
              "async_begin(#3, #2, deadline_timer.async_wait)\n"
              "end(#1, 0)\n"
              "end(#3, 0)\n"
              "resume(#2)\n"
              "event(deadline_timer.cancel, 0)\n"  // expires_after cancels what is pending (nothing)
              "suspend(#2, waiter():102)\n"
              "async_begin(#4, #2, deadline_timer.async_wait)\n"
              "end(#4, 0)\n"
              "resume(#2)\n"
              "end(#2, 0)\n");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, AComposedOperationIsPlacedByItsCoAwaitAndOneStartedWithACallbackIsAChildNotAnAwaitedStep) {
    using asio::ip::tcp;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket writer(io), reader(io);
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // async_write names its step with a location of its own
            // ("async_write", a string literal): the co_await's location,
            // around it, is the one that names and places the operation.
            co_await asio::async_write(writer, asio::buffer("ab", 2), asio::use_awaitable_t<>(__FILE__, 301, "writer()"));
            // The same composed operation with a callback: the coroutine
            // does not wait for it, so it is a child that runs as a handler
            // of its own, not a step the coroutine is suspended on.
            asio::async_write(writer, asio::buffer("cd", 2), [](const asio::error_code&, std::size_t) {});
        },
        asio::detached);
    io.run();
    // #1 the session (its first step, queued by co_spawn from outside io's
    // thread, has no span); #2 the awaited write, at its co_await's site,
    // whose end resumes the coroutine; #3 the callback write, a child
    // resumed and ended as a handler of its own (with its step's location
    // taken for a co_await, it would be a suspension at write.hpp's line
    // and an end that resumes the coroutine); the session ends with it,
    // its last operation.
    EXPECT_EQ(trace(),
              "async_begin(#1, none, writer())\n"
              "resume(#1)\n"
              "suspend(#1, writer():301)\n"
              "async_begin(#2, #1, socket.async_send)\n"
              "end(#2, 0)\n"
              "resume(#1)\n"
              "async_begin(#3, #1, socket.async_send)\n"
              "resume(#3)\n"
              "end(#3, 0)\n"
              "end(#1, 0)\n");
    char got[4];
    asio::read(reader, asio::buffer(got));
    EXPECT_EQ(std::string(got, 4), "abcd");
    expect_ids_well_formed(calls());
}

TEST_F(AsioHooks, AnAcceptIsATraceOfItsOwnAndWhatItsHandlerStartsIsAConnectionSessionLinkedToIt) {
    using asio::ip::tcp;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    std::optional<tcp::socket> served;
    char buf[16];
    acceptor.async_accept([&](const asio::error_code& ec, tcp::socket s) {
        ASSERT_FALSE(ec);
        served.emplace(std::move(s));
        served->async_read_some(asio::buffer(buf), [&](const asio::error_code&, std::size_t) {
            served->async_read_some(asio::buffer(buf), [](const asio::error_code&, std::size_t) {});
        });
        acceptor.async_accept([](const asio::error_code&, tcp::socket) {});  // the next accept
    });
    client.connect(acceptor.local_endpoint());
    io.run_one();  // the accept
    // The client resets the connection (SO_LINGER 0) after one byte: the
    // second read fails with ECONNRESET.
    asio::write(client, asio::buffer("x", 1));
    io.run_one();  // the first read
    client.set_option(asio::socket_base::linger(true, 0));
    client.close();
    io.run_one();  // the second read
    acceptor.close();
    io.run();
    EXPECT_EQ(trace(),
              "async_begin(#1, none, socket.async_accept)\n"
              "resume(#1)\n"
              "async_begin(#2, none, asio.connection)\n"
              "link(#1, #2, wake)\n"
              "async_begin(#3, #2, socket.async_receive)\n"
              "async_begin(#4, none, socket.async_accept)\n"
              "link(#1, #4, wake)\n"
              "end(#1, 0)\n"
              "resume(#3)\n"
              "async_begin(#5, #2, socket.async_receive)\n"
              "end(#3, 0)\n"
              "event(socket.close, 0)\n"
              "resume(#5)\n"
              "event(asio.system: Connection reset by peer, 104)\n"
              "end(#5, 3)\n"  // COTRACE_STATUS_ERROR
              "end(#2, 0)\n"
              "event(socket.close, 0)\n"
              "resume(#4)\n"
              "event(asio.system: Operation aborted., 125)\n"
              "end(#4, 2)\n");
    expect_ids_well_formed(calls());
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

TEST_F(AsioHooks, ALongCoroutineContinuesInANewPartAnnouncedAsTheContinuationOfThePartBefore) {
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < 1001; ++i) co_await asio::post(io, asio::use_awaitable_t<>(__FILE__, 7, "looper()"));
        },
        asio::detached);
    io.run();
    const std::string t = trace();
    // The 1001st co_await begins the second part: announced as continuing
    // the first (so a sampler keeps or drops both), begun as a new trace,
    // linked from the first, which then ends.
    static const std::regex next_part(
        "link\\(#1, (#[0-9]+), continues\\)\n"
        "async_begin\\(\\1, none, looper\\(\\)\\)\n"
        "link\\(#1, \\1, wake\\)\n"
        "end\\(#1, 0\\)\n"
        "resume\\(\\1\\)\n");
    EXPECT_TRUE(std::regex_search(t, next_part)) << t.substr(0, 2000);
    std::size_t continues = 0;
    for (std::size_t at = t.find("continues"); at != std::string::npos; at = t.find("continues", at + 1)) ++continues;
    EXPECT_EQ(continues, 1u);
    expect_ids_well_formed(calls());
}

}  // namespace
