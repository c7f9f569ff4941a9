// `cotrace report` of the committed recordings (tests/golden/data), in every
// format, byte for byte against tests/golden/expected; what the recordings
// hold; the chrome output's structure and the DOT output rendered by
// Graphviz. Replays only: no BPF needed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sinks/chrome_sink.hpp"
#include "sinks/sink.hpp"
#include "support/golden.hpp"

namespace {

using namespace golden;

// ---- every format, byte for byte -------------------------------------------

class Formats : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(Formats, ReportPrintsTheExpectedBytesAndSummary) {
    const auto& [name, format] = GetParam();
    temp_dir tmp;
    const fs::path out = tmp / ("out." + format);
    const outcome r = cotrace_cmd({"report", recording(name).string(), "-f", format, "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(same_bytes(expected(name, format), out));
    EXPECT_TRUE(same_text(read_file(expected(name, "summary")), r.err, "stderr"));
    EXPECT_EQ(r.out, "") << "with -o, nothing goes to stdout";
    // On stdout (not a terminal here, and NO_COLOR=1): the same bytes.
    const outcome to_stdout = cotrace_cmd({"report", recording(name).string(), "-f", format});
    ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.describe();
    EXPECT_TRUE(to_stdout.out == read_file(out)) << "stdout differs from -o FILE";
}

std::string param_name(const testing::TestParamInfo<Formats::ParamType>& info) {
    std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
}

INSTANTIATE_TEST_SUITE_P(Recording, Formats,
                         testing::Combine(testing::ValuesIn(recordings()), testing::ValuesIn(formats())),
                         param_name);

TEST(Inventory, EveryFormatOfCotraceHasGoldenFilesAndThereAreNoOthers) {
    // A format added to cotrace must be added here (support/golden.cpp) and
    // to update.sh.
    // otlp is the one exception: its ids are random per session and it names
    // the host, so no byte-exact file can hold it; tests/otlp decodes it with
    // the OpenTelemetry definitions and compares it with jsonl instead.
    const auto& names = cotrace::sink_format_names();
    std::set<std::string> golden(names.begin(), names.end());
    EXPECT_EQ(golden.erase("otlp"), 1u);
    EXPECT_EQ(golden, std::set<std::string>(formats().begin(), formats().end()));
    std::set<std::string> want_expected, want_data, have_expected, have_data;
    for (const auto& r : recordings()) {
        want_data.insert(r + ".cotrace");
        want_expected.insert(r + ".summary");
        for (const auto& f : formats()) want_expected.insert(r + "." + f);
    }
    for (const auto& e : fs::directory_iterator(golden_dir / "expected"))
        have_expected.insert(e.path().filename().string());
    for (const auto& e : fs::directory_iterator(golden_dir / "data"))
        have_data.insert(e.path().filename().string());
    EXPECT_EQ(have_expected, want_expected) << "run tests/golden/update.sh";
    EXPECT_EQ(have_data, want_data);
    // Small enough to commit.
    for (const auto& r : recordings()) EXPECT_LT(fs::file_size(recording(r)), 64u * 1024) << r;
}

// ---- what the recordings hold -----------------------------------------------

// The demo's requests 0..5, each one complete trace of the known shape:
// request ids with id % N == N - 1 fail their stock lookup (N = 7 by
// default, 3 for pipeline-6-fail3) and render an error page instead.
TEST(Recordings, HoldEveryRequestOfTheWorkloadAsOneCompleteTrace) {
    for (const auto& [name, fail_every] : std::vector<std::pair<std::string, int>>{
             {"pipeline-6", 7}, {"pipeline-6-fail3", 3}}) {
        SCOPED_TRACE(name);
        const jsonl_output out = parse_jsonl(read_file(expected(name, "jsonl")));
        ASSERT_EQ(out.traces.size(), 6u);
        std::set<int> ids;
        for (const trace_line& t : out.traces) {
            SCOPED_TRACE(t.id());
            EXPECT_TRUE(t.complete());
            const int id = t.request_id();
            ids.insert(id);
            const bool fails = id % fail_every == fail_every - 1;
            EXPECT_EQ(t.has_span_matching("render_error*"), fails);
            EXPECT_EQ(t.has_span_matching("render(*"), !fails);
            EXPECT_EQ(t.doc.at("spans").size(), fails ? 11u : 12u);
            EXPECT_EQ(t.doc.at("spans").at(0).at("name"), "handle_request(services&, int)");
            EXPECT_EQ(t.doc.at("spans").at(0).at("status"), "ok");
        }
        EXPECT_EQ(ids, (std::set<int>{0, 1, 2, 3, 4, 5}));
        EXPECT_EQ(json::parse(out.summary).at("incomplete"), 0);
    }
}

// ---- chrome: structure --------------------------------------------------------

// Output nanoseconds of a chrome timestamp (whole microseconds).
std::int64_t ns(const json& micros) {
    EXPECT_TRUE(micros.is_number_unsigned()) << "not whole microseconds: " << micros.dump();
    return static_cast<std::int64_t>(micros.get<std::uint64_t>()) * 1000;
}

class Chrome : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        temp_dir tmp;
        const fs::path out = tmp / "out.json";
        const outcome r =
            cotrace_cmd({"report", recording(GetParam()).string(), "-f", "chrome", "-o", out.string()});
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        doc = json::parse(read_file(out));
        jsonl = parse_jsonl(read_file(expected(GetParam(), "jsonl")));
        origin = doc.at("otherData").at("ts_origin_unix_ns").get<std::uint64_t>();
    }
    std::vector<json> phase(const std::string& ph) const {
        std::vector<json> out;
        for (const json& e : doc.at("traceEvents"))
            if (e.at("ph") == ph) out.push_back(e);
        return out;
    }
    // Unix-epoch ns of an output timestamp.
    std::uint64_t unix_ns(const json& ts) const { return origin + static_cast<std::uint64_t>(ns(ts)); }
    // An output timestamp of a Unix-epoch ns: rounded to the microsecond.
    std::uint64_t ts_of(std::uint64_t unix) const { return (unix - origin + 500) / 1000; }

