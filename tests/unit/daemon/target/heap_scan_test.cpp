// The frame scanner and the await forest on synthetic memory (frames laid out
// by hand, freed chunks as glibc leaves them, hostile links), and the layout
// record checked against real cotrace::task frames that g++ built in this
// process: what `cotrace stacks` reads is where the compiler put it.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include <cotrace/cotrace.hpp>

#include <nlohmann/json.hpp>
#include <sstream>

#include "sinks/stacks_output.hpp"
#include "target/await_forest.hpp"
#include "target/heap_scan.hpp"

namespace {

using namespace cotrace;

// Memory made of regions at chosen addresses; reads outside them fail.
class fake_memory : public memory_reader {
public:
    std::vector<unsigned char>& region(std::uint64_t start, std::size_t size) {
        auto& r = regions_[start];
        r.assign(size, 0);
        return r;
    }
    void put(std::uint64_t addr, std::uint64_t word) {
        for (auto& [start, bytes] : regions_)
            if (addr >= start && addr + 8 <= start + bytes.size()) {
                std::memcpy(bytes.data() + (addr - start), &word, 8);
                return;
            }
        ADD_FAILURE() << "no region at " << addr;
    }
    bool read(std::uint64_t addr, void* out, std::size_t size) override {
        ++reads;
        for (auto& [start, bytes] : regions_)
            if (addr >= start && addr <= start + bytes.size() && size <= start + bytes.size() - addr) {
                std::memcpy(out, bytes.data() + (addr - start), size);
                return true;
            }
        return false;
    }
    std::vector<memory_region> all() const {
        std::vector<memory_region> out;
        for (auto& [start, bytes] : regions_) out.push_back({start, start + bytes.size()});
        return out;
    }
    std::size_t reads = 0;

private:
    std::map<std::uint64_t, std::vector<unsigned char>> regions_;
};

// A task promise of 32 bytes at frame + 16: continuation, join, result.
cotrace_frame_layout task_layout() {
    return {COTRACE_LAYOUT_MAGIC, COTRACE_LAYOUT_VERSION, sizeof(cotrace_frame_layout), 16, 32, 48, 0, 8, 8};
}

// GCC's part of the frame: the resume index at +56, one co_await whose
// awaiter's site is at +64.
frame_suspend_map one_await_map() {
    return {56, 80, {{suspend_point::kind::initial, 0}, {suspend_point::kind::at_await, 64},
                     {suspend_point::kind::final, 0}}};
}

constexpr std::uint64_t code = 0x5000'0000;
coroutine_kind kind(std::uint64_t n, bool with_layout = true) {
    coroutine_kind k{code + n * 0x100, code + n * 0x100 + 0x80, {}, std::nullopt, std::nullopt};
    if (with_layout) {
        k.layouts.push_back(task_layout());
        k.suspends = one_await_map();
    }
    return k;
}

// Writes a task frame: header, promise fields, own handle, and the resume
// index of its co_await with the site in its awaiter (site 0: not started).
void task_frame(fake_memory& m, std::uint64_t at, const coroutine_kind& k, std::uint64_t continuation,
                std::uint64_t site, std::uint64_t join = 0) {
    m.put(at, k.resume);
    m.put(at + 8, k.destroy);
    m.put(at + 16, continuation);
    m.put(at + 24, join);
    m.put(at + 48, at);
    m.put(at + 56, site ? 4 : 2);
    m.put(at + 64, site);
}

constexpr std::uint64_t heap = 0x10'0000;

TEST(HeapScan, FindsATaskFrameByItsPairAndReadsItsPromiseThroughTheLayout) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0), kind(1)};
    task_frame(m, heap + 0x110, kinds[1], 0x4242, 0x7777);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].address, heap + 0x110);
    EXPECT_EQ(r.frames[0].kind, 1u);
    EXPECT_TRUE(r.frames[0].task);
    EXPECT_FALSE(r.frames[0].done);
    EXPECT_EQ(r.frames[0].continuation, 0x4242u);
    EXPECT_EQ(r.frames[0].site, 0x7777u);
    EXPECT_EQ(r.bytes_scanned, 4096u);
}

