// --format chrome against a string stream: the output is one JSON object
// Perfetto and chrome://tracing accept, its async slices, complete slices and
// flows pair up, and each run of a span lands on the thread the model says it
// ran on (span.first_run_ns on tids[0], then each suspension's resumed_tid).

#include "sinks/chrome_sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sinks/sink.hpp"
#include "support/sample_traces.hpp"

namespace {

using json = nlohmann::json;
using namespace cotrace_sinks_test;

json render(const std::vector<cotrace::trace>& traces) {
    std::ostringstream out;
    cotrace::chrome_sink sink(out);
    for (const auto& t : traces) sink.on_trace(t);
    sink.finish(cotrace::session_summary{});
    return json::parse(out.str());
}

const json& events_of(const json& doc) { return doc.at("traceEvents"); }

// Timestamps back in integer nanoseconds, as Perfetto reads them.
std::int64_t ns(const json& micros) { return std::llround(micros.get<double>() * 1000.0); }

std::vector<json> with_phase(const json& doc, const std::string& ph) {
    std::vector<json> out;
    for (const json& e : events_of(doc))
        if (e.at("ph") == ph) out.push_back(e);
    return out;
}

// The complete slices of one span as (tid, start, end) in the output's
// nanoseconds, in time order.
std::vector<std::tuple<std::uint32_t, std::int64_t, std::int64_t>> runs_of(const json& doc,
                                                                           std::uint64_t span_id) {
    std::vector<std::tuple<std::uint32_t, std::int64_t, std::int64_t>> out;
    for (const json& e : with_phase(doc, "X"))
        if (e.at("args").at("span_id") == span_id)
            out.emplace_back(e.at("tid").get<std::uint32_t>(), ns(e.at("ts")),
                             ns(e.at("ts")) + ns(e.at("dur")));
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return std::get<1>(a) < std::get<1>(b); });
    return out;
}

// Nanoseconds of a model time in the output's clock, from a known anchor:
// the root span's async begin is at us(0).
std::int64_t at(const json& doc, std::uint64_t model_ns) {
    for (const json& e : with_phase(doc, "b"))
        if (e.at("cat") == "span" && e.at("id") == ROOT)
            return ns(e.at("ts")) + static_cast<std::int64_t>(model_ns - us(0));
    ADD_FAILURE() << "no async slice for the root";
    return 0;
}

TEST(ChromeSink, TheOutputIsOneJsonObjectWithTraceEventsAndNanosecondDisplay) {
    const json doc = render(all_traces());
    ASSERT_TRUE(doc.is_object());
    ASSERT_TRUE(doc.at("traceEvents").is_array());
    EXPECT_FALSE(doc.at("traceEvents").empty());
    EXPECT_EQ(doc.at("displayTimeUnit"), "ns");
    for (const json& e : events_of(doc)) {
        EXPECT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("name")) << e.dump();
        if (e.at("ph") != "M") {
            EXPECT_TRUE(e.at("ts").is_number() && e.at("ts").get<double>() >= 0) << e.dump();
        }
    }
}

TEST(ChromeSink, EveryAsyncBeginHasExactlyOneMatchingEndWithTheSameIdAndCategory) {
    const json doc = render(all_traces());
    // Nested async slices share their span's id: match them as a stack per
    // (cat, id), in time order, file order breaking ties (as viewers do).
    std::map<std::pair<std::string, std::uint64_t>,
             std::vector<std::tuple<std::int64_t, int, std::string>>>
        by_id;
    int order = 0;
    for (const json& e : events_of(doc)) {
        const std::string ph = e.at("ph");
        if (ph != "b" && ph != "e") continue;
        by_id[{e.at("cat"), e.at("id").get<std::uint64_t>()}].emplace_back(
            ns(e.at("ts")), order++, ph + e.at("name").get<std::string>());
    }
    ASSERT_FALSE(by_id.empty());
    for (auto& [key, list] : by_id) {
        std::sort(list.begin(), list.end());
        std::vector<std::string> open;
        for (const auto& [ts, o, what] : list) {
            if (what[0] == 'b') {
                open.push_back(what.substr(1));
            } else {
                ASSERT_FALSE(open.empty())
                    << "an end with no begin: " << key.first << " " << key.second;
                EXPECT_EQ(open.back(), what.substr(1)) << "ends out of order for id " << key.second;
                open.pop_back();
            }
        }
        EXPECT_TRUE(open.empty()) << "a begin with no end: " << key.first << " " << key.second;
    }
}