    json doc;
    jsonl_output jsonl;
    std::uint64_t origin = 0;
};

TEST_P(Chrome, IsOneTraceEventObject) {
    ASSERT_TRUE(doc.at("traceEvents").is_array());
    EXPECT_EQ(doc.at("displayTimeUnit"), "ns");
    EXPECT_EQ(doc.at("otherData").at("traces"), 6);
    for (const json& e : doc.at("traceEvents")) {
        ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("name")) << e.dump();
        if (e.at("ph") != "M") {
            EXPECT_GE(e.at("ts").get<double>(), 0.0) << e.dump();
        }
    }
}

TEST_P(Chrome, EverySpanIsOneSliceOnARequestsTrackNestedUnderItsParentWhenTheyShareOne) {
    std::map<std::uint64_t, json> slices;  // span id -> its slice
    for (const json& x : phase("X"))
        if (x.at("cat") == "span") {
            EXPECT_TRUE(slices.emplace(x.at("args").at("span_id").get<std::uint64_t>(), x).second)
                << "span drawn twice: " << x.dump();
            EXPECT_GE(x.at("tid").get<std::uint32_t>(), cotrace::chrome_sink::request_track_tid_base);
        }
    std::size_t spans = 0, nested = 0;
    for (const trace_line& t : jsonl.traces)
        for (const json& s : t.doc.at("spans")) {
            ++spans;
            const std::uint64_t id = hex_id(s.at("span_id"));
            ASSERT_TRUE(slices.count(id)) << s.dump();
            const json& x = slices.at(id);
            EXPECT_EQ(x.at("name"), s.at("name"));
            EXPECT_EQ(x.at("ts").get<std::uint64_t>(), ts_of(s.at("start_ns")));
            EXPECT_EQ(x.at("ts").get<std::uint64_t>() + x.at("dur").get<std::uint64_t>(), ts_of(s.at("end_ns")));
            EXPECT_EQ(x.at("args").at("duration_ns"),
                      s.at("end_ns").get<std::uint64_t>() - s.at("start_ns").get<std::uint64_t>());
            if (s.at("parent_id").is_null()) continue;
            const json& parent = slices.at(hex_id(s.at("parent_id")));
            if (parent.at("tid") != x.at("tid")) continue;
            ++nested;
            EXPECT_GE(ns(x.at("ts")), ns(parent.at("ts")));
            EXPECT_LE(ns(x.at("ts")) + ns(x.at("dur")), ns(parent.at("ts")) + ns(parent.at("dur")));
        }
    EXPECT_EQ(slices.size(), spans);
    EXPECT_GT(nested, spans / 2);
    // The real model tells every run's thread: no run is an async slice instead.
    EXPECT_TRUE(phase("b").empty());
    EXPECT_TRUE(phase("e").empty());
}

