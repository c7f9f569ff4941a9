// --format dot against string streams, and rendered by Graphviz itself: a
// digraph per trace that `dot -Tsvg` draws with every span name intact, into
// one stream or a stream (file) per trace, and the bounds that keep any one
// graph drawable.

#include "sinks/dot_sink.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "sinks/dot_directory.hpp"
#include "sinks/sink.hpp"
#include "sinks/text_format.hpp"
#include "support/sample_traces.hpp"

namespace {

using namespace cotrace_sinks_test;

std::string render(const std::vector<cotrace::trace>& traces) {
    std::ostringstream out;
    cotrace::dot_sink sink(out);
    for (const auto& t : traces) sink.on_trace(t);
    sink.finish({});
    return out.str();
}

// Graphviz is the oracle: without it (COTRACE_TEST_DOT empty) those tests fail.
#define REQUIRE_DOT()                                                                          \
    do {                                                                                       \
        ASSERT_FALSE(std::string(COTRACE_TEST_DOT).empty())                                    \
            << "graphviz's dot is not installed (scripts/install-deps.sh installs it)";        \
    } while (0)

struct rendered {
    int status = -1;  // dot's exit status
    std::string svg;
};

// Runs Graphviz on `dot_text` (through a file: popen gives one direction).
rendered run_dot(const std::string& dot_text) {
    char path[] = "/tmp/cotrace_dot_sink_test_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return {};
    close(fd);
    std::ofstream(path) << dot_text;
    rendered r;
    if (FILE* p =
            popen((std::string(COTRACE_TEST_DOT) + " -Tsvg " + path + " 2>&1").c_str(), "r")) {
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.svg.append(buf, n);
        const int st = pclose(p);
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    std::remove(path);
    return r;
}

// SVG text content back to plain text: Graphviz writes <, >, &, quotes and
// even '-' as entities.
std::string xml_text(const std::string& svg) {
    std::string out;
    for (std::size_t i = 0; i < svg.size(); ++i) {
        if (svg[i] != '&') {
            out += svg[i];
            continue;
        }
        const std::size_t semi = svg.find(';', i);
        if (semi == std::string::npos) {
            out += svg[i];
            continue;
        }
        const std::string entity = svg.substr(i + 1, semi - i - 1);
        long code = -1;
        if (entity == "lt")
            code = '<';
        else if (entity == "gt")
            code = '>';
        else if (entity == "amp")
            code = '&';
        else if (entity == "quot")
            code = '"';
        else if (entity == "apos")
            code = '\'';
        else if (entity.size() > 1 && entity[0] == '#')
            code = entity[1] == 'x' ? std::strtol(entity.c_str() + 2, nullptr, 16)
                                    : std::strtol(entity.c_str() + 1, nullptr, 10);
        if (code < 0 || code > 0x7f) {  // leave anything else as it is
            out += svg[i];
            continue;
        }
        out += static_cast<char>(code);
        i = semi;
    }
    return out;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + what.size()))
        ++n;
    return n;
}

// The line declaring a span's node (span ids are unique in these traces).
std::string node_line(const std::string& dot, std::uint64_t span_id) {
    const std::regex line("\\n  [sg]" + std::to_string(span_id) + " \\[label=[^\\n]*");
    std::smatch m;
    return std::regex_search(dot, m, line) ? m.str().substr(1) : std::string();
}

std::string edge_line(const std::string& dot, std::uint64_t from, std::uint64_t to) {
    const std::regex line("\\n  s" + std::to_string(from) + " -> s" + std::to_string(to) + "[ ;][^\\n]*");
    std::smatch m;
    return std::regex_search(dot, m, line) ? m.str().substr(1) : std::string();
}

TEST(DotSink, TheWholeOutputRendersWithDotAndTheSvgShowsEverySpanName) {
    REQUIRE_DOT();
    const rendered r = run_dot(render(all_traces()));
    ASSERT_EQ(r.status, 0) << r.svg;
    ASSERT_NE(r.svg.find("<svg"), std::string::npos);
    const std::string text = xml_text(r.svg);
    for (const std::string& name : all_span_names())
        EXPECT_NE(text.find(name), std::string::npos) << name;
    // Names that look like DOT or HTML syntax survive as they are.
    EXPECT_NE(text.find("merge(int, std::string)"), std::string::npos);
    EXPECT_NE(text.find("operator<"), std::string::npos);
    EXPECT_NE(text.find("say(\"hi\") \\ <now> & {x|y}"), std::string::npos);
    // Every trace is drawn, not just the first.
    for (const char* id :
         {"0000109200000001", "0000109200000002", "0000109200000003", "0000030900000001"})
        EXPECT_NE(text.find(id), std::string::npos) << id;
}

