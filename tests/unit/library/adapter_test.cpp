// cotrace::adapter (adapter.hpp): each call is the probe the protocol names,
// with its arguments as given, through the COTRACE_TEST_SINK recorder; and
// parent_scope names the parent of what begins inside it.

#include <gtest/gtest.h>

#include <cotrace/adapter.hpp>

#include <cstdint>
#include <source_location>
#include <thread>

#include "support/recorder.hpp"

namespace {

namespace adapter = cotrace::adapter;
using namespace cotrace_test;

class Adapter : public ::testing::Test {
protected:
    void SetUp() override {
        recorder::set_active(true);
        recorder::clear();
    }
};

// Distinct addresses standing for spans (frames: the recorder reads their
// first word, as the BPF side does for a beginning span) and a site.
void* span_a[1];
void* span_b[1];
void* span_c[1];
void* parent_span[1];
const void* const site = __builtin_source_location();

void expect_args(const event& e, std::uint16_t kind, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
    EXPECT_EQ(kind_name(e.kind), kind_name(kind));
    EXPECT_EQ(e.args[0], a0) << kind_name(e.kind);
    EXPECT_EQ(e.args[1], a1) << kind_name(e.kind);
    EXPECT_EQ(e.args[2], a2) << kind_name(e.kind);
    EXPECT_EQ(e.tid, this_tid());
}

TEST_F(Adapter, EachCallFiresItsProbeWithItsArgumentsInOrder) {
    adapter::begin(&span_a, &parent_span, site);
    adapter::suspend(&span_a, site, &span_b);
    adapter::end(&span_b, cotrace::status::error);
    adapter::suspend(&span_a, site, nullptr);
    adapter::resume(&span_a);
    adapter::spawn(&span_a, &span_c);
    adapter::link(&span_c, &span_a, adapter::link_kind::wake);
    adapter::link(&span_c, &span_a, adapter::link_kind::join);
    adapter::end(&span_a, cotrace::status::ok);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 9u) << describe(evs);
    expect_args(evs[0], COTRACE_EV_span_begin, addr(&span_a), addr(&parent_span), addr(site));
    expect_args(evs[1], COTRACE_EV_suspend, addr(&span_a), addr(site), addr(&span_b));
    expect_args(evs[2], COTRACE_EV_end, addr(&span_b), COTRACE_STATUS_ERROR, 0);
    expect_args(evs[3], COTRACE_EV_suspend, addr(&span_a), addr(site), 0);
    expect_args(evs[4], COTRACE_EV_resume, addr(&span_a), 0, 0);
    expect_args(evs[5], COTRACE_EV_link, addr(&span_a), addr(&span_c), COTRACE_LINK_SPAWN);
    expect_args(evs[6], COTRACE_EV_link, addr(&span_c), addr(&span_a), COTRACE_LINK_WAKE);
    expect_args(evs[7], COTRACE_EV_link, addr(&span_c), addr(&span_a), COTRACE_LINK_JOIN);
    expect_args(evs[8], COTRACE_EV_end, addr(&span_a), COTRACE_STATUS_OK, 0);
}

TEST_F(Adapter, StatusesAreTheProtocolsCodes) {
    for (cotrace::status s : {cotrace::status::ok, cotrace::status::exception, cotrace::status::cancelled,
                              cotrace::status::error})
        adapter::end(&span_a, s);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 4u) << describe(evs);
    EXPECT_EQ(evs[0].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_OK));
    EXPECT_EQ(evs[1].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_EXCEPTION));
    EXPECT_EQ(evs[2].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_CANCELLED));
    EXPECT_EQ(evs[3].args[1], static_cast<std::uint64_t>(COTRACE_STATUS_ERROR));
}

TEST_F(Adapter, ANullParentOutsideAnyScopeIsZeroSoTheCollectorUsesTheCurrentSpan) {
    adapter::begin(&span_a, nullptr, site);
    adapter::spawn(nullptr, &span_b);
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    expect_args(evs[0], COTRACE_EV_span_begin, addr(&span_a), 0, addr(site));
    expect_args(evs[1], COTRACE_EV_link, 0, addr(&span_b), COTRACE_LINK_SPAWN);
}

TEST_F(Adapter, NoParentIsAllOnesTheProtocolsNone) {
    void* none = adapter::no_parent;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(none), static_cast<std::uintptr_t>(COTRACE_PARENT_NONE));
    EXPECT_TRUE(none == adapter::no_parent);
    adapter::begin(&span_a, adapter::no_parent, site);
    {
        // A new trace even inside a scope: no_parent is not "nothing given".
        adapter::parent_scope scope{&parent_span};
        adapter::begin(&span_b, adapter::no_parent, site);
    }
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    expect_args(evs[0], COTRACE_EV_span_begin, addr(&span_a), COTRACE_PARENT_NONE, addr(site));
    expect_args(evs[1], COTRACE_EV_span_begin, addr(&span_b), COTRACE_PARENT_NONE, addr(site));
}

TEST_F(Adapter, SpansBegunWithANullParentInsideAParentScopeAreChildrenOfItsParent) {
    {
        adapter::parent_scope scope{&parent_span};
        adapter::begin(&span_a, nullptr, site);
        adapter::spawn(nullptr, &span_b);
        adapter::begin(&span_c, &span_a, site);  // an explicit parent is kept
    }
    adapter::begin(&span_c, nullptr, site);  // the scope is over
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 4u) << describe(evs);
    expect_args(evs[0], COTRACE_EV_span_begin, addr(&span_a), addr(&parent_span), addr(site));
    expect_args(evs[1], COTRACE_EV_link, addr(&parent_span), addr(&span_b), COTRACE_LINK_SPAWN);
    expect_args(evs[2], COTRACE_EV_span_begin, addr(&span_c), addr(&span_a), addr(site));
    expect_args(evs[3], COTRACE_EV_span_begin, addr(&span_c), 0, addr(site));
}

TEST_F(Adapter, NestedParentScopesRestoreTheOuterParentWhenTheyEnd) {
    {
        adapter::parent_scope outer{&parent_span};
        {
            adapter::parent_scope inner{&span_a};
            adapter::begin(&span_b, nullptr, site);
        }
        adapter::begin(&span_c, nullptr, site);
    }
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 2u) << describe(evs);
    expect_args(evs[0], COTRACE_EV_span_begin, addr(&span_b), addr(&span_a), addr(site));
    expect_args(evs[1], COTRACE_EV_span_begin, addr(&span_c), addr(&parent_span), addr(site));
}

TEST_F(Adapter, AParentScopeBelongsToItsThreadAlone) {
    std::uint32_t other_tid = 0;
    {
        adapter::parent_scope scope{&parent_span};
        std::thread other([&] {
            other_tid = this_tid();
            adapter::begin(&span_a, nullptr, site);
        });
        other.join();
    }
    const events evs = recorder::snapshot();
    ASSERT_EQ(evs.size(), 1u) << describe(evs);
    EXPECT_EQ(evs[0].tid, other_tid);
    EXPECT_EQ(evs[0].args[1], 0u) << describe(evs);
}

TEST_F(Adapter, ProbesFireWhetherOrNotATracerIsAttached) {
    // Nothing in the adapter is computed only while attached: the semaphores
    // change nothing, so a tracer arriving mid-way sees every later probe.
    recorder::set_active(false);
    adapter::resume(&span_a);
    adapter::end(&span_a, cotrace::status::ok);
    recorder::set_active(true);
    EXPECT_EQ(recorder::snapshot().size(), 2u);
}

}  // namespace