TEST_P(Chrome, EveryFlowIsBoundToTheStartsOfTwoRunsAndHasItsOwnId) {
    std::map<std::uint64_t, std::vector<json>> flows;
    for (const json& e : doc.at("traceEvents"))
        if (e.at("ph") == "s" || e.at("ph") == "f") flows[e.at("id").get<std::uint64_t>()].push_back(e);
    ASSERT_FALSE(flows.empty());
    std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>> run_starts;
    for (const json& x : phase("X"))
        if (x.at("cat") == "run")
            run_starts.insert({x.at("pid").get<std::uint32_t>(), x.at("tid").get<std::uint32_t>(),
                               x.at("ts").get<std::uint64_t>()});
    std::map<std::string, std::size_t> by_name;
    std::size_t cross_thread = 0;
    for (const auto& [id, list] : flows) {
        ASSERT_EQ(list.size(), 2u) << "flow id " << id << " used " << list.size() << " times";
        const json& s = list[0].at("ph") == "s" ? list[0] : list[1];
        const json& f = list[0].at("ph") == "f" ? list[0] : list[1];
        ASSERT_EQ(s.at("ph"), "s") << "flow " << id << " has no start";
        ASSERT_EQ(f.at("ph"), "f") << "flow " << id << " has no finish";
        EXPECT_EQ(s.at("cat"), "run");
        EXPECT_EQ(f.at("cat"), "run");
        EXPECT_EQ(s.at("name"), f.at("name"));
        EXPECT_LT(ns(s.at("ts")), ns(f.at("ts"))) << "flow " << id << " does not go forward in time";
        ++by_name[s.at("name")];
        cross_thread += s.at("tid") != f.at("tid");
        for (const json* end : {&s, &f})
            EXPECT_TRUE(run_starts.count({end->at("pid").get<std::uint32_t>(), end->at("tid").get<std::uint32_t>(),
                                          end->at("ts").get<std::uint64_t>()}))
                << "a flow end at no run's start: " << end->dump();
    }
    // Per request: a spawn (audit) and a join (when_all) link, each an arrow
    // unless one of its runs is left out, or both start in one microsecond.
    const std::size_t left_out = doc.at("otherData").at("flows_left_out");
    EXPECT_EQ(by_name["spawn"], 6u);
    EXPECT_GE(by_name["join"] + left_out, 6u);
    EXPECT_GE(by_name["join"], 5u);
    EXPECT_LE(left_out, flows.size() / 20);
    EXPECT_GT(by_name["await"], 0u);
    EXPECT_GT(by_name["resume"], 6u);
    EXPECT_GT(cross_thread, 0u);
    EXPECT_EQ(doc.at("otherData").at("flows").get<std::size_t>(), flows.size());
}