TEST(DotSink, IntoOneStreamEachTraceIsADigraphOfItsOwnWrittenAsItArrives) {
    std::ostringstream out;
    cotrace::dot_sink sink(out);
    sink.on_trace(request_trace());
    // Written as traces arrive, each graph complete.
    EXPECT_EQ(out.str().rfind("digraph \"trace 0000109200000001\" {\n", 0), 0u);
    EXPECT_NE(out.str().find("handle_request(int)"), std::string::npos);
    EXPECT_EQ(out.str().substr(out.str().size() - 2), "}\n");
    sink.on_trace(partial_trace());
    sink.finish({});
    sink.finish({});
    const std::string dot = out.str();
    EXPECT_EQ(occurrences(dot, "digraph "), 2u);
    EXPECT_NE(dot.find("\n}\ndigraph \"trace 0000109200000002\" {\n"), std::string::npos);
    EXPECT_EQ(occurrences(dot, "subgraph"), 0u);
    EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
    EXPECT_EQ(occurrences(dot, "{"), occurrences(dot, "}"));
}

TEST(DotSink, NodesShowNameDurationThreadsAndStatus) {
    const std::string dot = render({request_trace()});
    const std::string root = node_line(dot, ROOT);
    EXPECT_NE(root.find("handle_request(int)\\n1.00 ms · ok\\ntid 4243→4244→4245 · 2 hops"),
              std::string::npos)
        << root;
    EXPECT_NE(root.find("bytes = 512"), std::string::npos) << root;
    EXPECT_NE(node_line(dot, VALIDATE).find("validate\\n0.040 ms · ok"), std::string::npos);
    const std::string poll = node_line(render({partial_trace()}), POLL);
    EXPECT_NE(poll.find("poll_loop() (partial)\\nnot ended · running"), std::string::npos) << poll;
    EXPECT_NE(poll.find("dashed"), std::string::npos) << poll;
}

TEST(DotSink, FailedAndCancelledSpansAreColoured) {
    const std::string dot = render({request_trace(), partial_trace()});
    EXPECT_NE(node_line(dot, MERGE).find("fillcolor=\"#fde0dc\""), std::string::npos);  // exception
    EXPECT_NE(node_line(dot, WHEN_ALL).find("fillcolor=\"#fde0dc\""),
              std::string::npos);                                                      // exception
    EXPECT_NE(node_line(dot, SAY).find("fillcolor=\"#fff3d6\""), std::string::npos);   // cancelled
    EXPECT_NE(node_line(dot, ROOT).find("fillcolor=\"#ffffff\""), std::string::npos);  // ok
}

TEST(DotSink, AwaitEdgesAreLabelledWithTheSiteOfTheSuspensionThatAwaitedTheChild) {
    const std::string dot = render({request_trace(), partial_trace()});
    EXPECT_NE(edge_line(dot, ROOT, FETCH).find("label=\"pipeline.cpp:20\""), std::string::npos);
    EXPECT_NE(edge_line(dot, ROOT, WHEN_ALL).find("label=\"pipeline.cpp:21\""), std::string::npos);
    EXPECT_NE(edge_line(dot, POLL, SAY).find("label=\"loop.cpp:12\""), std::string::npos);
    // Begun without an await (a when_all branch, a scope): an edge, no label.
    for (auto [parent, child] :
         {std::pair{WHEN_ALL, LOOKUP}, {WHEN_ALL, MERGE}, {ROOT, VALIDATE}}) {
        const std::string e = edge_line(dot, parent, child);
        EXPECT_FALSE(e.empty()) << parent << " -> " << child;
        EXPECT_EQ(e.find("label="), std::string::npos) << e;
    }
}

