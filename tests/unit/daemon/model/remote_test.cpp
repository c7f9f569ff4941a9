// Requests that cross processes (remote_span, remote_enter, remote_exit):
// the caller's trace takes the W3C ids it announced, the callee's root
// continues the remote trace under the remote span, the join is found when
// both processes are in one stream, and OTLP exports those ids.

#include <gtest/gtest.h>

#include "sinks/otlp_json.hpp"
#include "support/harness.hpp"

namespace {

using namespace cotrace_test;
using cotrace::trace;

constexpr std::uint32_t caller_pid = 5151;
constexpr std::uint64_t TRACE_HI = 0x0af7651916cd43dd, TRACE_LO = 0x8448eb211c80319c, REMOTE_SPAN = 0xb7ad6b7169203331;

event remote_span(std::uint32_t tid) { return make_event(COTRACE_EV_remote_span, tid, TRACE_HI, TRACE_LO, REMOTE_SPAN); }
event remote_enter(std::uint32_t tid) { return make_event(COTRACE_EV_remote_enter, tid, TRACE_HI, TRACE_LO, REMOTE_SPAN); }
event remote_exit(std::uint32_t tid) { return make_event(COTRACE_EV_remote_exit, tid, REMOTE_SPAN); }

const trace& of_pid(const harness& h, std::uint32_t pid) {
    for (const trace& t : h.traces())
        if (t.pid == pid) return t;
    throw std::runtime_error("no trace of that pid");
}

TEST(Remote, a_caller_announcing_its_span_gives_its_trace_the_w3c_id_and_the_span_its_remote_id) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        remote_span(T1),  // in CHILD, the current span
        end(T1, CHILD),
        end(T1, ROOT),
    });
    ASSERT_EQ(h.traces().size(), 1u);
    const trace& t = h.traces()[0];
    EXPECT_EQ(t.w3c_trace_hi, TRACE_HI);
    EXPECT_EQ(t.w3c_trace_lo, TRACE_LO);
    EXPECT_EQ(t.spans[1].remote_id, REMOTE_SPAN);
    EXPECT_EQ(t.spans[0].remote_id, 0u);
    EXPECT_EQ(t.remote_parent, 0u);

    cotrace::otlp_encoder enc({});
    std::string out;
    enc.export_request({&t}, out);
    EXPECT_NE(out.find("\"traceId\":\"0af7651916cd43dd8448eb211c80319c\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"spanId\":\"b7ad6b7169203331\""), std::string::npos) << out;
}

TEST(Remote, a_root_begun_inside_an_incoming_scope_continues_the_remote_trace_under_the_remote_span) {
    harness h;
    h.play({
        thread_idle(T1),
        remote_enter(T1),
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        end(T1, ROOT),
        remote_exit(T1),
        span_begin(T1, CHILD, 0, MAIN_SITE).code(CODE_CHILD),  // after the scope: a trace of its own
        end(T1, CHILD),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& joined = h.traces()[0];
    EXPECT_TRUE(joined.complete);
    EXPECT_EQ(joined.w3c_trace_hi, TRACE_HI);
    EXPECT_EQ(joined.remote_parent, REMOTE_SPAN);
    EXPECT_EQ(joined.joined_trace, 0u) << "the caller is not in this stream";
    EXPECT_FALSE(h.traces()[1].has_w3c_id());
    EXPECT_EQ(h.traces()[1].remote_parent, 0u);

    cotrace::otlp_encoder enc({});
    std::string out;
    enc.export_request({&joined}, out);
    EXPECT_NE(out.find("\"traceId\":\"0af7651916cd43dd8448eb211c80319c\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"parentSpanId\":\"b7ad6b7169203331\""), std::string::npos) << out;
}

TEST(Remote, with_caller_and_callee_in_one_stream_the_callees_trace_names_the_callers_span) {
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT).in(caller_pid),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD).in(caller_pid),
        thread_idle(T2),
        remote_enter(T2),  // the callee's part comes first (another ring), the announcement later
        span_begin(T2, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        remote_span(T1).in(caller_pid),
        end(T2, ROOT),
        remote_exit(T2),
        end(T1, CHILD).in(caller_pid),
        end(T1, ROOT).in(caller_pid),
    });
    ASSERT_EQ(h.traces().size(), 2u);
    const trace& callee = of_pid(h, test_pid);
    const trace& caller = of_pid(h, caller_pid);
    EXPECT_EQ(callee.joined_trace, caller.id);
    EXPECT_EQ(callee.joined_span, caller.spans[1].id);
    EXPECT_EQ(callee.joined_pid, caller_pid);
}

}  // namespace