TEST(ChromeSink, EachSpanHasOneAsyncSliceWithAnIdOfItsOwnAndItsArgs) {
    const json doc = render(all_traces());
    std::map<std::uint64_t, json> outer;  // id -> the span's own begin (named like the span)
    for (const json& e : with_phase(doc, "b")) {
        if (!e.at("args").contains("span_id")) continue;  // a nested run
        EXPECT_TRUE(outer.emplace(e.at("id").get<std::uint64_t>(), e).second)
            << "id reused: " << e.at("id");
    }
    std::size_t spans = 0;
    for (const auto& t : all_traces())
        for (const auto& s : t.spans) {
            ++spans;
            ASSERT_TRUE(outer.count(s.id)) << s.name;
            const json& b = outer.at(s.id);
            EXPECT_EQ(b.at("name"), s.name);
            EXPECT_EQ(b.at("cat"), "span");
            EXPECT_EQ(b.at("args").at("status"), cotrace::to_string(s.status));
            EXPECT_EQ(b.at("args").at("partial"), s.partial);
            EXPECT_EQ(b.at("args").at("span_id"), s.id);
            EXPECT_EQ(b.at("args").at("trace_id").get<std::string>().size(), 16u);
        }
    EXPECT_EQ(outer.size(), spans);
    const json& root = outer.at(ROOT);
    EXPECT_EQ(root.at("args").at("site"), "/src/main.cpp:9");
    EXPECT_EQ(root.at("args").at("trace_id"), "0000109200000001");
    EXPECT_EQ(outer.at(POLL).at("args").at("partial"), true);
}

TEST(ChromeSink, EveryFlowIdHasOneStartAndOneEndAndNeverPointsBackInTime) {
    const json doc = render(all_traces());
    std::map<std::uint64_t, std::vector<json>> flows;
    for (const json& e : events_of(doc))
        if (e.at("ph") == "s" || e.at("ph") == "f")
            flows[e.at("id").get<std::uint64_t>()].push_back(e);
    ASSERT_FALSE(flows.empty());
    for (const auto& [id, list] : flows) {
        ASSERT_EQ(list.size(), 2u) << "flow " << id;
        const json& s = list[0].at("ph") == "s" ? list[0] : list[1];
        const json& f = list[0].at("ph") == "f" ? list[0] : list[1];
        EXPECT_EQ(s.at("ph"), "s");
        EXPECT_EQ(f.at("ph"), "f");
        EXPECT_EQ(f.at("bp"), "e");
        EXPECT_EQ(s.at("cat"), f.at("cat"));
        EXPECT_LE(ns(s.at("ts")), ns(f.at("ts"))) << "flow " << id;
    }
}

TEST(ChromeSink, MetadataNamesEveryProcessAndThreadThatAnEventUses) {
    const json doc = render(all_traces());
    std::set<std::uint32_t> named_pids;
    std::set<std::pair<std::uint32_t, std::uint32_t>> named_threads;
    for (const json& e : with_phase(doc, "M")) {
        if (e.at("name") == "process_name") named_pids.insert(e.at("pid").get<std::uint32_t>());
        if (e.at("name") == "thread_name")
            named_threads.insert(
                {e.at("pid").get<std::uint32_t>(), e.at("tid").get<std::uint32_t>()});
        EXPECT_FALSE(e.at("args").at("name").get<std::string>().empty());
    }
    std::size_t checked = 0;
    for (const json& e : events_of(doc)) {
        if (e.at("ph") == "M") continue;
        ++checked;
        EXPECT_TRUE(named_pids.count(e.at("pid").get<std::uint32_t>())) << e.dump();
        EXPECT_TRUE(named_threads.count(
            {e.at("pid").get<std::uint32_t>(), e.at("tid").get<std::uint32_t>()}))
            << e.dump();
    }
    EXPECT_GT(checked, 0u);
    EXPECT_EQ(named_pids, (std::set<std::uint32_t>{PID, OTHER_PID}));
    EXPECT_TRUE(named_threads.count({OTHER_PID, OTHER_PID}));
}