TEST(DotSink, SpawnJoinAndWakeLinksAreDashedAndLabelledByKind) {
    const std::string dot = render({request_trace()});
    const std::string spawn = edge_line(dot, ROOT, AUDIT), join = edge_line(dot, LOOKUP, WHEN_ALL),
                      wake = edge_line(dot, MERGE, LOOKUP);
    EXPECT_NE(spawn.find("style=dashed, label=\"spawn\""), std::string::npos) << spawn;
    EXPECT_NE(join.find("style=dashed, label=\"join\""), std::string::npos) << join;
    EXPECT_NE(wake.find("style=dashed, label=\"wake\""), std::string::npos) << wake;
    // A spawn is how its child began (one edge, ranked); the others point
    // across the tree and leave the layout alone.
    EXPECT_EQ(occurrences(dot, "  s1 -> s7"), 1u);
    EXPECT_EQ(spawn.find("constraint=false"), std::string::npos);
    EXPECT_NE(join.find("constraint=false"), std::string::npos);
    EXPECT_NE(wake.find("constraint=false"), std::string::npos);
}

TEST(DotSink, UntracedWaitsAreNotedBesideTheSpanThatWaitedOneLinePerSite) {
    cotrace::trace wander = wandering_trace();
    for (auto& su : wander.spans[0].suspends) su.site = site("/src/w.cpp", 1);
    const std::string dot = render({request_trace(), partial_trace(), wander});
    EXPECT_NE(dot.find("label=\"waited at net.cpp:5 (0.050 ms)\\l\""), std::string::npos);
    EXPECT_NE(dot.find("label=\"waited at db.cpp:7 (0.10 ms)\\l\""), std::string::npos);
    EXPECT_NE(dot.find("label=\"waited at when_all.hpp:79 (0.31 ms)\\l\""), std::string::npos);
    EXPECT_NE(dot.find("label=\"waited at loop.cpp:9 (0.10 ms)\\l\""), std::string::npos);
    EXPECT_NE(dot.find("label=\"waited 3× at w.cpp:1 (0.15 ms)\\l\""), std::string::npos);
    // A wait on a traced child is its edge, not a note.
    EXPECT_EQ(dot.find("waited at pipeline.cpp:20"), std::string::npos);
    EXPECT_EQ(dot.find("waited at loop.cpp:12"), std::string::npos);
}

TEST(DotSink, ManyWaitSitesAreSummedUpAfterTheFirstFew) {
    REQUIRE_DOT();
    cotrace::trace t = wandering_trace();
    auto& s = t.spans[0];
    s.suspends.clear();
    for (std::uint32_t line = 1; line <= 10; ++line)
        s.suspends.push_back(
            wait(site("/src/w.cpp", line), us(8000 + line * 10), us(8005 + line * 10)));
    const std::string dot = render({t});
    EXPECT_NE(dot.find("waited at w.cpp:6 (0.005 ms)\\l"), std::string::npos);
    EXPECT_EQ(dot.find("waited at w.cpp:7"), std::string::npos);
    EXPECT_NE(dot.find("and 4 more waits (0.020 ms)\\l"), std::string::npos);
    EXPECT_EQ(run_dot(dot).status, 0);
}

TEST(DotSink, EscapeKeepsQuotesBackslashesAndAngleBracketsLiteral) {
    using cotrace::dot_sink;
    EXPECT_EQ(dot_sink::escape("operator<"), "operator<");
    EXPECT_EQ(dot_sink::escape("say \"hi\""), "say \\\"hi\\\"");
    EXPECT_EQ(dot_sink::escape("a\\nb"), "a\\\\nb");  // a literal backslash-n, not a line break
    EXPECT_EQ(dot_sink::escape("a\nb"), "a\\nb");
    EXPECT_EQ(dot_sink::escape("tab\there"), "tab here");
    EXPECT_EQ(dot_sink::escape("tid 1→2 · ok"), "tid 1→2 · ok");
    EXPECT_EQ(dot_sink::escape("bad \xC3\x28 \xFF end"), "bad ?( ? end");
    EXPECT_EQ(dot_sink::escape("cut \xE2\x86"), "cut ??");
}

TEST(DotSink, ANameWithABackslashSequenceRendersLiterally) {
    REQUIRE_DOT();
    cotrace::trace t = other_process_trace();
    t.spans[0].name = "f\\N\\G \\l<\"x\">";
    const rendered r = run_dot(render({t}));
    ASSERT_EQ(r.status, 0) << r.svg;
    EXPECT_NE(xml_text(r.svg).find("f\\N\\G \\l<\"x\">"), std::string::npos) << r.svg;
}

TEST(DotSink, ASessionWithNoTracesIsAnEmptyGraphThatRenders) {
    REQUIRE_DOT();
    const std::string dot = render({});
    EXPECT_EQ(occurrences(dot, "digraph"), 1u);
    EXPECT_NE(dot.find("label=\"no traces\""), std::string::npos);
    EXPECT_EQ(run_dot(dot).status, 0);
}