TEST_P(Chrome, CompleteSlicesOnOneThreadNeverOverlapUnlessNested) {
    // Over the whole output, across traces: slices on one thread are either
    // disjoint or one inside the other (a scope inside its coroutine's run),
    // never straddling.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::pair<std::int64_t, std::int64_t>>>
        by_thread;
    for (const json& x : phase("X")) {
        ASSERT_TRUE(x.at("dur").is_number_unsigned()) << x.dump();
        if (x.at("cat") != "run") continue;
        const std::int64_t start = ns(x.at("ts"));
        by_thread[{x.at("pid").get<std::uint32_t>(), x.at("tid").get<std::uint32_t>()}].emplace_back(
            start, start + ns(x.at("dur")));
    }
    ASSERT_GE(by_thread.size(), 3u);  // a client, the pool, the legacy thread
    for (auto& [thread, slices] : by_thread) {
        std::sort(slices.begin(), slices.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first : a.second > b.second;
        });
        std::vector<std::pair<std::int64_t, std::int64_t>> open;
        for (const auto& sl : slices) {
            while (!open.empty() && open.back().second <= sl.first) open.pop_back();
            if (!open.empty()) {
                EXPECT_LE(sl.second, open.back().second)
                    << "slices straddle on tid " << thread.second << ": [" << open.back().first << ", "
                    << open.back().second << ") and [" << sl.first << ", " << sl.second << ")";
            }
            open.push_back(sl);
        }
    }
}

TEST_P(Chrome, EachRunOfEachSpanIsASliceBetweenItsSuspensionsOnTheThreadItRanOn) {
    // The jsonl of the same recording has each span's threads and
    // suspensions: run 0 from the first run on the first thread, run k > 0
    // from suspension k-1's end on its resumed thread, each to the next
    // suspension's start (or the span's end), in microseconds rounded so.
    // Each is a slice named like its span, unless it is under half a
    // microsecond at the very start of a longer slice on its thread.
    std::multiset<std::tuple<std::string, std::uint32_t, std::uint64_t, std::uint64_t>> runs;
    std::map<std::string, json> args_of;
    for (const json& x : phase("X"))
        if (x.at("cat") == "run") {
            runs.insert({x.at("name"), x.at("tid").get<std::uint32_t>(), x.at("ts").get<std::uint64_t>(),
                         x.at("ts").get<std::uint64_t>() + x.at("dur").get<std::uint64_t>()});
            // The same for every run of a span's function, so viewers aggregate them.
            EXPECT_EQ(x.at("args").size(), 1u) << x.dump();
            auto [it, inserted] = args_of.emplace(x.at("name"), x.at("args"));
            EXPECT_EQ(it->second, x.at("args")) << x.dump();
        }
    std::size_t expected = 0, found = 0;
    for (const trace_line& t : jsonl.traces)
        for (const json& s : t.doc.at("spans")) {
            SCOPED_TRACE(s.at("name").get<std::string>());
            const json& sus = s.at("suspends");
            ASSERT_FALSE(s.at("first_run_ns").is_null());  // every span of the demo ran
            for (std::size_t k = 0; k <= sus.size(); ++k) {
                ASSERT_TRUE(k == 0 || sus[k - 1].contains("resumed_tid")) << "a suspension never resumed";
                const std::uint64_t start =
                    k == 0 ? s.at("first_run_ns").get<std::uint64_t>() : sus[k - 1].at("end_ns").get<std::uint64_t>();
                const std::uint32_t tid = k == 0 ? s.at("tids").at(0).get<std::uint32_t>()
                                                 : sus[k - 1].at("resumed_tid").get<std::uint32_t>();
                const std::uint64_t end =
                    k < sus.size() ? sus[k].at("start_ns").get<std::uint64_t>() : s.at("end_ns").get<std::uint64_t>();
                ++expected;
                auto it = runs.find({s.at("name"), tid, ts_of(start), ts_of(end)});
                if (it != runs.end()) {
                    ++found;
                    runs.erase(it);
                }
            }
        }
    EXPECT_TRUE(runs.empty()) << runs.size() << " run slices no span has";
    const std::size_t hidden = doc.at("otherData").at("runs_under_a_microsecond_hidden");
    EXPECT_EQ(found + hidden, expected);
    EXPECT_LE(hidden, expected / 50) << "more than 2% of runs left out";
    EXPECT_EQ(doc.at("otherData").at("runs_on_threads").get<std::size_t>(), found);
}