TEST(ChromeSink, CompleteSlicesHaveNoNegativeDurationAndNestStrictlyOnEachThread) {
    const json doc = render(all_traces());
    std::map<std::pair<std::uint32_t, std::uint32_t>,
             std::vector<std::pair<std::int64_t, std::int64_t>>>
        by_thread;
    for (const json& e : with_phase(doc, "X")) {
        ASSERT_TRUE(e.at("dur").is_number());
        EXPECT_GE(e.at("dur").get<double>(), 0.0) << e.dump();
        const std::int64_t start = ns(e.at("ts")), end = start + ns(e.at("dur"));
        EXPECT_LE(start, end);
        by_thread[{e.at("pid").get<std::uint32_t>(), e.at("tid").get<std::uint32_t>()}]
            .emplace_back(start, end);
    }
    ASSERT_FALSE(by_thread.empty());
    for (auto& [thread, slices] : by_thread) {
        std::sort(slices.begin(), slices.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first : a.second > b.second;
        });
        std::vector<std::int64_t> open_ends;
        for (const auto& [start, end] : slices) {
            while (!open_ends.empty() && open_ends.back() <= start) open_ends.pop_back();
            if (!open_ends.empty()) {
                EXPECT_LE(end, open_ends.back()) << "slices overlap on tid " << thread.second;
            }
            open_ends.push_back(end);
        }
    }
}

TEST(ChromeSink, EachRunIsOnTheThreadTheModelSaysItRanOn) {
    const json doc = render({request_trace()});
    using run = std::tuple<std::uint32_t, std::int64_t, std::int64_t>;
    auto r = [&](std::uint32_t tid, std::uint64_t from, std::uint64_t to) {
        return run{tid, at(doc, us(from)), at(doc, us(to))};
    };
    // The root: T1 until it awaits fetch_user, then T2 (resumed there, where
    // fetch_user ended), T3 after when_all, and T3 again after the untraced wait.
    EXPECT_EQ(runs_of(doc, ROOT), (std::vector<run>{r(T1, 0, 100), r(T2, 400, 450), r(T3, 800, 850),
                                                    r(T3, 900, 1000)}));
    EXPECT_EQ(runs_of(doc, VALIDATE), (std::vector<run>{r(T1, 20, 60)}));
    EXPECT_EQ(runs_of(doc, FETCH), (std::vector<run>{r(T1, 100, 200), r(T2, 300, 400)}));
    EXPECT_EQ(runs_of(doc, WHEN_ALL), (std::vector<run>{r(T2, 450, 470), r(T3, 780, 800)}));
    // Overlapping branches, each on its own threads.
    EXPECT_EQ(runs_of(doc, LOOKUP), (std::vector<run>{r(T2, 480, 500), r(T3, 600, 760)}));
    EXPECT_EQ(runs_of(doc, MERGE), (std::vector<run>{r(T2, 505, 520), r(T1, 620, 700)}));
    // Spawned at 900, queued until its first run at 1080: the run starts
    // there, never when it was queued.
    EXPECT_EQ(runs_of(doc, AUDIT), (std::vector<run>{r(T2, 1080, 1200)}));
    EXPECT_EQ(runs_of(doc, LESS), (std::vector<run>{r(T2, 1100, 1150)}));
    EXPECT_EQ(doc.at("otherData").at("runs_on_threads"), 15);
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 0);
    EXPECT_EQ(doc.at("otherData").at("runs_overlapping"), 0);
}