TEST(DotSink, TheRegistryMakesItForFormatDot) {
    REQUIRE_DOT();
    std::ostringstream out;
    auto sink = cotrace::make_sink("dot", out, {});
    ASSERT_NE(sink, nullptr);
    sink->on_trace(request_trace());
    sink->finish({});
    EXPECT_EQ(run_dot(out.str()).status, 0);
}

// ---- a graph per trace -------------------------------------------------------

// Graphs written through an opener, by file name.
struct opened_graphs {
    std::vector<std::string> names;
    std::map<std::string, std::shared_ptr<std::ostringstream>> text;
    cotrace::dot_sink::graph_opener opener() {
        return [this](const std::string& name) -> std::unique_ptr<std::ostream> {
            names.push_back(name);
            auto s = std::make_shared<std::ostringstream>();
            text[name] = s;
            // The sink owns what it is given: a stream writing into `s`.
            return std::make_unique<std::ostream>(s->rdbuf());
        };
    }
};

TEST(DotSink, ThroughAnOpenerEachTraceIsAGraphOfItsOwnNamedByItsTraceId) {
    REQUIRE_DOT();
    opened_graphs files;
    cotrace::dot_sink sink(files.opener());
    for (const auto& t : all_traces()) sink.on_trace(t);
    sink.finish({});
    EXPECT_EQ(files.names, (std::vector<std::string>{"0000109200000001.dot", "0000109200000002.dot",
                                                     "0000109200000003.dot", "0000030900000001.dot"}));
    for (const auto& [name, text] : files.text) {
        SCOPED_TRACE(name);
        EXPECT_EQ(occurrences(text->str(), "digraph "), 1u);
        EXPECT_EQ(text->str().rfind("digraph \"trace " + name.substr(0, 16) + "\" {\n", 0), 0u);
        const rendered r = run_dot(text->str());
        ASSERT_EQ(r.status, 0) << r.svg;
        EXPECT_EQ(occurrences(r.svg, "<svg"), 1u);
    }
}

TEST(DotSink, LaterSegmentsOfATraceAreFilesOfTheirOwnTitledWithTheirSegment) {
    trace first = request_trace(), second = request_trace();
    first.final_segment = false;
    second.segment = 1;
    EXPECT_EQ(cotrace::dot_sink::file_name(first), "0000109200000001.dot");
    EXPECT_EQ(cotrace::dot_sink::file_name(second), "0000109200000001-segment1.dot");
    opened_graphs files;
    cotrace::dot_sink sink(files.opener());
    sink.on_trace(first);
    sink.on_trace(second);
    ASSERT_EQ(files.names.size(), 2u);
    EXPECT_NE(files.text.at("0000109200000001.dot")->str().find("· segment 0\""), std::string::npos);
    EXPECT_NE(files.text.at("0000109200000001-segment1.dot")->str().find("· segment 1 (last)\""), std::string::npos);
}

TEST(DotSink, AGraphWhoseStreamFailsIsAnError) {
    cotrace::dot_sink sink([](const std::string&) -> std::unique_ptr<std::ostream> {
        auto out = std::make_unique<std::ostream>(nullptr);  // no buffer: every write fails
        return out;
    });
    EXPECT_THROW(sink.on_trace(request_trace()), cotrace::error);
}

// ---- the bounds that keep a graph drawable ---------------------------------------

// Node declarations (spans and summaries; not wait notes) in DOT text.
std::size_t box_count(const std::string& dot) {
    const std::regex box("\\n  [sg][0-9]+ \\[label=");
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(dot.begin(), dot.end(), box),
                                                  std::sregex_iterator()));
}

// A session as Asio shows it: one root, `operations` children taking turns
// at two sites (receive at session.cpp:20 for 5-7 µs, send at :30 for 2 µs),
// each awaited by the root; each send wakes the next receive.
constexpr std::uint64_t SESSION = 1000;
trace session_trace(std::size_t operations) {
    trace t;
    t.id = 0x0000109200000009;
    t.pid = PID;
    t.start_ns = us(0);
    t.end_ns = us(10 * operations + 10);
    span root = make_span(SESSION, 0, "session", t.start_ns, t.end_ns, span_status::ok, {T1});
    t.spans.push_back(root);
    for (std::size_t i = 0; i < operations; ++i) {
        const bool send = i % 2 == 1;
        const std::uint64_t start = us(10 * i + 1), end = start + (send ? 2 : 5 + (i / 2) % 3) * 1000;
        span op = make_span(SESSION + 1 + i, SESSION, send ? "socket.async_send" : "socket.async_receive", start,
                            end, span_status::ok, {T1});
        op.site = site("/src/session.cpp", send ? 30 : 20);
        t.spans[0].suspends.push_back(wait(op.site, start, end, op.id, T1));
        t.spans.push_back(op);
        if (send && i + 1 < operations)
            t.links.push_back({op.id, op.id + 1, link_kind::wake, end, T1});
    }
    return t;
}

