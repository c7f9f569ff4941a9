// The recording reader on crafted files: versions no cotrace writes, chunks
// whose lengths lie (past the file, past the limit, not whole records),
// strings longer than their chunk. A lie ends the replay as truncated after
// the valid prefix; it never reads outside what the file holds, and a length
// the file does not back costs no memory.

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "error.hpp"
#include "record/recording.hpp"

namespace {

template <class T>
void put(std::string& out, const T& v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string header(std::uint32_t format = 1, std::uint32_t protocol = COTRACE_PROTOCOL_VERSION) {
    std::string out("COTRACE\0", 8);
    put(out, format);
    put(out, protocol);
    put(out, static_cast<std::uint32_t>(sizeof(cotrace_event)));
    put(out, std::uint32_t{42});      // pid
    put(out, std::int64_t{0});        // clock offset
    put(out, std::uint32_t{0});       // flags
    put(out, std::uint32_t{0});       // objects
    return out;
}

std::string chunk(std::uint8_t type, const std::string& payload, std::optional<std::uint32_t> claimed = {}) {
    std::string out(1, static_cast<char>(type));
    put(out, claimed.value_or(static_cast<std::uint32_t>(payload.size())));
    return out + payload;
}

std::string events(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        cotrace_event e{};
        e.ts_ns = 1000 + i;
        e.pid = 42;
        e.tid = 42;
        e.kind = COTRACE_EV_resume;
        e.args[0] = 0x1000 + i;
        put(out, e);
    }
    return out;
}

std::string end_chunk(std::uint64_t n) {
    std::string p;
    put(p, n);
    return chunk(4, p);
}

struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

file_ptr file_of(const std::string& bytes) {
    file_ptr f(std::tmpfile());
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) throw std::runtime_error("tmpfile");
    std::rewind(f.get());
    return f;
}

struct counting_visitor : cotrace::recording_visitor {
    std::vector<cotrace_event> events;
    std::vector<std::pair<cotrace::symbol_cache::key, cotrace::symbol_cache::entry>> symbols;
    std::vector<std::uint64_t> drops;
    void on_event(const cotrace_event& e) override { events.push_back(e); }
    void on_symbol(const cotrace::symbol_cache::key& k, const cotrace::symbol_cache::entry& e) override {
        symbols.emplace_back(k, e);
    }
    void on_drops(std::uint64_t total) override { drops.push_back(total); }
};

std::string header_error(const std::string& bytes) {
    auto f = file_of(bytes);
    try {
        cotrace::read_recording_header(f.get(), "rec.cotrace");
    } catch (const cotrace::error& e) {
        return e.what();
    }
    return "";
}

struct replayed {
    counting_visitor visitor;
    cotrace::replay_result result;
};

replayed replay(const std::string& bytes) {
    auto f = file_of(bytes);
    cotrace::read_recording_header(f.get(), "rec.cotrace");
    replayed r;
    r.result = cotrace::replay_recording(f.get(), r.visitor);
    return r;
}

TEST(RecordingBounds, AWellFormedRecordingReplaysEveryChunk) {
    std::string sym;
    put(sym, static_cast<std::uint8_t>(cotrace::symbol_cache::kind::text));
    put(sym, std::uint32_t{42});
    put(sym, std::uint64_t{0x5000});
    put(sym, std::uint32_t{5});
    sym += "hello";
    std::string drops;
    put(drops, std::uint64_t{7});
    auto r = replay(header() + chunk(1, events(3)) + chunk(2, sym) + chunk(3, drops) + end_chunk(3));
    EXPECT_FALSE(r.result.truncated);
    EXPECT_EQ(r.result.events, 3u);
    ASSERT_EQ(r.visitor.symbols.size(), 1u);
    EXPECT_EQ(r.visitor.symbols[0].second.name, "hello");
    EXPECT_EQ(r.visitor.drops, std::vector<std::uint64_t>{7});
}

