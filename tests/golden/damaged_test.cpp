// Recordings that are cut short, damaged, from a newer format or not
// recordings at all: cut inside the header or foreign → exit 1 and one line
// that says why; cut inside a chunk → exit 0, a warning that it "ends
// early", and the traces of the valid prefix; damage → never a crash. The
// cuts and patches are computed from the format in daemon/record/recording.hpp.

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cotrace_probes.h"
#include "support/golden.hpp"

namespace {

using namespace golden;

const std::string rec = "pipeline-6";

// Where things are in a recording: the header's end and each chunk.
struct layout {
    struct chunk {
        std::size_t at = 0;  // its type byte
        std::uint8_t type = 0;
        std::uint32_t length = 0;
        std::size_t payload() const { return at + 5; }
        std::size_t end() const { return at + 5 + length; }
    };
    std::size_t header_end = 0;
    std::uint32_t record_size = 0;
    std::uint32_t pid = 0;
    std::vector<chunk> chunks;

    // Events a replay of the first `cut` bytes hands on: the whole records
    // before the cut (a cut events chunk still yields its whole records).
    std::uint64_t events_before(std::size_t cut) const {
        std::uint64_t n = 0;
        for (const chunk& c : chunks) {
            if (c.type != 1 || c.payload() > cut) continue;
            n += (std::min(cut, c.end()) - c.payload()) / record_size;
        }
        return n;
    }
};

template <class T>
T get(const std::string& b, std::size_t at) {
    T v{};
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}

layout layout_of(const std::string& b) {
    layout l;
    l.record_size = get<std::uint32_t>(b, 16);
    l.pid = get<std::uint32_t>(b, 20);
    // magic, format, protocol, record size, pid, clock offset, flags, objects
    const auto objects = get<std::uint32_t>(b, 36);
    std::size_t at = 40;
    for (std::uint32_t i = 0; i < objects; ++i) at += 4 + get<std::uint32_t>(b, at);
    l.header_end = at;
    while (at + 5 <= b.size()) {
        layout::chunk c;
        c.at = at;
        c.type = static_cast<std::uint8_t>(b[at]);
        c.length = get<std::uint32_t>(b, at + 1);
        l.chunks.push_back(c);
        at = c.end();
    }
    return l;
}

class Damaged : public testing::Test {
protected:
    void SetUp() override {
        bytes = read_file(recording(rec));
        ASSERT_EQ(bytes.compare(0, 8, std::string("COTRACE\0", 8)), 0);
        lay = layout_of(bytes);
        ASSERT_EQ(lay.record_size, sizeof(cotrace_event));
        ASSERT_FALSE(lay.chunks.empty());
        ASSERT_EQ(lay.chunks.back().type, 4) << "the golden recording ends cleanly";
        ASSERT_EQ(lay.chunks.back().end(), bytes.size());
        full = parse_jsonl(read_file(expected(rec, "jsonl")));
    }

    // `cotrace report FILE -f FORMAT -o OUT` of these bytes.
    outcome report(const std::string& content, std::string& output, const std::string& format = "jsonl") {
        const fs::path file = tmp / "damaged.cotrace", out = tmp / ("out." + format);
        write_file(file, content);
        fs::remove(out);
        outcome r = cotrace_cmd({"report", file.string(), "-f", format, "-o", out.string()});
        output = fs::exists(out) ? read_file(out) : "(not written)";
        return r;
    }

    // A refusal: exit 1, nothing written, one line naming the file and the
    // reason.
    void expect_refused(const std::string& content, const std::vector<std::string>& says) {
        std::string output;
        const outcome r = report(content, output);
        expect_no_crash(r);
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        EXPECT_EQ(output, "(not written)");
        const auto lines = lines_of(r.err);
        ASSERT_EQ(lines.size(), 1u) << r.err;
        EXPECT_EQ(lines[0].rfind("cotrace: " + (tmp / "damaged.cotrace").string() + " ", 0), 0u) << lines[0];
        for (const auto& s : says) EXPECT_NE(lines[0].find(s), std::string::npos) << lines[0];
    }

    static void expect_no_crash(const outcome& r) {
        EXPECT_EQ(r.signal, 0) << r.describe();
        EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << r.err;
    }