std::pair<std::uint32_t, std::uint32_t> thread_of(const json& e) {
    return {e.at("pid").get<std::uint32_t>(), e.at("tid").get<std::uint32_t>()};
}

TEST_P(Chrome, MetadataNamesEveryProcessAndThreadUsedOnce) {
    std::set<std::uint32_t> pids;
    std::set<std::pair<std::uint32_t, std::uint32_t>> threads;
    for (const json& m : phase("M")) {
        EXPECT_FALSE(m.at("args").at("name").get<std::string>().empty());
        if (m.at("name") == "process_name") {
            EXPECT_TRUE(pids.insert(m.at("pid").get<std::uint32_t>()).second) << m.dump();
        } else if (m.at("name") == "thread_name") {
            EXPECT_TRUE(threads.insert(thread_of(m)).second) << m.dump();
        } else {
            ADD_FAILURE() << "unknown metadata: " << m.dump();
        }
    }
    std::set<std::pair<std::uint32_t, std::uint32_t>> used;
    for (const json& e : doc.at("traceEvents")) {
        if (e.at("ph") == "M") continue;
        EXPECT_TRUE(pids.count(e.at("pid").get<std::uint32_t>())) << e.dump();
        used.insert(thread_of(e));
    }
    EXPECT_EQ(used, threads);  // every thread named is used, every one used is named
    EXPECT_EQ(pids.size(), 1u);
}

TEST_P(Chrome, AnnotationsAreInstantsOnTheThreadOfTheirRun) {
    std::size_t annotations = 0;
    for (const trace_line& t : jsonl.traces)
        for (const json& s : t.doc.at("spans")) annotations += s.at("events").size();
    EXPECT_EQ(phase("i").size(), annotations);
    EXPECT_TRUE(phase("n").empty());
}

INSTANTIATE_TEST_SUITE_P(Recording, Chrome, testing::ValuesIn(recordings()),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string n = info.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

// ---- dot: rendered by Graphviz ------------------------------------------------

std::string xml_escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out += c;
        }
    }
    return out;
}

class Dot : public testing::TestWithParam<std::string> {};

// Span boxes Graphviz drew in one SVG document (nodes titled s<span id>;
// wait notes are s<id>_waits, summaries g<id>).
std::size_t svg_span_boxes(const std::string& svg) {
    static const std::regex box("class=\"node\">\n<title>s[0-9]+</title>");
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(svg.begin(), svg.end(), box),
                                                  std::sregex_iterator()));
}