TEST(HeapScan, AClangTaskFrameIsReadThroughThePromiseItsDwarfPlacesWithoutASite) {
    fake_memory m;
    m.region(heap, 4096);
    coroutine_kind clang = kind(0);
    clang.suspends.reset();
    clang.clang_task = clang_task_frame{16, 32};
    coroutine_kind wrong_size = clang;
    wrong_size.resume += 0x1000;
    wrong_size.destroy += 0x1000;
    wrong_size.clang_task = clang_task_frame{16, 40};  // no record of that promise
    const std::vector<coroutine_kind> kinds{clang, wrong_size};
    m.put(heap + 0x100, clang.resume);  // no own handle anywhere: Clang keeps none
    m.put(heap + 0x108, clang.destroy);
    m.put(heap + 0x110, 0x4242);  // continuation
    m.put(heap + 0x200, 0);       // at its final suspend: (0, destroy) alone is any data
    m.put(heap + 0x208, clang.destroy);
    m.put(heap + 0x300, wrong_size.resume);
    m.put(heap + 0x308, wrong_size.destroy);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_TRUE(r.frames[0].task);
    EXPECT_EQ(r.frames[0].continuation, 0x4242u);
    EXPECT_EQ(r.frames[0].where, scanned_frame::wait::unknown);
    EXPECT_FALSE(r.frames[1].task) << "a promise size no record has";
}

TEST(HeapScan, AFrameFreedIntoTcacheOrAFastbinIsNotReported) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    // tcache: next pointer (safe-linking mangled) over the resume pointer,
    // the tcache key over the destroy pointer; the rest of the frame intact.
    task_frame(m, heap + 0x100, kinds[0], 0, 0x7777);
    m.put(heap + 0x100, ((heap + 0x100) >> 12) ^ (heap + 0x300));
    m.put(heap + 0x108, 0x9e3779b97f4a7c15);
    // fastbin: fd over the resume pointer, destroy pointer left.
    task_frame(m, heap + 0x200, kinds[0], 0, 0x7777);
    m.put(heap + 0x200, heap + 0x500);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    EXPECT_TRUE(r.frames.empty());
}

TEST(HeapScan, MemoryReusedForOtherDataIsNotReported) {
    fake_memory m;
    auto& bytes = m.region(heap, 4096);
    std::memset(bytes.data(), 0x5a, bytes.size());
    EXPECT_TRUE(scan_for_frames(m, m.all(), {kind(0)}).frames.empty());
}

TEST(HeapScan, AFinishedTaskIsReportedDoneOnlyWithItsOwnHandleInPlace) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 0x100, kinds[0], 0, 0x7777);
    m.put(heap + 0x100, 0);  // GCC nulls the resume pointer at the final suspend
    // (0, destroy) without the handle: any data, not a frame.
    m.put(heap + 0x208, kinds[0].destroy);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].address, heap + 0x100);
    EXPECT_TRUE(r.frames[0].done);
}

TEST(HeapScan, AFrameWithoutAMatchingLayoutIsAnotherLibrarysCoroutine) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0, false), kind(1)};
    m.put(heap + 0x40, kinds[0].resume);
    m.put(heap + 0x48, kinds[0].destroy);
    m.put(heap + 0x140, kinds[1].resume);  // a task kind, but its handle is not where the layout says
    m.put(heap + 0x148, kinds[1].destroy);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_FALSE(r.frames[0].task);
    EXPECT_FALSE(r.frames[1].task);
}

TEST(HeapScan, APairAcrossTwoReadChunksIsFound) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 64 - 8, kinds[0], 0, 0x7777);  // resume in the first 64-byte chunk, destroy in the next
    const scan_result r = scan_for_frames(m, m.all(), kinds, {64, 100});
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].address, heap + 56);
    EXPECT_TRUE(r.frames[0].task);
}