    std::string bytes;
    layout lay;
    jsonl_output full;
    temp_dir tmp;
};

TEST_F(Damaged, TheWholeRecordingReplaysWithoutAWarning) {
    std::string output;
    const outcome r = report(bytes, output);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(same_text(read_file(expected(rec, "summary")), r.err, "stderr"));
    EXPECT_TRUE(same_text(read_file(expected(rec, "jsonl")), output, "output"));
}

TEST_F(Damaged, CutInsideTheHeaderIsRefusedWithOneLine) {
    std::vector<std::size_t> cuts{0, 1, 7};
    for (std::size_t at = 8; at < lay.header_end; at += 3) cuts.push_back(at);
    cuts.push_back(lay.header_end - 1);
    for (const std::size_t cut : cuts) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        expect_refused(bytes.substr(0, cut), {cut < 8 ? "is not a cotrace recording" : "is truncated inside its header"});
    }
}

std::pair<std::string, std::string> span_key(const json& s) {
    return {s.at("span_id").get<std::string>(), s.at("name").get<std::string>()};
}

TEST_F(Damaged, CutInsideAChunkReplaysTheValidPrefixAndWarnsThatItEndsEarly) {
    std::set<std::string> full_lines;
    std::map<std::string, std::set<std::pair<std::string, std::string>>> full_spans;  // trace → (span id, name)
    for (const trace_line& t : full.traces) {
        full_lines.insert(t.raw);
        for (const json& s : t.doc.at("spans")) full_spans[t.id()].insert(span_key(s));
    }
    // Cuts: right after the header; one byte into every fifth chunk and half
    // way through every chunk; inside records of the largest events chunk;
    // before and inside the end chunk.
    std::set<std::size_t> cuts{lay.header_end};
    const layout::chunk* largest = nullptr;
    for (std::size_t i = 0; i < lay.chunks.size(); ++i) {
        const auto& c = lay.chunks[i];
        if (i % 5 == 0) cuts.insert(c.at + 1);
        cuts.insert(c.payload() + c.length / 2);
        if (c.type == 1 && (!largest || c.length > largest->length)) largest = &c;
    }
    ASSERT_NE(largest, nullptr);
    for (std::size_t at = largest->payload() + 13; at < largest->end(); at += 29 * lay.record_size) cuts.insert(at);
    cuts.insert(lay.chunks.back().at);
    cuts.insert(lay.chunks.back().at + 7);

    std::size_t last_total = 0, last_complete = 0;
    for (const std::size_t cut : cuts) {  // in increasing order
        SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
        std::string output;
        const outcome r = report(bytes.substr(0, cut), output);
        expect_no_crash(r);
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        const std::uint64_t events = lay.events_before(cut);
        const auto err = lines_of(r.err);
        ASSERT_EQ(err.size(), 2u) << r.err;
        EXPECT_NE(err[0].find("ends early"), std::string::npos) << err[0];
        EXPECT_NE(err[0].find(" after " + std::to_string(events) + " events"), std::string::npos) << err[0];
        EXPECT_EQ(err[1].rfind("cotrace: " + std::to_string(events) + " events, ", 0), 0u) << err[1];

        const jsonl_output prefix = parse_jsonl(output);
        ASSERT_FALSE(prefix.summary.empty());
        EXPECT_EQ(json::parse(prefix.summary).at("events"), events);
        std::size_t complete = 0;
        for (const trace_line& t : prefix.traces) {
            if (t.complete()) {
                // Finished within the prefix: exactly as in the whole recording.
                ++complete;
                EXPECT_TRUE(full_lines.count(t.raw)) << "a complete trace unlike the whole recording's: " << t.id();
            } else {
                // Cut short: a part of the same trace.
                ASSERT_TRUE(full_spans.count(t.id())) << t.id();
                for (const json& s : t.doc.at("spans"))
                    EXPECT_TRUE(full_spans[t.id()].count(span_key(s)))
                        << t.id() << " span " << s.at("span_id") << " " << s.at("name");
            }
        }
        EXPECT_LE(prefix.traces.size(), full.traces.size());
        // More of the file never shows fewer traces.
        EXPECT_GE(prefix.traces.size(), last_total);
        EXPECT_GE(complete, last_complete);
        last_total = prefix.traces.size();
        last_complete = complete;
        if (cut >= lay.chunks.back().at) {
            // Every event is there; only the end chunk is missing.
            EXPECT_TRUE(same_text(read_file(expected(rec, "jsonl")), output, "output"));
        }
        if (cut == lay.header_end) {
            EXPECT_TRUE(prefix.traces.empty());
        }
    }
    EXPECT_EQ(last_complete, full.traces.size());
}

TEST_F(Damaged, ARecordingOfANewerFormatIsRefusedAndSaysSo) {
    std::string newer = bytes;
    const std::uint32_t v99 = 99;
    std::memcpy(newer.data() + 8, &v99, 4);  // the format version
    expect_refused(newer, {"format 99", "newer cotrace"});
    std::string newer_protocol = bytes;
    std::memcpy(newer_protocol.data() + 12, &v99, 4);  // the probe protocol version
    expect_refused(newer_protocol, {"protocol 99", "newer cotrace"});
}

