// The sinks against a std::stringstream (DESIGN.md §9): the JSON lines
// contract field by field, and the terminal tree's shape.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sinks/jsonl_sink.hpp"
#include "sinks/sink.hpp"
#include "support/harness.hpp"
#include "sinks/text_format.hpp"
#include "sinks/trace_filter.hpp"
#include "sinks/tree_sink.hpp"

namespace {

using json = nlohmann::json;
using cotrace::link_kind;
using cotrace::span_status;

// handle_request(7) [root, ok, suspended once awaiting lookup_user, one annotation]
// ├─ lookup_user(7) [still running, still suspended at db.cpp:7]
// │  └─ query(7)    [ok, negative annotation]
// └─ render "quoted" [partial, exception]
cotrace::trace sample_trace() {
    cotrace::trace t;
    t.id = 0x4e1c0a9f00000012;
    t.pid = 4242;
    t.complete = false;
    t.start_ns = 1'000;
    t.end_ns = 2'001'000;

    cotrace::span root;
    root.id = 0x10;
    root.name = "handle_request(7)";
    root.site = {"main", "/src/main.cpp", 10};
    root.start_ns = 1'000;
    root.end_ns = 2'001'000;
    root.status = span_status::ok;
    root.tids = {4243, 4245};
    root.thread_hops = 1;
    root.suspends.push_back({{"handle_request", "/src/pipeline.cpp", 57}, 2'000, 1'800'000, 0x11});
    root.events.push_back({"bytes", 512, 1'900'000});

    cotrace::span user;
    user.id = 0x11;
    user.parent_id = 0x10;
    user.name = "lookup_user(7)";
    user.site = {"handle_request", "/src/pipeline.cpp", 57};
    user.start_ns = 2'000;
    user.tids = {4245};
    user.suspends.push_back({{"query", "/src/db.cpp", 7}, 3'000, 0, 0});

    cotrace::span query;
    query.id = 0x12;
    query.parent_id = 0x11;
    query.name = "query(7)";
    query.start_ns = 2'500;
    query.end_ns = 2'900;
    query.status = span_status::ok;
    query.tids = {4245};
    query.events.push_back({"rows", -3, 2'600});

    cotrace::span render;
    render.id = 0x1a;
    render.parent_id = 0x10;
    render.name = "render \"quoted\"";
    render.partial = true;
    render.start_ns = 1'850'000;
    render.end_ns = 1'990'000;
    render.status = span_status::exception;
    render.tids = {4244};

    t.spans = {root, user, query, render};
    t.links = {{0x10, 0x1a, link_kind::spawn}, {0x1a, 0x10, link_kind::wake}, {0x12, 0x11, link_kind::join}};
    return t;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::set<std::string> keys(const json& object) {
    std::set<std::string> out;
    for (auto it = object.begin(); it != object.end(); ++it) out.insert(it.key());
    return out;
}

bool is_hex(const json& v, std::size_t exact_length = 0) {
    if (!v.is_string()) return false;
    const std::string s = v.get<std::string>();
    if (exact_length != 0 && s.size() != exact_length) return false;
    return std::regex_match(s, std::regex("[0-9a-f]+"));
}

bool is_count(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<long long>() >= 0); }

// ---- jsonl --------------------------------------------------------------------

TEST(JsonlSink, ATraceIsOneLineOfJsonWithExactlyTheContractFieldsAndTypes) {
    std::stringstream out;
    cotrace::jsonl_sink sink(out);
    sink.on_trace(sample_trace());
    const std::string text = out.str();
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    ASSERT_EQ(lines_of(text).size(), 1u) << text;

    const json j = json::parse(lines_of(text)[0]);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(keys(j), (std::set<std::string>{"type", "trace_id", "pid", "complete", "start_ns", "end_ns",
                                              "spans", "links"}));
    EXPECT_EQ(j["type"], "trace");
    EXPECT_TRUE(is_hex(j["trace_id"], 16));
    EXPECT_EQ(j["trace_id"], "4e1c0a9f00000012");
    EXPECT_TRUE(is_count(j["pid"]));
    EXPECT_EQ(j["pid"], 4242);
    EXPECT_TRUE(j["complete"].is_boolean());
    EXPECT_EQ(j["complete"], false);
    EXPECT_TRUE(is_count(j["start_ns"]));
    EXPECT_EQ(j["start_ns"], 1000);
    EXPECT_EQ(j["end_ns"], 2001000);

    ASSERT_TRUE(j["spans"].is_array());
    ASSERT_EQ(j["spans"].size(), 4u);
    const std::set<std::string> span_keys{"span_id", "parent_id", "name",     "partial", "site",
                                          "start_ns", "first_run_ns", "end_ns", "status", "tids",
                                          "suspends", "events"};
    const std::set<std::string> statuses{"ok", "exception", "cancelled", "running"};
    for (const json& s : j["spans"]) {
        EXPECT_EQ(keys(s), span_keys) << s.dump();
        EXPECT_TRUE(is_hex(s["span_id"])) << s.dump();
        EXPECT_TRUE(s["parent_id"].is_null() || is_hex(s["parent_id"])) << s.dump();
        EXPECT_TRUE(s["name"].is_string());
        EXPECT_TRUE(s["partial"].is_boolean());
        ASSERT_TRUE(s["site"].is_object());
        EXPECT_EQ(keys(s["site"]), (std::set<std::string>{"function", "file", "line"}));
        EXPECT_TRUE(s["site"]["function"].is_string());
        EXPECT_TRUE(s["site"]["file"].is_string());
        EXPECT_TRUE(is_count(s["site"]["line"]));
        EXPECT_TRUE(is_count(s["start_ns"]));
        EXPECT_TRUE(s["end_ns"].is_null() || is_count(s["end_ns"]));
        ASSERT_TRUE(s["status"].is_string());
        EXPECT_TRUE(statuses.count(s["status"].get<std::string>())) << s["status"];
        ASSERT_TRUE(s["tids"].is_array());
        for (const json& tid : s["tids"]) EXPECT_TRUE(is_count(tid));
        ASSERT_TRUE(s["suspends"].is_array());
        for (const json& su : s["suspends"]) {
            std::set<std::string> want{"file", "line", "start_ns", "end_ns"};
            if (su.contains("resumed_tid")) want.insert("resumed_tid");  // when it resumed
            EXPECT_EQ(keys(su), want) << su.dump();
            EXPECT_TRUE(su["file"].is_string());
            EXPECT_TRUE(is_count(su["line"]));
            EXPECT_TRUE(is_count(su["start_ns"]));
            EXPECT_TRUE(su["end_ns"].is_null() || is_count(su["end_ns"]));
        }
        ASSERT_TRUE(s["events"].is_array());
        for (const json& e : s["events"]) {
            EXPECT_EQ(keys(e), (std::set<std::string>{"name", "value", "ts_ns"})) << e.dump();
            EXPECT_TRUE(e["name"].is_string());
            EXPECT_TRUE(e["value"].is_number_integer());
            EXPECT_TRUE(is_count(e["ts_ns"]));
        }
    }

    const json& root = j["spans"][0];
    EXPECT_EQ(root["span_id"], "10");
    EXPECT_TRUE(root["parent_id"].is_null());
    EXPECT_EQ(root["name"], "handle_request(7)");
    EXPECT_EQ(root["partial"], false);
    EXPECT_EQ(root["site"], (json{{"function", "main"}, {"file", "/src/main.cpp"}, {"line", 10}}));
    EXPECT_EQ(root["end_ns"], 2001000);
    EXPECT_EQ(root["status"], "ok");
    EXPECT_EQ(root["tids"], (json{4243, 4245}));
    ASSERT_EQ(root["suspends"].size(), 1u);
    EXPECT_EQ(root["suspends"][0],
              (json{{"file", "/src/pipeline.cpp"}, {"line", 57}, {"start_ns", 2000}, {"end_ns", 1800000}}));
    ASSERT_EQ(root["events"].size(), 1u);
    EXPECT_EQ(root["events"][0], (json{{"name", "bytes"}, {"value", 512}, {"ts_ns", 1900000}}));

    const json& user = j["spans"][1];
    EXPECT_EQ(user["parent_id"], "10");
    EXPECT_TRUE(user["end_ns"].is_null()) << "still running";
    EXPECT_EQ(user["status"], "running");
    EXPECT_TRUE(user["suspends"][0]["end_ns"].is_null()) << "still suspended";

    const json& query = j["spans"][2];
    EXPECT_EQ(query["parent_id"], "11");
    EXPECT_EQ(query["events"][0]["value"], -3);
    EXPECT_EQ(query["site"], (json{{"function", ""}, {"file", ""}, {"line", 0}}));

    const json& render = j["spans"][3];
    EXPECT_EQ(render["span_id"], "1a");
    EXPECT_EQ(render["name"], "render \"quoted\"");
    EXPECT_EQ(render["partial"], true);
    EXPECT_EQ(render["status"], "exception");

    ASSERT_TRUE(j["links"].is_array());
    ASSERT_EQ(j["links"].size(), 3u);
    for (const json& l : j["links"]) {
        EXPECT_EQ(keys(l), (std::set<std::string>{"from", "to", "kind"}));
        EXPECT_TRUE(is_hex(l["from"]));
        EXPECT_TRUE(is_hex(l["to"]));
    }
    EXPECT_EQ(j["links"][0], (json{{"from", "10"}, {"to", "1a"}, {"kind", "spawn"}}));
    EXPECT_EQ(j["links"][1]["kind"], "wake");
    EXPECT_EQ(j["links"][2]["kind"], "join");
}

TEST(JsonlSink, TraceIdsAreSixteenHexDigitsEvenWhenSmallAndStatusesAreSpelledOut) {
    cotrace::trace t;
    t.id = 1;
    t.pid = 7;
    for (auto st : {span_status::ok, span_status::exception, span_status::cancelled, span_status::running}) {
        cotrace::span s;
        s.id = t.spans.size() + 1;
        s.parent_id = s.id == 1 ? 0 : 1;
        s.name = "s";
        s.start_ns = 5;
        s.end_ns = st == span_status::running ? 0 : 6;
        s.status = st;
        t.spans.push_back(s);
    }
    const json j = json::parse(cotrace::jsonl_sink::to_json(t));
    EXPECT_EQ(j["trace_id"], "0000000000000001");
    EXPECT_EQ(j["spans"][0]["status"], "ok");
    EXPECT_EQ(j["spans"][1]["status"], "exception");
    EXPECT_EQ(j["spans"][2]["status"], "cancelled");
    EXPECT_EQ(j["spans"][3]["status"], "running");
    EXPECT_EQ(j["complete"], true);
    EXPECT_TRUE(j["links"].is_array());
    EXPECT_TRUE(j["links"].empty());
}

// A name, file or annotation that is not valid UTF-8 (a Latin-1 source path,
// a string read from a target) must not make the line invalid JSON.
TEST(JsonlSink, NamesWithInvalidUtf8OrControlCharactersStillGiveOneParsableLine) {
    cotrace::trace t = sample_trace();
    static const std::string bad_name("bad\xff\xfe name\nwith newline\t");  // outlives the trace
    t.spans[0].name = bad_name;
    std::stringstream out;
    cotrace::jsonl_sink sink(out);
    sink.on_trace(t);
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 1u);
    const json j = json::parse(lines[0]);
    const std::string name = j["spans"][0]["name"];
    EXPECT_EQ(name.rfind("bad", 0), 0u);
    EXPECT_NE(name.find("name\nwith newline\t"), std::string::npos);
}

TEST(JsonlSink, TheSummaryLineHasExactlyTheContractFields) {
    std::stringstream out;
    cotrace::jsonl_sink sink(out);
    cotrace::session_summary s;
    s.events = 120;
    s.traces = 4;
    s.spans = 30;
    s.drops = 2;
    s.incomplete = 1;
    s.evicted_traces = 9;  // not part of the line
    s.unattributed = 8;
    sink.finish(s);
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(out.str().back(), '\n');
    const json j = json::parse(lines[0]);
    EXPECT_EQ(keys(j), (std::set<std::string>{"type", "events", "traces", "spans", "drops", "incomplete"}));
    EXPECT_EQ(j["type"], "summary");
    for (const char* k : {"events", "traces", "spans", "drops", "incomplete"}) EXPECT_TRUE(is_count(j[k])) << k;
    EXPECT_EQ(j["events"], 120);
    EXPECT_EQ(j["traces"], 4);
    EXPECT_EQ(j["spans"], 30);
    EXPECT_EQ(j["drops"], 2);
    EXPECT_EQ(j["incomplete"], 1);
}

TEST(JsonlSink, AssembledTracesAndTheSummaryComeOutAsOneLineEachWithConsistentIds) {
    using namespace cotrace_test;
    harness h;
    h.play({
        span_begin(T1, ROOT, 0, MAIN_SITE).code(CODE_ROOT),
        spawn(T1, BACKGROUND).code(CODE_BACKGROUND),
        suspend(T1, ROOT, AWAIT_CHILD_SITE, CHILD).code(CODE_CHILD),
        suspend(T1, CHILD, IO_SITE),
        resume(T2, CHILD),
        end(T2, CHILD),
        end(T2, ROOT),
        resume(T3, BACKGROUND),
        end(T3, BACKGROUND),
        span_begin(T1, OTHER, 0, MAIN_SITE).code(CODE_OTHER),
    });
    h.assembler().flush();
    ASSERT_EQ(h.traces().size(), 2u);

    std::stringstream out;
    auto sink = cotrace::make_sink("jsonl", out, {});
    ASSERT_NE(sink, nullptr);
    for (const auto& t : h.traces()) sink->on_trace(t);
    sink->finish(h.summary());
    const auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 3u);

    const json first = json::parse(lines[0]);
    EXPECT_EQ(first["complete"], true);
    EXPECT_EQ(first["pid"], test_pid);
    std::set<std::string> ids;
    for (const json& s : first["spans"]) ids.insert(s["span_id"].get<std::string>());
    EXPECT_EQ(ids.size(), 3u);
    for (const json& s : first["spans"]) {
        if (!s["parent_id"].is_null()) {
            EXPECT_TRUE(ids.count(s["parent_id"].get<std::string>())) << s.dump();
        }
    }
    EXPECT_TRUE(first["spans"][0]["parent_id"].is_null());
    EXPECT_EQ(first["spans"][1]["name"], "audit(int)");
    EXPECT_EQ(first["spans"][2]["site"]["line"], 42);
    ASSERT_EQ(first["links"].size(), 1u);
    EXPECT_EQ(first["links"][0]["kind"], "spawn");
    EXPECT_EQ(first["links"][0]["from"], first["spans"][0]["span_id"]);
    EXPECT_EQ(first["links"][0]["to"], first["spans"][1]["span_id"]);

    const json second = json::parse(lines[1]);
    EXPECT_EQ(second["complete"], false);
    EXPECT_NE(second["trace_id"], first["trace_id"]);
    EXPECT_TRUE(second["spans"][0]["end_ns"].is_null());

    const json summary = json::parse(lines[2]);
    EXPECT_EQ(summary["type"], "summary");
    EXPECT_EQ(summary["events"], 10);
    EXPECT_EQ(summary["traces"], 2);
    EXPECT_EQ(summary["spans"], 4);
    EXPECT_EQ(summary["drops"], 0);
    EXPECT_EQ(summary["incomplete"], 1);
}

// ---- tree ---------------------------------------------------------------------

std::string tree_of(const cotrace::trace& t, bool colour) {
    std::stringstream out;
    cotrace::tree_sink sink(out, colour);
    sink.on_trace(t);
    return out.str();
}

// The line that shows `name` (fails when there is not exactly one).
std::string line_with(const std::vector<std::string>& lines, const std::string& name) {
    std::string found;
    int count = 0;
    for (const auto& l : lines)
        if (l.find(name) != std::string::npos) {
            found = l;
            ++count;
        }
    EXPECT_EQ(count, 1) << "lines showing " << name;
    return found;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(TreeSink, EverySpanIsShownNestedUnderItsParentWithBoxDrawingPrefixes) {
    const std::string text = tree_of(sample_trace(), false);
    const auto lines = lines_of(text);
    ASSERT_GE(lines.size(), 5u) << text;
    EXPECT_TRUE(starts_with(lines[0], "trace 4e1c0a9f00000012")) << lines[0];
    EXPECT_NE(lines[0].find("pid 4242"), std::string::npos) << lines[0];

    const std::string root = line_with(lines, "handle_request(7)");
    const std::string user = line_with(lines, "lookup_user(7)");
    const std::string query = line_with(lines, "query(7)");
    const std::string render = line_with(lines, "render \"quoted\"");
    EXPECT_TRUE(starts_with(root, "└─ handle_request(7)")) << root;
    EXPECT_TRUE(starts_with(user, "   ├─ lookup_user(7)")) << user;
    EXPECT_TRUE(starts_with(query, "   │  └─ query(7)")) << query;
    EXPECT_TRUE(starts_with(render, "   └─ render \"quoted\"")) << render;

    // Children after their parent, siblings in order.
    auto index = [&](const std::string& l) { return std::find(lines.begin(), lines.end(), l) - lines.begin(); };
    EXPECT_LT(index(root), index(user));
    EXPECT_LT(index(user), index(query));
    EXPECT_LT(index(query), index(render));

    EXPECT_NE(root.find("tid 4243→4245"), std::string::npos) << root;
    EXPECT_NE(root.find("1 suspend"), std::string::npos) << root;
    EXPECT_NE(user.find("running"), std::string::npos) << user;
    EXPECT_NE(render.find("exception"), std::string::npos) << render;
    // A wait on something untraced is shown under the span; annotations too.
    EXPECT_TRUE(starts_with(line_with(lines, "waited at db.cpp:7"), "   │  │  waited at db.cpp:7  still waiting"))
        << text;
    EXPECT_NE(line_with(lines, "• bytes = 512").find("• bytes = 512"), std::string::npos);
    EXPECT_NE(line_with(lines, "• rows = -3").find("• rows = -3"), std::string::npos);
}

TEST(TreeSink, IncompleteTracesAndPartialSpansAreMarked) {
    const auto lines = lines_of(tree_of(sample_trace(), false));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0].find("(incomplete)"), std::string::npos) << lines[0];
    EXPECT_NE(line_with(lines, "render").find("render \"quoted\" (partial)"), std::string::npos);
    EXPECT_EQ(line_with(lines, "lookup_user(7)").find("(partial)"), std::string::npos);

    cotrace::trace complete = sample_trace();
    complete.complete = true;
    for (auto& s : complete.spans) s.partial = false;
    const std::string text = tree_of(complete, false);
    EXPECT_EQ(text.find("(incomplete)"), std::string::npos) << text;
    EXPECT_EQ(text.find("(partial)"), std::string::npos) << text;
}

TEST(TreeSink, ColourOffWritesNoEscapeCodesAndColourOnDoes) {
    const std::string plain = tree_of(sample_trace(), false);
    EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
    const std::string coloured = tree_of(sample_trace(), true);
    EXPECT_NE(coloured.find("\033["), std::string::npos);
    for (const char* name : {"handle_request(7)", "lookup_user(7)", "query(7)", "render \"quoted\" (partial)",
                             "(incomplete)"})
        EXPECT_NE(coloured.find(name), std::string::npos) << name;
}

TEST(TreeSink, SpansWhoseParentIsNotInTheTraceAreShownAsRoots) {
    cotrace::trace t = sample_trace();
    t.spans[3].parent_id = 0x999;  // e.g. a parent in a trace already emitted
    const auto lines = lines_of(tree_of(t, false));
    EXPECT_TRUE(starts_with(line_with(lines, "render"), "└─ render")) << line_with(lines, "render");
    EXPECT_TRUE(starts_with(line_with(lines, "handle_request(7)"), "├─ handle_request(7)"));
}

TEST(TreeSink, ATraceWithNoSpansPrintsNothing) {
    cotrace::trace t;
    t.id = 3;
    EXPECT_EQ(tree_of(t, false), "");
}

TEST(Sinks, MakeSinkMakesEveryFormatItListsAndNothingForAnUnknownName) {
    std::stringstream out;
    EXPECT_NE(dynamic_cast<cotrace::tree_sink*>(cotrace::make_sink("tree", out, {}).get()), nullptr);
    EXPECT_NE(dynamic_cast<cotrace::jsonl_sink*>(cotrace::make_sink("jsonl", out, {}).get()), nullptr);
    std::string joined;
    for (const std::string& name : cotrace::sink_format_names()) {
        EXPECT_NE(cotrace::make_sink(name, out, {}), nullptr) << name;
        joined += (joined.empty() ? "" : "|") + name;
    }
    EXPECT_EQ(cotrace::sink_formats(), joined);
    EXPECT_NE(joined.find("tree"), std::string::npos);
    EXPECT_NE(joined.find("jsonl"), std::string::npos);
    EXPECT_EQ(cotrace::make_sink("no-such-format", out, {}), nullptr);
    EXPECT_EQ(cotrace::make_sink("", out, {}), nullptr);
    EXPECT_EQ(cotrace::make_sink("TREE", out, {}), nullptr);

    cotrace::sink_options colour;
    colour.colour = true;
    auto sink = cotrace::make_sink("tree", out, colour);
    sink->on_trace(sample_trace());
    EXPECT_NE(out.str().find("\033["), std::string::npos) << "the colour option reaches the tree";
}

}  // namespace

namespace {

// An Asio session is a chain as deep as the messages it exchanged: the tree
// must draw it without recursing per level or indenting without bound.
TEST(TreeSink, AVeryDeepChainIsDrawnInLinearSizeWithItsDepthShown) {
    cotrace::trace t;
    t.id = 1;
    t.pid = 7;
    const std::size_t depth = 100'000;
    for (std::size_t i = 0; i < depth; ++i) {
        cotrace::span s;
        s.id = i + 1;
        s.parent_id = i;  // 0 for the root
        s.name = "step";
        s.start_ns = 1000 + i;
        s.end_ns = 2'000'000 - i;
        s.status = span_status::ok;
        s.tids = {7};
        t.spans.push_back(std::move(s));
    }
    std::stringstream out;
    cotrace::tree_sink sink(out, false);
    sink.on_trace(t);
    const std::string text = out.str();
    EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')), depth + 1);
    EXPECT_LT(text.size(), depth * 200) << "output grows faster than the number of spans";
    EXPECT_NE(text.find("[depth 99999] step"), std::string::npos);
}

}  // namespace

namespace {

TEST(Durations, AreReadAsPeopleWriteThemWithEveryUnitAndCombinations) {
    using cotrace::parse_duration_ns;
    EXPECT_EQ(parse_duration_ns("100ns"), 100u);
    EXPECT_EQ(parse_duration_ns("250us"), 250'000u);
    EXPECT_EQ(parse_duration_ns("250µs"), 250'000u);
    EXPECT_EQ(parse_duration_ns("5ms"), 5'000'000u);
    EXPECT_EQ(parse_duration_ns("1.5s"), 1'500'000'000u);
    EXPECT_EQ(parse_duration_ns("2m"), 120'000'000'000u);
    EXPECT_EQ(parse_duration_ns("1h"), 3'600'000'000'000u);
    EXPECT_EQ(parse_duration_ns("1h30m"), 5'400'000'000'000u);
    EXPECT_EQ(parse_duration_ns("1m2.5s"), 62'500'000'000u);
    EXPECT_EQ(parse_duration_ns("1s500ms"), 1'500'000'000u);
    EXPECT_EQ(parse_duration_ns("42"), 42u);               // bare: nanoseconds
    EXPECT_EQ(parse_duration_ns("10", 1e9), 10'000'000'000u);  // bare, where seconds are meant
    for (const char* bad : {"", "ms", "5 ms", "-5ms", "1e3s", "5d", "1h30", "1..5s", "5ms!", "."})
        EXPECT_FALSE(parse_duration_ns(bad)) << bad;
}

}  // namespace

namespace {

// A coroutine whose name, as g++ spells it, is hundreds of columns.
cotrace::trace templated_trace() {
    cotrace::trace t;
    t.id = 0x77;
    t.pid = 4242;
    t.start_ns = 1000;
    t.end_ns = 9'000'000;
    cotrace::span root;
    root.id = 1;
    root.name = "handle_request(int)";
    root.start_ns = 1000;
    root.first_run_ns = 1000;
    root.end_ns = 9'000'000;
    root.status = cotrace::span_status::ok;
    root.tids = {4243};
    cotrace::span child = root;
    child.id = 2;
    child.parent_id = 1;
    child.name =
        "cotrace::task<std::map<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, "
        "std::vector<std::pair<int, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > "
        ">, std::allocator<std::pair<int, std::__cxx11::basic_string<char, std::char_traits<char>, "
        "std::allocator<char> > > > >, std::less<std::__cxx11::basic_string<char, std::char_traits<char>, "
        "std::allocator<char> > >, std::allocator<std::pair<const std::__cxx11::basic_string<char, "
        "std::char_traits<char>, std::allocator<char> >, std::vector<std::pair<int, std::__cxx11::basic_string<char, "
        "std::char_traits<char>, std::allocator<char> > >, std::allocator<std::pair<int, "
        "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > > > > > > > "
        "group_orders_by_customer(std::vector<order_record, std::allocator<order_record> > const&, "
        "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)";
    child.tids = {4243, 4244, 4245};
    t.spans = {root, child};
    return t;
}

std::vector<std::string> tree_lines(const cotrace::trace& t, std::size_t width) {
    std::ostringstream out;
    cotrace::tree_sink sink(out, false, width);
    sink.on_trace(t);
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

TEST(TreeSink, ALongTemplatedNameReadsAsWrittenWithoutTheStandardLibrarysDefaults) {
    const std::string shown = cotrace::short_name(templated_trace().spans[1].name);
    EXPECT_EQ(shown,
              "cotrace::task<std::map<std::string, std::vector<std::pair<int, std::string>>>> "
              "group_orders_by_customer(std::vector<order_record> const&, std::string const&)");
    EXPECT_EQ(cotrace::short_name("f(std::vector<int, my_alloc<int> >)"), "f(std::vector<int, my_alloc<int>>)");
}

TEST(TreeSink, AtWidth80And160NoLineIsLongerAndColumnsLineUp) {
    for (std::size_t width : {80u, 160u}) {
        SCOPED_TRACE(width);
        const auto lines = tree_lines(templated_trace(), width);
        ASSERT_EQ(lines.size(), 3u);
        for (const std::string& l : lines) EXPECT_LE(cotrace::display_width(l), width) << l;
        // The duration column starts at the same column on both span lines.
        auto column_of = [](const std::string& l, const std::string& what) {
            return cotrace::display_width(l.substr(0, l.find(what)));
        };
        EXPECT_EQ(column_of(lines[1], "9.00 ms"), column_of(lines[2], "9.00 ms"));
        // The long name is shortened in its middle: its start and end stay.
        EXPECT_NE(lines[2].find("cotrace::task<"), std::string::npos) << lines[2];
        EXPECT_NE(lines[2].find("…"), std::string::npos) << lines[2];
        EXPECT_NE(lines[2].find("tid 4243→4244→4245"), std::string::npos) << lines[2];
        // No padding past the width: the line with the short name is not
        // padded out to the long one's full length.
        EXPECT_LE(cotrace::display_width(lines[1]), width);
    }
    // At 160 columns more of the name shows than at 80.
    EXPECT_GT(cotrace::display_width(tree_lines(templated_trace(), 160)[2]),
              cotrace::display_width(tree_lines(templated_trace(), 80)[2]));
}

TEST(TreeSink, WithoutAWidthNamesAreOnlyRidOfDefaultsAndJsonlKeepsTheFullName) {
    const auto lines = tree_lines(templated_trace(), 0);
    EXPECT_NE(lines[2].find("group_orders_by_customer(std::vector<order_record> const&, std::string const&)"),
              std::string::npos);
    const std::string jsonl = cotrace::jsonl_sink::to_json(templated_trace());
    EXPECT_NE(jsonl.find("std::allocator<order_record> > const&"), std::string::npos);
}

}  // namespace