TEST(ChromeSink, AQueuedSpanHasItsAsyncSliceFromItsStartAndSaysHowLongItWaited) {
    const json doc = render({request_trace()});
    bool found = false;
    for (const json& e : with_phase(doc, "b"))
        if (e.at("id") == AUDIT && e.at("args").contains("span_id")) {
            found = true;
            EXPECT_EQ(ns(e.at("ts")), at(doc, us(900)));
            EXPECT_EQ(e.at("args").at("queued_ns"), 180'000);
        }
    EXPECT_TRUE(found);
}

TEST(ChromeSink, ASpanRevisitingAThreadHasEachRunOnTheThreadItResumedOn) {
    const json doc = render({wandering_trace()});
    using run = std::tuple<std::uint32_t, std::int64_t, std::int64_t>;
    std::int64_t begin = -1;
    for (const json& e : with_phase(doc, "b"))
        if (e.at("id") == WANDER) begin = ns(e.at("ts"));
    ASSERT_GE(begin, 0);
    auto r = [&](std::uint32_t tid, std::uint64_t from, std::uint64_t to) {
        return run{tid, begin + static_cast<std::int64_t>(us(from) - us(8000)),
                   begin + static_cast<std::int64_t>(us(to) - us(8000))};
    };
    EXPECT_EQ(runs_of(doc, WANDER), (std::vector<run>{r(T1, 8000, 8050), r(T2, 8100, 8150),
                                                      r(T2, 8200, 8250), r(T1, 8300, 8400)}));
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 0);
    for (const json& e : with_phase(doc, "b"))
        EXPECT_TRUE(e.at("args").contains("span_id")) << "a nested run: " << e.dump();
}

TEST(ChromeSink, RunsAfterASuspensionWithNoResumedThreadAreNestedUnderTheirSpanInsteadOfGuessed) {
    cotrace::trace t = wandering_trace();
    for (auto& su : t.spans[0].suspends) su.resumed_tid = 0;  // a model that does not tell
    const json doc = render({t});
    // The first run is on tids[0]; the later ones could be on either thread.
    const auto runs = runs_of(doc, WANDER);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(std::get<0>(runs[0]), T1);
    std::size_t nested = 0;
    for (const json& e : with_phase(doc, "b"))
        if (e.at("id") == WANDER && !e.at("args").contains("span_id")) {
            ++nested;
            EXPECT_EQ(e.at("name"), "running (thread unknown)");
            EXPECT_EQ(e.at("args").at("thread"), "unknown");
        }
    EXPECT_EQ(nested, 3u);
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 3);
    EXPECT_EQ(doc.at("otherData").at("runs_on_threads"), 1);
}

TEST(ChromeSink, ASpanNeverSeenRunningHasItsAsyncSliceButNoRun) {
    cotrace::trace t = request_trace();
    t.spans[6].first_run_ns = 0;  // audit: spawned, never ran
    t.spans[6].tids.clear();
    t.spans[6].status = span_status::cancelled;
    t.spans.pop_back();  // and so never began its scope
    const json doc = render({t});
    EXPECT_TRUE(runs_of(doc, AUDIT).empty());
    std::size_t begins = 0;
    for (const json& e : with_phase(doc, "b")) begins += e.at("id") == AUDIT;
    EXPECT_EQ(begins, 1u);
    for (const json& e : events_of(doc))
        if (e.at("ph") == "s" || e.at("ph") == "f") {
            EXPECT_NE(e.at("name"), "spawn") << "a spawn arrow to nothing: " << e.dump();
        }
}