std::string render_with(const trace& t, cotrace::dot_limits limits) {
    std::ostringstream out;
    cotrace::write_dot_graph(out, t, limits);
    return out.str();
}

TEST(DotSink, RepeatedSiblingsAreOneNodeSayingHowManyWithTotalShortestAndLongest) {
    REQUIRE_DOT();
    const trace t = session_trace(1000);
    const std::string dot = render({t});
    EXPECT_EQ(box_count(dot), 3u) << "the session, its receives, its sends";
    std::uint64_t receive_total = 0;
    for (const span& s : t.spans)
        if (s.name == "socket.async_receive") receive_total += s.end_ns - s.start_ns;
    EXPECT_NE(dot.find("×500 socket.async_receive\\ntotal " + cotrace::millis_text(receive_total) +
                       " · min 0.005 ms · max 0.007 ms\\n500 ok"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find("×500 socket.async_send\\ntotal 1.00 ms · min 0.002 ms · max 0.002 ms\\n500 ok"),
              std::string::npos);
    // Their edges keep the await's site, and the wakes between them are one
    // edge that says how many.
    EXPECT_NE(dot.find("-> g1001 [label=\"session.cpp:20\"]"), std::string::npos);
    EXPECT_NE(dot.find("g1002 -> g1001 [style=dashed, label=\"wake ×499\""), std::string::npos);
    EXPECT_EQ(dot.find("more span"), std::string::npos) << "nothing left out";
    const rendered r = run_dot(dot);
    ASSERT_EQ(r.status, 0) << r.svg;
    EXPECT_EQ(occurrences(r.svg, "class=\"node\""), 3u);
}

TEST(DotSink, FewerRepeatsThanTheThresholdStayANodeEach) {
    const trace t = session_trace(6);  // 3 receives, 3 sends
    EXPECT_EQ(box_count(render_with(t, {})), 7u);
    EXPECT_EQ(box_count(render_with(t, {500, 3})), 3u);
}

TEST(DotSink, ChildrenOfSummarisedSiblingsAreSummarisedUnderThem) {
    trace t = session_trace(0);
    for (std::uint64_t i = 0; i < 300; ++i) {
        span h = make_span(2000 + 2 * i, SESSION, "handler", us(i), us(i + 1), span_status::ok, {T1});
        span r = make_span(2001 + 2 * i, h.id, "read", us(i), us(i + 1),
                           i == 7 ? span_status::error : span_status::ok, {T1});
        t.spans.push_back(h);
        t.spans.push_back(r);
    }
    const std::string dot = render({t});
    EXPECT_EQ(box_count(dot), 3u);
    EXPECT_NE(dot.find("×300 handler"), std::string::npos);
    EXPECT_NE(dot.find("×300 read\\ntotal " + cotrace::millis_text(300'000)), std::string::npos) << dot;
    EXPECT_NE(dot.find("\\n299 ok · 1 error\""), std::string::npos) << dot;
    EXPECT_NE(dot.find("g2000 -> g2001"), std::string::npos);
    // Coloured by its worst member.
    EXPECT_NE(node_line(dot, 2001).find("fillcolor=\"#fde0dc\""), std::string::npos);
}

// A root with `n` children of distinct sites (nothing to summarise), each
// with a child of its own.
trace wide_trace(std::uint32_t n) {
    trace t = session_trace(0);
    for (std::uint32_t i = 0; i < n; ++i) {
        span c = make_span(10'000 + 2 * i, SESSION, "step", us(i), us(i + 1), span_status::ok, {T1});
        c.site = site("/src/wide.cpp", i + 1);
        span g = make_span(10'001 + 2 * i, c.id, "leaf", us(i), us(i + 1), span_status::ok, {T1});
        t.spans.push_back(c);
        t.spans.push_back(g);
    }
    return t;
}

TEST(DotSink, PastTheNodeCapTheRestIsOneNodeSayingHowManySpansWereNotDrawn) {
    REQUIRE_DOT();
    const trace t = wide_trace(2000);
    const std::string dot = render({t});
    const std::size_t boxes = box_count(dot);
    EXPECT_EQ(boxes, 499u);
    const std::size_t left_out = t.spans.size() - boxes;
    EXPECT_NE(dot.find(std::to_string(left_out) + " more spans not drawn\\n×2000 leaf\\n×1502 step\\n" +
                       "(a graph shows at most 500 nodes"),
              std::string::npos)
        << dot.substr(dot.find("left_out"));
    // Breadth first: the root and the first children, no grandchild.
    EXPECT_FALSE(node_line(dot, SESSION).empty());
    EXPECT_FALSE(node_line(dot, 10'000).empty());
    EXPECT_TRUE(node_line(dot, 10'001).empty());
    const rendered r = run_dot(dot);
    ASSERT_EQ(r.status, 0) << r.svg;
    EXPECT_EQ(occurrences(r.svg, "class=\"node\""), 500u);
    // A smaller cap counts wait notes too.
    const std::string small = render_with(wide_trace(10), {8, 4});
    EXPECT_EQ(box_count(small), 7u);
    EXPECT_NE(small.find("14 more spans not drawn"), std::string::npos);
}

TEST(DotSink, ASessionOf200kOperationsIsOneSmallGraphThatRenders) {
    REQUIRE_DOT();
    const std::string dot = render({session_trace(200'000)});
    EXPECT_EQ(box_count(dot), 3u);
    EXPECT_NE(dot.find("×100000 socket.async_receive"), std::string::npos);
    EXPECT_LT(dot.size(), 4096u);
    EXPECT_EQ(run_dot(dot).status, 0);
}

TEST(DotSink, SpansSharingAnIdAsADamagedInputMightStillMakeAGraphThatRenders) {
    REQUIRE_DOT();
    trace t = request_trace();
    for (std::size_t i = 1; i < 4; ++i) t.spans.push_back(t.spans[i]);  // ids 2..4 again
    t.spans.push_back(t.spans[0]);                                     // and the root's
    const std::string dot = render_with(t, {6, 4});
    EXPECT_EQ(run_dot(dot).status, 0) << dot;
    EXPECT_EQ(run_dot(render({t})).status, 0);
}

// ---- -o DIR ------------------------------------------------------------------------

struct scratch_dir {
    std::string path;
    scratch_dir() {
        char templ[] = "/tmp/cotrace_dot_dir_test_XXXXXX";
        path = mkdtemp(templ) ? templ : "";
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
};

TEST(DotDirectory, APathEndingInASlashOrAnExistingDirectoryNamesADirectory) {
    scratch_dir d;
    EXPECT_TRUE(cotrace::names_a_directory(d.path));
    EXPECT_TRUE(cotrace::names_a_directory(d.path + "/missing/"));
    EXPECT_FALSE(cotrace::names_a_directory(d.path + "/out.dot"));
    EXPECT_FALSE(cotrace::names_a_directory(""));
}

TEST(DotDirectory, TheOpenerMakesAMissingDirectoryAndWritesAFilePerGraphThere) {
    scratch_dir d;
    const std::string dir = d.path + "/graphs/";
    cotrace::dot_sink sink(cotrace::dot_directory_opener(dir));
    sink.on_trace(request_trace());
    sink.on_trace(other_process_trace());
    sink.finish({});
    std::ifstream a(dir + "0000109200000001.dot"), b(dir + "0000030900000001.dot");
    std::stringstream text;
    text << a.rdbuf();
    EXPECT_EQ(text.str().rfind("digraph \"trace 0000109200000001\"", 0), 0u);
    EXPECT_TRUE(b.good());
    // Only the graphs: the write check leaves nothing behind.
    const auto files = std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator());
    EXPECT_EQ(files, 2);
}

TEST(DotDirectory, AFileOrAnUncreatableDirectoryIsAUsageError) {
    scratch_dir d;
    std::ofstream(d.path + "/file") << "x";
    for (const std::string& bad : {d.path + "/file/", d.path + "/file", d.path + "/no/such/"}) {
        SCOPED_TRACE(bad);
        try {
            cotrace::dot_directory_opener(bad);
            ADD_FAILURE() << "accepted";
        } catch (const cotrace::error& e) {
            EXPECT_EQ(e.status(), cotrace::exit_usage);
        }
    }
}

}  // namespace
