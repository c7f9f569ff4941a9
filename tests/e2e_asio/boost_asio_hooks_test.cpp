// The Boost.Asio spelling of the hooks (BOOST_ASIO_CUSTOM_HANDLER_TRACKING):
// Boost's Asio compiles with cotrace/asio_tracking.hpp and its hooks fire the
// same probes as standalone Asio's, without BPF (COTRACE_TEST_SINK routes
// every probe to the recorder below).

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct probe_call {
    int kind;
    std::uint64_t a0, a1, a2;
};
std::vector<probe_call> recorded;  // one thread: the io_context runs on the test's

}  // namespace

extern "C" {
bool cotrace_test_sink_active = false;
}
extern "C" void cotrace_test_sink(int kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
    recorded.push_back({kind, a0, a1, a2});
}

namespace {

std::string text(std::uint64_t p) { return reinterpret_cast<const char*>(p); }

TEST(BoostAsioHooks, APostedHandlerIsASpanThatRunsAndEndsOk) {
    recorded.clear();
    cotrace_test_sink_active = true;
    boost::asio::io_context io;
    bool ran = false;
    boost::asio::post(io, [&] { ran = true; });
    io.run();
    cotrace_test_sink_active = false;
    EXPECT_TRUE(ran);
    ASSERT_EQ(recorded.size(), 3u);
    EXPECT_EQ(recorded[0].kind, COTRACE_EV_async_begin);
    EXPECT_EQ(text(recorded[0].a2), "io_context.execute");
    EXPECT_EQ(recorded[1].kind, COTRACE_EV_resume);
    EXPECT_EQ(recorded[1].a0, recorded[0].a0);
    EXPECT_EQ(recorded[2].kind, COTRACE_EV_end);
    EXPECT_EQ(recorded[2].a1, std::uint64_t{COTRACE_STATUS_OK});
}

TEST(BoostAsioHooks, ACancelledWaitEndsCancelledWithBoostSystemsMessageAsItsAnnotation) {
    recorded.clear();
    cotrace_test_sink_active = true;
    boost::asio::io_context io;
    boost::asio::steady_timer timer(io, std::chrono::hours(1));
    timer.async_wait([](const boost::system::error_code&) {});
    timer.cancel();
    io.run();
    cotrace_test_sink_active = false;
    std::vector<std::string> seen;
    std::uint64_t status = 99;
    for (const probe_call& c : recorded) {
        if (c.kind == COTRACE_EV_event) seen.push_back(text(c.a0) + " = " + std::to_string(c.a1));
        if (c.kind == COTRACE_EV_end) status = c.a1;
    }
    // operation_aborted is ECANCELED in Boost.System's system category.
    EXPECT_EQ(seen, (std::vector<std::string>{"deadline_timer.cancel = 0", "system: Operation canceled = 125"}));
    EXPECT_EQ(status, std::uint64_t{COTRACE_STATUS_CANCELLED});
}

}  // namespace
