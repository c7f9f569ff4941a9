// --format dot against a string stream, and rendered by Graphviz itself: the
// whole output is one graph `dot -Tsvg` draws, with every span name intact.

#include "sinks/dot_sink.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sinks/sink.hpp"
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
    const std::regex line("\\n    t[0-9]+_s" + std::to_string(span_id) + " \\[label=[^\\n]*");
    std::smatch m;
    return std::regex_search(dot, m, line) ? m.str().substr(1) : std::string();
}

std::string edge_line(const std::string& dot, std::uint64_t from, std::uint64_t to) {
    const std::regex line("\\n    t[0-9]+_s" + std::to_string(from) + " -> t[0-9]+_s" +
                          std::to_string(to) + "[ ;][^\\n]*");
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

TEST(DotSink, TheOutputIsOneDigraphWithOneClusterPerTraceClosedByFinish) {
    std::ostringstream out;
    cotrace::dot_sink sink(out);
    sink.on_trace(request_trace());
    // Written as traces arrive.
    EXPECT_EQ(out.str().rfind("digraph cotrace {\n", 0), 0u);
    EXPECT_NE(out.str().find("handle_request(int)"), std::string::npos);
    sink.on_trace(partial_trace());
    sink.finish({});
    sink.finish({});
    const std::string dot = out.str();
    EXPECT_EQ(occurrences(dot, "digraph"), 1u);
    EXPECT_EQ(occurrences(dot, "subgraph \"cluster_"), 2u);
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
    EXPECT_EQ(occurrences(dot, "_s1 -> t1_s7"), 1u);
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

}  // namespace
