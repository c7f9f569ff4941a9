// <cotrace/propagation.hpp>: the traceparent a traced caller sends names the
// ids its remote_span probe announces; the callee's scope announces the ids
// it was given; detached, both are inert. Through the COTRACE_TEST_SINK recorder.

#include <gtest/gtest.h>

#include <cotrace/propagation.hpp>
#include <cotrace/sync_wait.hpp>
#include <cotrace/task.hpp>

#include "support/recorder.hpp"

namespace {

using namespace cotrace_test;

class Propagation : public ::testing::Test {
protected:
    void SetUp() override {
        recorder::set_active(true);
        recorder::clear();
    }
    void TearDown() override { recorder::set_active(true); }
};

cotrace::task<std::string> caller() { co_return co_await cotrace::outgoing_traceparent(); }

std::vector<event> of_kind(std::uint16_t kind) {
    std::vector<event> out;
    for (const event& e : recorder::snapshot())
        if (e.kind == kind) out.push_back(e);
    return out;
}

TEST_F(Propagation, a_valid_traceparent_parses_into_its_trace_and_span_ids) {
    const auto ids = cotrace::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    ASSERT_TRUE(ids.valid());
    EXPECT_EQ(ids.trace_hi, 0x0af7651916cd43ddull);
    EXPECT_EQ(ids.trace_lo, 0x8448eb211c80319cull);
    EXPECT_EQ(ids.span, 0xb7ad6b7169203331ull);
    EXPECT_EQ(cotrace::format_traceparent(ids), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
}

TEST_F(Propagation, malformed_or_all_zero_traceparents_are_refused) {
    for (const char* h : {"", "-", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
                          "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
                          "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                          "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"})
        EXPECT_FALSE(cotrace::parse_traceparent(h).valid()) << h;
    // A later version may append fields after a '-'.
    EXPECT_TRUE(cotrace::parse_traceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future").valid());
}

TEST_F(Propagation, the_outgoing_header_names_the_ids_the_remote_span_probe_announces) {
    const std::string h = cotrace::sync_wait(caller());
    const auto ids = cotrace::parse_traceparent(h);
    ASSERT_TRUE(ids.valid()) << h;
    const auto announced = of_kind(COTRACE_EV_remote_span);
    ASSERT_EQ(announced.size(), 1u);
    EXPECT_EQ(announced[0].args[0], ids.trace_hi);
    EXPECT_EQ(announced[0].args[1], ids.trace_lo);
    EXPECT_EQ(announced[0].args[2], ids.span);
    EXPECT_NE(cotrace::sync_wait(caller()), h) << "each call draws new ids";
}

TEST_F(Propagation, detached_the_outgoing_header_is_empty_and_nothing_is_announced) {
    recorder::set_active(false);
    EXPECT_EQ(cotrace::sync_wait(caller()), "");
    EXPECT_TRUE(of_kind(COTRACE_EV_remote_span).empty());
}

TEST_F(Propagation, the_incoming_scope_announces_the_callers_ids_and_closes_with_them) {
    {
        cotrace::incoming_traceparent scope{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"};
        ASSERT_EQ(of_kind(COTRACE_EV_remote_enter).size(), 1u);
        EXPECT_TRUE(of_kind(COTRACE_EV_remote_exit).empty());
    }
    const auto enter = of_kind(COTRACE_EV_remote_enter), exit = of_kind(COTRACE_EV_remote_exit);
    ASSERT_EQ(enter.size(), 1u);
    ASSERT_EQ(exit.size(), 1u);
    EXPECT_EQ(enter[0].args[0], 0x0af7651916cd43ddull);
    EXPECT_EQ(enter[0].args[1], 0x8448eb211c80319cull);
    EXPECT_EQ(enter[0].args[2], 0xb7ad6b7169203331ull);
    EXPECT_EQ(exit[0].args[0], 0xb7ad6b7169203331ull);
}

TEST_F(Propagation, an_incoming_scope_is_inert_for_a_malformed_header_or_while_detached) {
    { cotrace::incoming_traceparent scope{"not a traceparent"}; }
    recorder::set_active(false);
    { cotrace::incoming_traceparent scope{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}; }
    EXPECT_TRUE(of_kind(COTRACE_EV_remote_enter).empty());
    EXPECT_TRUE(of_kind(COTRACE_EV_remote_exit).empty());
}

}  // namespace