TEST(ChromeSink, ARunThatWouldStraddleAnotherOnItsThreadIsNestedUnderItsSpan) {
    // A scope held across the root's first co_await (the library forbids
    // it): on T1 it would begin inside the root's first run and end after.
    cotrace::trace t = request_trace();
    t.spans[1].end_ns = us(150);
    const json doc = render({t});
    EXPECT_TRUE(runs_of(doc, VALIDATE).empty());
    std::size_t nested = 0;
    for (const json& e : with_phase(doc, "b"))
        if (e.at("id") == VALIDATE && !e.at("args").contains("span_id")) {
            ++nested;
            EXPECT_EQ(e.at("name"), "running (overlaps on its thread)");
            EXPECT_EQ(e.at("args").at("thread"), T1);
        }
    EXPECT_EQ(nested, 1u);
    EXPECT_EQ(doc.at("otherData").at("runs_overlapping"), 1);
}

TEST(ChromeSink, FlowsGoFromASuspensionToTheChildAndFromItsEndBackToTheResumption) {
    const json doc = render({request_trace()});
    std::map<std::uint64_t, std::pair<json, json>> flows;
    for (const json& e : with_phase(doc, "s")) flows[e.at("id").get<std::uint64_t>()].first = e;
    for (const json& e : with_phase(doc, "f")) flows[e.at("id").get<std::uint64_t>()].second = e;
    auto has = [&](const char* name, std::uint32_t from_tid, std::uint64_t from_us,
                   std::uint32_t to_tid, std::uint64_t to_us) {
        for (const auto& [id, sf] : flows) {
            const auto& [s, f] = sf;
            // Each end sits within 1 ns inside the slice it binds to.
            if (s.at("name") == name && s.at("tid") == from_tid && f.at("tid") == to_tid &&
                std::llabs(ns(s.at("ts")) - at(doc, us(from_us))) <= 1 &&
                std::llabs(ns(f.at("ts")) - at(doc, us(to_us))) <= 1)
                return true;
        }
        return false;
    };
    EXPECT_TRUE(has("await", T1, 100, T1, 100));   // root → fetch_user
    EXPECT_TRUE(has("return", T2, 400, T2, 400));  // fetch_user → root, where it ended
    EXPECT_TRUE(has("await", T2, 450, T2, 450));   // root, back on T2 → when_all
    EXPECT_TRUE(has("return", T3, 800, T3, 800));  // when_all → root
    EXPECT_TRUE(has("start", T2, 470, T2, 480));   // when_all → lookup
    EXPECT_TRUE(has("start", T2, 470, T2, 505));   // when_all → merge
    // Links, from where and when they were made: lookup's final suspend
    // completes the join (just after its end), merge wakes lookup, the root
    // spawns audit (which first runs at 1080).
    EXPECT_TRUE(has("join", T3, 760, T3, 780));
    EXPECT_TRUE(has("wake", T2, 510, T3, 600));
    EXPECT_TRUE(has("spawn", T3, 900, T2, 1080));
    EXPECT_EQ(flows.size(), 9u);  // these, and no others
    // Every flow binds inside complete slices on its threads: none dangles.
    for (const auto& [id, sf] : flows) {
        for (const json& end : {sf.first, sf.second}) {
            bool inside = false;
            for (const json& x : with_phase(doc, "X"))
                if (x.at("tid") == end.at("tid") && ns(x.at("ts")) <= ns(end.at("ts")) &&
                    ns(end.at("ts")) < ns(x.at("ts")) + std::max<std::int64_t>(ns(x.at("dur")), 1))
                    inside = true;
            EXPECT_TRUE(inside) << end.dump();
        }
    }
}