TEST_P(Dot, OIntoADirectoryWritesAGraphPerTraceNamedByItsIdThatGraphvizRendersWithEverySpanName) {
    temp_dir tmp;
    const fs::path dir = tmp / "graphs/";
    const outcome r = cotrace_cmd({"report", recording(GetParam()).string(), "-f", "dot", "-o", dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "");
    const jsonl_output jsonl = parse_jsonl(read_file(expected(GetParam(), "jsonl")));
    std::set<std::string> want, have;
    for (const trace_line& t : jsonl.traces) want.insert(t.id() + ".dot");
    for (const auto& e : fs::directory_iterator(dir)) have.insert(e.path().filename().string());
    EXPECT_EQ(have, want);
    std::string all;  // every file, one after another
    for (const trace_line& t : jsonl.traces) {
        SCOPED_TRACE(t.id());
        const fs::path dot_file = dir / (t.id() + ".dot"), svg_file = tmp / (t.id() + ".svg");
        all += read_file(dot_file);
        const outcome rendered = run({dot_program, "-Tsvg", dot_file.string(), "-o", svg_file.string()});
        ASSERT_EQ(rendered.exit_code, 0) << "Graphviz (" << dot_program << ") rejected it: " << rendered.describe();
        EXPECT_EQ(rendered.err, "") << "Graphviz warned";
        EXPECT_EQ(rendered.out, "") << "more than one graph";
        const std::string svg = read_file(svg_file);
        EXPECT_NE(svg.find("trace " + t.id()), std::string::npos);
        EXPECT_EQ(svg_span_boxes(svg), t.doc.at("spans").size()) << "a box per span: the demo repeats no sibling";
        std::set<std::string> names;
        for (const json& s : t.doc.at("spans")) names.insert(s.at("name"));
        for (const std::string& n : names)
            EXPECT_NE(svg.find(">" + xml_escaped(n) + "<"), std::string::npos) << "span name missing: " << n;
    }
    // Into one stream, the same graphs one after another.
    EXPECT_TRUE(same_text(read_file(expected(GetParam(), "dot")), all, "the files together"));
}

TEST_P(Dot, IntoOneFileEachTraceIsAGraphThatGraphvizRendersIntoAFileOfItsOwn) {
    temp_dir tmp;
    const fs::path dot_file = tmp / "out.dot";
    const outcome r = cotrace_cmd({"report", recording(GetParam()).string(), "-f", "dot", "-o", dot_file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    // dot -O: out.dot.svg, out.dot.2.svg, ... one per graph.
    const outcome rendered = run({dot_program, "-Tsvg", "-O", dot_file.string()});
    ASSERT_EQ(rendered.exit_code, 0) << "Graphviz (" << dot_program << ") rejected it: " << rendered.describe();
    EXPECT_EQ(rendered.err, "") << "Graphviz warned";
    const jsonl_output jsonl = parse_jsonl(read_file(expected(GetParam(), "jsonl")));
    ASSERT_EQ(jsonl.traces.size(), 6u);
    for (std::size_t i = 0; i < jsonl.traces.size(); ++i) {
        const fs::path svg_file = tmp / ("out.dot" + (i ? "." + std::to_string(i + 1) : std::string()) + ".svg");
        ASSERT_TRUE(fs::exists(svg_file)) << svg_file;
        const std::string svg = read_file(svg_file);
        EXPECT_NE(svg.find("trace " + jsonl.traces[i].id()), std::string::npos) << svg_file;
        EXPECT_EQ(svg_span_boxes(svg), jsonl.traces[i].doc.at("spans").size()) << svg_file;
    }
    EXPECT_FALSE(fs::exists(tmp / "out.dot.7.svg"));
}

TEST_P(Dot, TraceChoosesOneGraph) {
    const jsonl_output jsonl = parse_jsonl(read_file(expected(GetParam(), "jsonl")));
    const trace_line& t = jsonl.traces.at(2);
    const outcome r = cotrace_cmd({"report", recording(GetParam()).string(), "-f", "dot", "--trace", t.id()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.rfind("digraph \"trace " + t.id() + "\" {\n", 0), 0u);
    EXPECT_EQ(r.out.find("digraph", 1), std::string::npos) << "more than one graph";
}

TEST(DotUsage, ODirectoryWithAnotherFormatOrOneThatCannotBeWrittenIsOneLineAndExit2) {
    temp_dir tmp;
    write_file(tmp / "file", "x");
    const std::string rec = recording(recordings().front()).string();
    for (const auto& [format, out, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"tree", (tmp / "graphs/").string(), "only --format dot writes a file per trace"},
             {"jsonl", tmp.path().string(), "only --format dot writes a file per trace"},
             {"dot", (tmp / "file/").string(), "is not a directory"},
             {"dot", (tmp / "no" / "such/").string(), "cannot create the directory"},
             {"dot", "/proc/", "cannot write in the directory /proc/"}}) {
        SCOPED_TRACE(format + " -o " + out);
        const outcome r = cotrace_cmd({"report", rec, "-f", format, "-o", out});
        EXPECT_EQ(r.exit_code, 2) << r.describe();
        EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
        EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
    }
    EXPECT_FALSE(fs::exists(tmp / "graphs")) << "made for a format that cannot use it";
}

INSTANTIATE_TEST_SUITE_P(Recording, Dot, testing::ValuesIn(recordings()),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string n = info.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

}  // namespace