TEST(HeapScan, UnreadableMemoryIsCountedAndSkipped) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 0x100, kinds[0], 0, 0x7777);
    std::vector<memory_region> regions{{0x900'0000, 0x900'0000 + 8192}};  // gone since maps was read
    for (const memory_region& r : m.all()) regions.push_back(r);
    const scan_result r = scan_for_frames(m, regions, kinds, {1024, 100});
    EXPECT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.bytes_unreadable, 8192u);
}

TEST(HeapScan, AHostileJoinPointerIsReadSafelyAndGivesNoWaiter) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 0x100, kinds[0], 0, 0x7777, ~std::uint64_t{0} - 4);
    const scan_result r = scan_for_frames(m, m.all(), kinds);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].join_waiter, 0u);
}

TEST(HeapScan, LayoutRecordsWithABadMagicOrHugeOffsetsAreNotUsed) {
    cotrace_frame_layout l = task_layout();
    EXPECT_TRUE(valid_layout(l));
    l.magic = 0;
    EXPECT_FALSE(valid_layout(l));
    l = task_layout();
    l.self_handle_offset = 0xfffffff8;
    EXPECT_FALSE(valid_layout(l));
    l = task_layout();
    l.join_offset = 40;  // past the promise
    EXPECT_FALSE(valid_layout(l));
    l = task_layout();
    l.continuation_offset = 3;
    EXPECT_FALSE(valid_layout(l));
}

TEST(HeapScan, StopsAtTheFrameLimitAndSaysSo) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    for (int i = 0; i < 10; ++i) task_frame(m, heap + 0x100 * i, kinds[0], 0, 0x7777);
    const scan_result r = scan_for_frames(m, m.all(), kinds, {1 << 20, 4});
    EXPECT_EQ(r.frames.size(), 4u);
    EXPECT_TRUE(r.truncated);
}

// ---- the await forest -----------------------------------------------------------

coroutine_catalog catalog_of(const std::vector<coroutine_kind>& kinds, std::vector<std::string> names) {
    return {kinds, std::move(names), 1};
}

std::optional<stack_site> site_at(std::uint64_t address) { return stack_site{"f.cpp", "f", static_cast<std::uint32_t>(address)}; }

TEST(AwaitForest, EachFrameHangsUnderTheFrameItsContinuationNames) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0), kind(1), kind(2, false)};
    m.put(heap + 0x300, kinds[2].resume);  // a runner of another library
    m.put(heap + 0x308, kinds[2].destroy);
    task_frame(m, heap + 0x200, kinds[0], heap + 0x300, 10);  // top, awaited by the runner
    task_frame(m, heap + 0x100, kinds[1], heap + 0x200, 20);  // leaf, awaited by top
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"top", "leaf", "runner"}), site_at);
    ASSERT_EQ(s.requests.size(), 1u);
    const stack_span& root = s.requests[0].root;
    EXPECT_EQ(root.name, "runner");
    EXPECT_EQ(root.state, stack_state::layout_unknown);
    ASSERT_EQ(root.children.size(), 1u);
    EXPECT_EQ(root.children[0].name, "top");
    ASSERT_TRUE(root.children[0].site);
    EXPECT_EQ(root.children[0].site->line, 10u);
    ASSERT_EQ(root.children[0].children.size(), 1u);
    EXPECT_EQ(root.children[0].children[0].name, "leaf");
    EXPECT_EQ(root.children[0].children[0].site->line, 20u);
    EXPECT_FALSE(root.children[0].children[0].suspended_at_least_ns) << "no tracer and one scan, so no time";
    EXPECT_TRUE(s.others.empty());
}