TEST_F(Damaged, ARecordingWithOtherEventRecordsIsRefused) {
    std::string other = bytes;
    const std::uint32_t size = lay.record_size + 8;
    std::memcpy(other.data() + 16, &size, 4);
    expect_refused(other, {"-byte events", "damaged or foreign"});
}

TEST_F(Damaged, GarbageIsNotARecording) {
    std::mt19937 rng(7);
    std::string random(4096, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    expect_refused(random, {"is not a cotrace recording"});
    expect_refused("hello, world\n", {"is not a cotrace recording"});
    expect_refused("COTRACE", {"is not a cotrace recording"});
    expect_refused(read_file(expected(rec, "jsonl")), {"is not a cotrace recording"});
}

TEST_F(Damaged, AChunkOfAnUnknownTypeIsSkipped) {
    // A later minor revision may add chunk types: skipped, silently.
    std::string with_new = bytes;
    const std::size_t at = lay.chunks[lay.chunks.size() / 2].at;
    std::string chunk(1, static_cast<char>(77));
    const std::uint32_t len = 11;
    chunk.append(reinterpret_cast<const char*>(&len), 4);
    chunk.append(len, 'x');
    with_new.insert(at, chunk);
    std::string output;
    const outcome r = report(with_new, output);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(same_text(read_file(expected(rec, "summary")), r.err, "stderr"));
    EXPECT_TRUE(same_text(read_file(expected(rec, "jsonl")), output, "output"));
}

TEST_F(Damaged, AnImpossibleChunkLengthEndsTheReplayThere) {
    std::string damaged = bytes;
    const layout::chunk& c = lay.chunks[lay.chunks.size() / 2];
    const std::uint32_t huge = 0xFFFFFFF0u;
    std::memcpy(damaged.data() + c.at + 1, &huge, 4);
    std::string output;
    const outcome r = report(damaged, output);
    expect_no_crash(r);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.err.find("ends early"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" after " + std::to_string(lay.events_before(c.at)) + " events"), std::string::npos)
        << r.err;
}

// Damaged contents never crash cotrace, in any format: bytes overwritten at
// random, and event chunks of random (but well-formed) events that the
// assembler must make sense of.
TEST_F(Damaged, RandomDamageNeverCrashesAnyFormat) {
    std::vector<std::string> inputs;
    std::mt19937_64 rng(2024);
    for (int i = 0; i < 4; ++i) {
        std::string d = bytes;
        for (int k = 0; k < 48; ++k)
            d[lay.header_end + rng() % (d.size() - lay.header_end)] = static_cast<char>(rng());
        inputs.push_back(d);
    }
    const std::vector<std::uint64_t> frames{0, 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7fff0000};
    for (int i = 0; i < 4; ++i) {
        std::string d = bytes.substr(0, lay.header_end);
        std::string records;
        std::uint64_t ts = 1'000'000'000;
        for (int k = 0; k < 3000; ++k) {
            cotrace_event e{};
            ts += rng() % 5000;
            e.ts_ns = rng() % 50 == 0 ? ts - rng() % 100000 : ts;  // now and then back in time
            e.pid = rng() % 20 == 0 ? lay.pid + 1 : lay.pid;
            e.tid = lay.pid + static_cast<std::uint32_t>(rng() % 4);
            e.kind = static_cast<std::uint16_t>(rng() % (COTRACE_EV_async_begin + 2));
            e.flags = static_cast<std::uint32_t>(rng() % 2);
            for (auto& a : e.args) a = rng() % 4 == 0 ? rng() % 4 : frames[rng() % frames.size()];
            if (rng() % 30 == 0) e.args[1] = COTRACE_PARENT_NONE;
            e.code = frames[rng() % frames.size()];
            records.append(reinterpret_cast<const char*>(&e), sizeof e);
        }
        const std::uint32_t len = static_cast<std::uint32_t>(records.size());
        d += '\1';
        d.append(reinterpret_cast<const char*>(&len), 4);
        d += records;
        inputs.push_back(d);
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
        for (const std::string& format : formats()) {
            SCOPED_TRACE("input " + std::to_string(i) + ", " + format);
            std::string output;
            const outcome r = report(inputs[i], output, format);
            expect_no_crash(r);
            EXPECT_EQ(r.exit_code, 0) << r.describe();
            if (format == "jsonl") parse_jsonl(output);
            if (format == "chrome") {
                EXPECT_TRUE(json::accept(output)) << output.substr(0, 2000);
            }
        }
}

}  // namespace