TEST(RecordingBounds, FormatVersionZeroIsRejected) {
    EXPECT_EQ(header_error(header(0)),
              "rec.cotrace claims format 0, protocol 1, which no cotrace writes (a damaged or foreign file; record "
              "it again with --save FILE)");
}

TEST(RecordingBounds, ProtocolVersionZeroIsRejected) {
    EXPECT_NE(header_error(header(1, 0)).find("claims format 1, protocol 0"), std::string::npos);
}

TEST(RecordingBounds, ANewerFormatIsRejectedNamingTheFix) {
    EXPECT_NE(header_error(header(2)).find("use a newer cotrace"), std::string::npos);
}

TEST(RecordingBounds, AHeaderCutShortIsOneClearError) {
    const std::string h = header();
    for (std::size_t cut = 0; cut < h.size(); ++cut) EXPECT_FALSE(header_error(h.substr(0, cut)).empty()) << cut;
}

TEST(RecordingBounds, AChunkLongerThanTheLimitEndsTheReplayAfterTheValidPrefix) {
    auto r = replay(header() + chunk(1, events(2)) + chunk(1, events(1), 0xffffffffu) + end_chunk(3));
    EXPECT_TRUE(r.result.truncated);
    EXPECT_EQ(r.result.events, 2u);
}

TEST(RecordingBounds, AChunkClaimingMoreThanTheFileHoldsCostsNoMemory) {
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    // 60 MiB claimed (under the limit), 1 record held.
    auto r = replay(header() + chunk(1, events(1), 60u << 20));
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    EXPECT_TRUE(r.result.truncated);
    EXPECT_EQ(r.result.events, 1u) << "the whole record before the cut is replayed";
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 16 * 1024) << "peak RSS grew by more than 16 MiB (KiB)";
}

TEST(RecordingBounds, AnEventsChunkOfPartialRecordsIsDamage) {
    std::string partial = events(2);
    partial.pop_back();
    auto r = replay(header() + chunk(1, partial) + end_chunk(2));
    EXPECT_TRUE(r.result.truncated);
    EXPECT_EQ(r.result.events, 0u);
}

TEST(RecordingBounds, ASymbolStringLongerThanItsChunkIsDamage) {
    std::string sym;
    put(sym, static_cast<std::uint8_t>(cotrace::symbol_cache::kind::site));
    put(sym, std::uint32_t{42});
    put(sym, std::uint64_t{0x5000});
    put(sym, std::uint32_t{0xfffffff0u});  // function name length
    sym += "f";
    auto r = replay(header() + chunk(2, sym) + chunk(1, events(1)) + end_chunk(1));
    EXPECT_TRUE(r.result.truncated);
    EXPECT_TRUE(r.visitor.symbols.empty());
    EXPECT_EQ(r.result.events, 0u);
}

TEST(RecordingBounds, ASymbolOfUnknownKindIsDamage) {
    std::string sym;
    put(sym, std::uint8_t{200});
    put(sym, std::uint32_t{42});
    put(sym, std::uint64_t{0x5000});
    auto r = replay(header() + chunk(2, sym) + end_chunk(0));
    EXPECT_TRUE(r.result.truncated);
    EXPECT_TRUE(r.visitor.symbols.empty());
}

TEST(RecordingBounds, EmptyChunksAreReadAsEmptyAndNeverAsThePreviousChunk) {
    std::string drops;
    put(drops, std::uint64_t{9});
    // An empty drops chunk after a full one: it must not see the old bytes.
    auto r = replay(header() + chunk(3, drops) + chunk(3, "") + end_chunk(0));
    EXPECT_TRUE(r.result.truncated);
    EXPECT_EQ(r.visitor.drops, std::vector<std::uint64_t>{9});
}

TEST(RecordingBounds, AChunkOfUnknownTypeIsSkipped) {
    auto r = replay(header() + chunk(77, "whatever") + chunk(1, events(1)) + end_chunk(1));
    EXPECT_FALSE(r.result.truncated);
    EXPECT_EQ(r.result.events, 1u);
}

}  // namespace