TEST(AwaitForest, WhenAllBranchesHangUnderTheFrameWaitingOnTheirJoin) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0), kind(1)};
    task_frame(m, heap + 0x300, kinds[0], 0, 10);  // the when_all frame; its join state at +0x380
    m.put(heap + 0x380 + 8, heap + 0x300);          // join.waiter
    task_frame(m, heap + 0x100, kinds[1], 0, 20, heap + 0x380);
    task_frame(m, heap + 0x200, kinds[1], 0, 20, heap + 0x380);
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"when_all", "branch"}), site_at);
    ASSERT_EQ(s.requests.size(), 1u);
    EXPECT_EQ(s.requests[0].root.name, "when_all");
    EXPECT_EQ(s.requests[0].root.children.size(), 2u);
}

TEST(AwaitForest, ALoopOfContinuationsIsCutAndCounted) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 0x100, kinds[0], heap + 0x200, 1);
    task_frame(m, heap + 0x200, kinds[0], heap + 0x300, 2);
    task_frame(m, heap + 0x300, kinds[0], heap + 0x100, 3);
    task_frame(m, heap + 0x400, kinds[0], heap + 0x400, 4);  // its own awaiter
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"t"}), site_at);
    EXPECT_EQ(s.cycles_cut, 1u);
    EXPECT_EQ(s.requests.size(), 2u);  // the loop, opened; the self-awaiter alone
}

TEST(AwaitForest, AChainDeeperThanTheBoundIsCutThereAndCounted) {
    fake_memory m;
    const std::size_t n = max_await_depth + 10;
    m.region(heap, n * 128);
    const std::vector<coroutine_kind> kinds{kind(0)};
    for (std::size_t i = 0; i < n; ++i) task_frame(m, heap + i * 128, kinds[0], i ? heap + (i - 1) * 128 : 0, 1);
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"t"}), site_at);
    ASSERT_EQ(s.requests.size(), 1u);
    const stack_span* at = &s.requests[0].root;
    std::size_t depth = 1;
    while (!at->children.empty()) {
        at = &at->children[0];
        ++depth;
    }
    EXPECT_EQ(depth, max_await_depth);
    EXPECT_EQ(at->cut_children, 1u);
}

TEST(StacksOutput, TheJsonOfAChainAtTheDepthBoundParsesWithEveryLevel) {
    fake_memory m;
    const std::size_t n = max_await_depth;
    m.region(heap, n * 128);
    const std::vector<coroutine_kind> kinds{kind(0), kind(1, false)};
    for (std::size_t i = 0; i < n; ++i) task_frame(m, heap + i * 128, kinds[0], i ? heap + (i - 1) * 128 : 0, 1);
    m.region(heap + 0x100000, 64);
    m.put(heap + 0x100000, kinds[1].resume);  // alone: listed by name
    m.put(heap + 0x100008, kinds[1].destroy);
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"t\"quoted\"", "other"}), site_at);
    std::ostringstream out;
    write_stacks_json(out, s);
    const nlohmann::json j = nlohmann::json::parse(out.str());
    ASSERT_EQ(j.at("requests").size(), 1u);
    const nlohmann::json* at = &j["requests"][0]["spans"][0];
    std::size_t depth = 1;
    while (!at->at("children").empty()) {
        EXPECT_EQ(at->at("name"), "t\"quoted\"");
        EXPECT_TRUE(at->at("suspended_at_least_ns").is_null());
        EXPECT_EQ(at->at("site").at("line"), 1);
        at = &at->at("children")[0];
        ++depth;
    }
    EXPECT_EQ(depth, n);
    ASSERT_EQ(j.at("other_coroutines").size(), 1u);
    EXPECT_EQ(j["other_coroutines"][0]["name"], "other");
    EXPECT_EQ(j["other_coroutines"][0]["count"], 1);
}