TEST(ChromeSink, TimestampsAreMicrosecondsThatKeepEveryNanosecond) {
    cotrace::trace t = request_trace();
    t.spans[1].start_ns += 7;  // validate: runs from 20.007 µs to 60 µs
    t.spans[1].first_run_ns += 7;
    const json doc = render({t});
    bool found = false;
    for (const json& e : with_phase(doc, "X"))
        if (e.at("args").at("span_id") == VALIDATE) {
            found = true;
            EXPECT_EQ(ns(e.at("dur")), 39'993);
            EXPECT_EQ(ns(e.at("ts")) - at(doc, us(0)), 20'007);
        }
    EXPECT_TRUE(found);
    // Counted from a stated origin before every trace.
    const std::uint64_t origin = doc.at("otherData").at("ts_origin_unix_ns");
    ASSERT_LT(origin, us(0));
    EXPECT_EQ(at(doc, us(0)), static_cast<std::int64_t>(us(0) - origin));
}

TEST(ChromeSink, ASpanStillRunningEndsItsSliceAtTheLastThingKnownOfItsTrace) {
    const json doc = render({partial_trace()});
    std::int64_t begin = -1, end = -1;
    for (const json& e : events_of(doc))
        if (e.value("id", json()) == POLL && e.at("name") == "poll_loop()") {
            if (e.at("ph") == "b") begin = ns(e.at("ts"));
            if (e.at("ph") == "e") {
                end = ns(e.at("ts"));
                EXPECT_EQ(e.at("args").at("still_running"), true);
            }
        }
    EXPECT_EQ(end - begin, 300'000);  // us(5000) to the trace's end, us(5300)
    // Its one recorded run: between the two suspensions, on T1.
    const auto runs = runs_of(doc, POLL);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(std::get<0>(runs[0]), T1);
    EXPECT_EQ(std::get<1>(runs[0]) - begin, 100'000);
    EXPECT_EQ(std::get<2>(runs[0]) - std::get<1>(runs[0]), 100'000);
    // The cancelled child ran once; being destroyed while suspended is no run.
    EXPECT_EQ(runs_of(doc, SAY).size(), 1u);
}

TEST(ChromeSink, NamesThatNeedEscapingStillGiveValidJson) {
    cotrace::trace t = partial_trace();
    static const std::string name = std::string(t.spans[1].name) + "\n\t\x01 bad utf-8: \xC3\x28";  // outlives t
    t.spans[1].name = name;
    std::ostringstream out;
    cotrace::chrome_sink sink(out);
    sink.on_trace(t);
    sink.finish({});
    const json doc = json::parse(out.str());
    bool found = false;
    for (const json& e : with_phase(doc, "b"))
        if (e.at("id") == SAY &&
            e.at("name").get<std::string>().rfind("say(\"hi\") \\ <now>", 0) == 0)
            found = true;
    EXPECT_TRUE(found);
}

TEST(ChromeSink, EventsAreWrittenAsTracesArriveAndFinishClosesTheObjectOnce) {
    std::ostringstream out;
    cotrace::chrome_sink sink(out);
    sink.on_trace(request_trace());
    const std::string before = out.str();
    EXPECT_EQ(before.rfind("{\"traceEvents\":[", 0), 0u);
    EXPECT_NE(before.find("handle_request(int)"), std::string::npos);
    EXPECT_FALSE(json::accept(before));  // not closed yet
    sink.on_trace(other_process_trace());
    cotrace::session_summary summary;
    summary.traces = 2;
    sink.finish(summary);
    sink.finish(summary);
    const json doc = json::parse(out.str());
    EXPECT_EQ(doc.at("otherData").at("traces"), 2);
}

TEST(ChromeSink, ASessionWithNoTracesIsStillAValidEmptyTrace) {
    std::ostringstream out;
    cotrace::chrome_sink sink(out);
    sink.finish({});
    const json doc = json::parse(out.str());
    EXPECT_TRUE(doc.at("traceEvents").is_array());
    EXPECT_TRUE(doc.at("traceEvents").empty());
}

TEST(ChromeSink, TheRegistryMakesItForFormatChrome) {
    std::ostringstream out;
    auto sink = cotrace::make_sink("chrome", out, {});
    ASSERT_NE(sink, nullptr);
    sink->on_trace(request_trace());
    sink->finish({});
    EXPECT_TRUE(json::accept(out.str()));
}

}  // namespace