TEST(AwaitForest, OnlyAFrameAtTheSamePointInBothScansHasWaitedAtLeastTheInterval) {
    const std::vector<coroutine_kind> kinds{kind(0), kind(1, false)};
    fake_memory before, after;
    before.region(heap, 4096);
    after.region(heap, 4096);
    task_frame(before, heap + 0x100, kinds[0], 0, 10);  // still at site 10
    task_frame(after, heap + 0x100, kinds[0], 0, 10);
    task_frame(before, heap + 0x200, kinds[0], 0, 10);  // moved on to another point
    task_frame(after, heap + 0x200, kinds[0], 0, 20);
    after.put(heap + 0x200 + 56, 6);
    task_frame(after, heap + 0x300, kinds[0], 0, 10);  // new since the first scan
    after.put(heap + 0x400, kinds[1].resume);            // no layout: nothing to compare
    after.put(heap + 0x408, kinds[1].destroy);
    before.put(heap + 0x400, kinds[1].resume);
    before.put(heap + 0x408, kinds[1].destroy);
    const scan_result first = scan_for_frames(before, before.all(), kinds);
    const scan_result second = scan_for_frames(after, after.all(), kinds);
    const stack_snapshot s =
        build_await_forest(second, catalog_of(kinds, {"t", "other"}), site_at, earlier_scan{&first, 2'000'000'000});
    EXPECT_EQ(s.interval_ns, 2'000'000'000u);
    std::map<std::uint64_t, std::optional<std::uint64_t>> waited;
    for (const stack_request& r : s.requests) waited[r.root.frame] = r.root.suspended_at_least_ns;
    ASSERT_EQ(waited.size(), 3u);
    EXPECT_EQ(waited[heap + 0x100], 2'000'000'000u);
    EXPECT_FALSE(waited[heap + 0x200]) << "a different resume index";
    EXPECT_FALSE(waited[heap + 0x300]) << "not there the first time";
}

TEST(AwaitForest, ALinkToNoFrameFoundMakesARoot) {
    fake_memory m;
    m.region(heap, 4096);
    const std::vector<coroutine_kind> kinds{kind(0)};
    task_frame(m, heap + 0x100, kinds[0], 0xdead'beef'0000, 1);
    const scan_result scan = scan_for_frames(m, m.all(), kinds);
    const stack_snapshot s = build_await_forest(scan, catalog_of(kinds, {"t"}), site_at);
    ASSERT_EQ(s.requests.size(), 1u);
    EXPECT_EQ(s.requests[0].root.name, "t");
}

// ---- the published layout against g++'s frames -------------------------------------

struct never_opened {
    std::coroutine_handle<> waiting;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiting = h; }
    void await_resume() const noexcept {}
};
never_opened gate;

constexpr std::uint32_t leaf_line = __LINE__ + 2;
cotrace::task<int> leaf() {
    co_await gate;
    co_return 1;
}
constexpr std::uint32_t top_line = __LINE__ + 2;
cotrace::task<std::string> top() {
    co_await leaf();
    co_return "x";
}

// The suspend map of a frame type of this test binary, by the ramp's name in it.
std::optional<frame_suspend_map> own_suspend_map(const std::string& ramp) {
    for (auto& [name, map] : read_frame_debug_info("/proc/self/exe").gcc)
        if (name.find(ramp) != std::string::npos) return map;
    return std::nullopt;
}

// Reads this process's own memory.
class own_memory : public memory_reader {
public:
    bool read(std::uint64_t addr, void* out, std::size_t size) override {
        std::memcpy(out, reinterpret_cast<const void*>(addr), size);
        return true;
    }
};

TEST(PublishedLayout, MatchesTheFramesGccBuildsForTasks) {
    cotrace::task<std::string> t = top();
    auto h = cotrace::detail::task_access::handle(t);
    h.resume();  // runs top, then leaf, until the gate
    ASSERT_TRUE(gate.waiting);
    const auto* top_words = static_cast<const std::uint64_t*>(h.address());
    const auto* leaf_words = static_cast<const std::uint64_t*>(gate.waiting.address());
    using top_promise = cotrace::detail::task_promise<std::string>;
    using leaf_promise = cotrace::detail::task_promise<int>;
    const cotrace_frame_layout top_layout = cotrace::detail::frame_layout_of_task::of<top_promise>();
    const cotrace_frame_layout leaf_layout = cotrace::detail::frame_layout_of_task::of<leaf_promise>();
    EXPECT_TRUE(valid_layout(top_layout));
    EXPECT_TRUE(valid_layout(leaf_layout));
    EXPECT_EQ(reinterpret_cast<const char*>(&h.promise()) - reinterpret_cast<const char*>(h.address()),
              top_layout.promise_offset);
    const auto top_map = own_suspend_map("3topEv.Frame");
    const auto leaf_map = own_suspend_map("4leafEv.Frame");
    ASSERT_TRUE(top_map) << "g++ 12 with -g describes the frame of top()";
    ASSERT_TRUE(leaf_map);
    EXPECT_EQ(top_map->points.size(), 3u) << "initial, one co_await, final";
    const std::vector<coroutine_kind> kinds{{top_words[0], top_words[1], {top_layout, leaf_layout}, top_map, std::nullopt},
                                            {leaf_words[0], leaf_words[1], {top_layout, leaf_layout}, leaf_map, std::nullopt}};
    own_memory self;
    const auto frame_region = [](const void* f) {
        const auto a = reinterpret_cast<std::uint64_t>(f);
        return memory_region{a, a + 16};  // just the header: the scanner reads the rest itself
    };
    const scan_result r = scan_for_frames(self, {frame_region(h.address()), frame_region(gate.waiting.address())},
                                          kinds);
    ASSERT_EQ(r.frames.size(), 2u);
    for (const scanned_frame& f : r.frames) {
        EXPECT_TRUE(f.task) << "the frame's own handle is where the layout says";
        ASSERT_EQ(f.where, scanned_frame::wait::at_site) << "resume index " << f.resume_index;
        ASSERT_NE(f.site, 0u);
        const bool is_leaf = f.address == reinterpret_cast<std::uint64_t>(gate.waiting.address());
        EXPECT_EQ(f.continuation, is_leaf ? reinterpret_cast<std::uint64_t>(h.address()) : 0u);
        const auto* site = reinterpret_cast<const cotrace_site*>(f.site);
        EXPECT_NE(std::strstr(site->file, "heap_scan_test.cpp"), nullptr);
        EXPECT_EQ(site->line, is_leaf ? leaf_line : top_line) << "the co_await the frame waits at";
    }
}

// ---- GCC 12's suspend points, from the frame's members ---------------------------

frame_field traced(const char* name, std::uint32_t offset) { return {name, offset, 24, 16}; }

// The members of a frame g++ 12 built for
//   int a = co_await leaf(co_await g{});      block 3: Aw0 (g), then Aw1
//   int b = co_await g{} + co_await leaf(2);  block 4: Aw2, Aw3
// laid out as DWARF listed them (a statement's awaiters in reverse).
std::vector<frame_field> nested_frame() {
    return {{"_Coro_resume_fn", 0, 8, {}},  {"_Coro_promise", 16, 40, {}}, {"_Coro_resume_index", 68, 2, {}},
            {"Is_1_1", 72, 1, {}},          {"a_1_2", 76, 4, {}},          traced("Aw1_2_3", 88),
            traced("Aw0_2_3", 112),         traced("Aw3_2_4", 144),        traced("Aw2_2_4", 168),
            {"Fs_1_11", 345, 1, {}}};
}

TEST(SuspendMap, ResumeIndicesFollowGcc12sExpansionOrderNotTheLayout) {
    const auto map = suspend_map_of(nested_frame(), 352);
    ASSERT_TRUE(map);
    EXPECT_EQ(map->resume_index_offset, 68u);
    ASSERT_EQ(map->points.size(), 6u);
    EXPECT_EQ(map->at(2)->what, suspend_point::kind::initial);
    EXPECT_EQ(map->at(4)->site_offset, 112u + 16) << "the await inside the operand comes first";
    EXPECT_EQ(map->at(6)->site_offset, 88u + 16);
    EXPECT_EQ(map->at(8)->site_offset, 168u + 16);
    EXPECT_EQ(map->at(10)->site_offset, 144u + 16);
    EXPECT_EQ(map->at(12)->what, suspend_point::kind::final);
    EXPECT_EQ(map->at(5), nullptr) << "odd: being destroyed";
    EXPECT_EQ(map->at(14), nullptr);
}

TEST(SuspendMap, AStatementWhoseAwaitNumbersRestartedIsNotMapped) {
    std::vector<frame_field> fields = nested_frame();
    fields.push_back(traced("Aw0_2_4", 200));  // a coroutine lambda's final suspend reset the count mid-statement
    EXPECT_FALSE(suspend_map_of(fields, 352));
}

TEST(SuspendMap, AnAwaiterThatIsNotTracedOrAMissingIndexIsNotMapped) {
    std::vector<frame_field> fields = nested_frame();
    fields[5].site_member.reset();
    EXPECT_FALSE(suspend_map_of(fields, 352));
    fields = nested_frame();
    fields.erase(fields.begin() + 2);
    EXPECT_FALSE(suspend_map_of(fields, 352));
    EXPECT_FALSE(suspend_map_of(nested_frame(), 100)) << "members past the frame's size";
    fields = nested_frame();
    fields.push_back({"Yd4_2_5", 300, 8, {}});  // a co_yield counts as a suspend point, its awaiter not cotrace's
    EXPECT_FALSE(suspend_map_of(fields, 352));
}

struct member_coroutines {
    cotrace::task<int> inside() {
        co_await gate;
        co_return 1;
    }
    cotrace::task<int> outside();
};
cotrace::task<int> member_coroutines::outside() {
    co_await gate;
    co_await gate;
    co_return 2;
}

TEST(SuspendMap, MemberFunctionAndLambdaCoroutinesAreFoundInTheDwarf) {
    member_coroutines m;
    auto lambda = []() -> cotrace::task<int> {
        co_await gate;
        co_return 3;
    };
    cotrace::task<int> a = m.inside(), b = m.outside(), c = lambda();
    std::map<std::string, std::size_t> points;
    for (auto& [name, map] : read_frame_debug_info("/proc/self/exe").gcc) points[name] = map.points.size();
    const auto with = [&](const std::string& part) {
        for (auto& [name, n] : points)
            if (name.find(part) != std::string::npos) return n;
        return std::size_t{0};
    };
    EXPECT_EQ(with("17member_coroutines6insideEv.Frame"), 3u);
    EXPECT_EQ(with("17member_coroutines7outsideEv.Frame"), 4u);
    EXPECT_EQ(with("UlvE_clEv.Frame"), 3u) << "the lambda's call operator";
}

TEST(SuspendMap, AnActorSymbolNamesItsFrameType) {
    EXPECT_EQ(frame_type_of_actor("_Z4leafPZ4leafiE14_Z4leafi.Frame.actor"), "_Z4leafi.Frame");
    EXPECT_EQ(frame_type_of_actor("_Z3midPZ3midiE13_Z3midi.Frame.actor"), "_Z3midi.Frame");
    EXPECT_EQ(frame_type_of_actor("_Z4leafPZ4leafiE14_Z4leafi.Frame.destroy"), "");
    EXPECT_EQ(frame_type_of_actor("_Z4leafPZ4leafiE99_Z4leafi.Frame.actor"), "");
    EXPECT_EQ(frame_type_of_actor(".actor"), "");
    EXPECT_EQ(frame_type_of_resume("_Z4leafi.resume"), "_Z4leafi.coro_frame_ty");
    EXPECT_EQ(frame_type_of_resume("leaf.resume"), "");
}

}  // namespace
