// --format chrome against a string stream: the output is one JSON object
// Perfetto, DevTools and speedscope accept, with whole-microsecond times; each
// span is a slice on a requests track nested under its parent, each run of a
// span lands on the thread the model says it ran on (span.first_run_ns on
// tids[0], then each suspension's resumed_tid), and flows are bound to runs.

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

// Timestamps back in nanoseconds: whole microseconds, as every viewer reads them.
std::int64_t ns(const json& micros) {
    EXPECT_TRUE(micros.is_number_unsigned()) << "not whole microseconds: " << micros.dump();
    return static_cast<std::int64_t>(micros.get<std::uint64_t>()) * 1000;
}

std::vector<json> with_phase(const json& doc, const std::string& ph) {
    std::vector<json> out;
    for (const json& e : events_of(doc))
        if (e.at("ph") == ph) out.push_back(e);
    return out;
}

// The slice of a span on its requests track.
json span_slice(const json& doc, std::uint64_t span_id) {
    for (const json& e : with_phase(doc, "X"))
        if (e.at("cat") == "span" && e.at("args").at("span_id") == span_id) return e;
    ADD_FAILURE() << "no slice for span " << span_id;
    return json::object();
}

// The run slices of one span (by its name: the sample traces name each span
// differently) as (tid, start, end) in the output's nanoseconds, in time order.
std::vector<std::tuple<std::uint32_t, std::int64_t, std::int64_t>> runs_of(const json& doc,
                                                                           std::uint64_t span_id) {
    const json name = span_slice(doc, span_id).value("name", json());
    std::vector<std::tuple<std::uint32_t, std::int64_t, std::int64_t>> out;
    for (const json& e : with_phase(doc, "X"))
        if (e.at("cat") == "run" && e.at("name") == name)
            out.emplace_back(e.at("tid").get<std::uint32_t>(), ns(e.at("ts")),
                             ns(e.at("ts")) + ns(e.at("dur")));
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return std::get<1>(a) < std::get<1>(b); });
    return out;
}

// Nanoseconds of a model time (a whole microsecond) in the output's clock,
// from a known anchor: the root span's slice is at us(0).
std::int64_t at(const json& doc, std::uint64_t model_ns) {
    return ns(span_slice(doc, ROOT).at("ts")) + static_cast<std::int64_t>(model_ns - us(0));
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

TEST(ChromeSink, EachSpanIsOneSliceOnARequestsTrackWithItsArgs) {
    const json doc = render(all_traces());
    std::map<std::uint64_t, json> slices;
    for (const json& e : with_phase(doc, "X"))
        if (e.at("cat") == "span") {
            EXPECT_TRUE(slices.emplace(e.at("args").at("span_id").get<std::uint64_t>(), e).second)
                << "span drawn twice: " << e.dump();
        }
    std::size_t spans = 0;
    for (const auto& t : all_traces())
        for (const auto& s : t.spans) {
            ++spans;
            ASSERT_TRUE(slices.count(s.id)) << s.name;
            const json& x = slices.at(s.id);
            EXPECT_EQ(x.at("name"), s.name);
            EXPECT_GE(x.at("tid").get<std::uint32_t>(), cotrace::chrome_sink::request_track_tid_base);
            EXPECT_EQ(x.at("args").at("status"), cotrace::to_string(s.status));
            EXPECT_EQ(x.at("args").at("partial"), s.partial);
            EXPECT_EQ(x.at("args").at("trace_id").get<std::string>().size(), 16u);
            if (s.end_ns) {
                EXPECT_EQ(x.at("args").at("duration_ns"), s.end_ns - s.start_ns);
            }
        }
    EXPECT_EQ(slices.size(), spans);
    const json& root = slices.at(ROOT);
    EXPECT_EQ(root.at("args").at("site"), "/src/main.cpp:9");
    EXPECT_EQ(root.at("args").at("trace_id"), "0000109200000001");
    EXPECT_EQ(slices.at(POLL).at("args").at("partial"), true);
    for (const json& m : with_phase(doc, "M"))
        if (m.at("tid") == root.at("tid")) {
            EXPECT_EQ(m.at("args").at("name"), "requests 1");
        }
}

TEST(ChromeSink, ASpanIsNestedUnderItsParentOnItsTrackAndConcurrentSiblingsTakeAnother) {
    const json doc = render({request_trace()});
    auto track = [&](std::uint64_t id) { return span_slice(doc, id).at("tid").get<std::uint32_t>(); };
    // Sequential children share the root's track, inside it.
    EXPECT_EQ(track(FETCH), track(ROOT));
    EXPECT_EQ(track(WHEN_ALL), track(ROOT));
    EXPECT_EQ(track(LOOKUP), track(WHEN_ALL));
    // merge overlaps lookup without nesting in it: the next track, never
    // under lookup.
    EXPECT_NE(track(MERGE), track(LOOKUP));
    // audit outlives the root (spawned, ends at 1200): not on the root's track.
    EXPECT_NE(track(AUDIT), track(ROOT));
    EXPECT_EQ(track(LESS), track(AUDIT));
    const json root = span_slice(doc, ROOT), when_all = span_slice(doc, WHEN_ALL),
               lookup = span_slice(doc, LOOKUP);
    auto inside = [](const json& child, const json& parent) {
        return ns(child.at("ts")) >= ns(parent.at("ts")) &&
               ns(child.at("ts")) + ns(child.at("dur")) <= ns(parent.at("ts")) + ns(parent.at("dur"));
    };
    EXPECT_TRUE(inside(when_all, root));
    EXPECT_TRUE(inside(lookup, when_all));
}

TEST(ChromeSink, RequestTracksAreReusedByRequestsThatDoNotOverlap) {
    cotrace::trace later = request_trace();
    later.id += 1;
    const std::uint64_t shift = 10'000'000;  // 10 ms after the first
    later.start_ns += shift;
    later.end_ns += shift;
    for (auto& s : later.spans) {
        s.id += 100;
        if (s.parent_id) s.parent_id += 100;
        s.start_ns += shift;
        s.first_run_ns += shift;
        s.end_ns += shift;
        for (auto& su : s.suspends) {
            su.start_ns += shift;
            su.end_ns += shift;
            if (su.awaited) su.awaited += 100;
        }
        for (auto& a : s.events) a.ts_ns += shift;
    }
    for (auto& l : later.links) {
        l.from += 100;
        l.to += 100;
        l.ts_ns += shift;
    }
    const json doc = render({request_trace(), later});
    std::set<std::uint32_t> tracks;
    for (const json& e : with_phase(doc, "X"))
        if (e.at("cat") == "span") tracks.insert(e.at("tid").get<std::uint32_t>());
    const json one = render({request_trace()});
    std::set<std::uint32_t> tracks_of_one;
    for (const json& e : with_phase(one, "X"))
        if (e.at("cat") == "span") tracks_of_one.insert(e.at("tid").get<std::uint32_t>());
    EXPECT_EQ(tracks, tracks_of_one);
    EXPECT_EQ(span_slice(doc, ROOT + 100).at("tid"), span_slice(doc, ROOT).at("tid"));
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
        EXPECT_FALSE(f.contains("bp"));  // bound to the run that starts there
        EXPECT_EQ(s.at("cat"), "run");
        EXPECT_EQ(f.at("cat"), "run");
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
        ASSERT_TRUE(e.at("dur").is_number_unsigned()) << e.dump();
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
    // Identical args for every run of a span, so viewers aggregate them.
    for (const json& e : with_phase(doc, "X"))
        if (e.at("cat") == "run") {
            EXPECT_EQ(e.at("args").size(), 1u) << e.dump();
            EXPECT_TRUE(e.at("args").contains("kind")) << e.dump();
        }
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 0);
    EXPECT_EQ(doc.at("otherData").at("runs_overlapping"), 0);
}

TEST(ChromeSink, AQueuedSpanHasItsSliceFromItsStartAndSaysHowLongItWaited) {
    const json doc = render({request_trace()});
    const json audit = span_slice(doc, AUDIT);
    EXPECT_EQ(ns(audit.at("ts")), at(doc, us(900)));
    EXPECT_EQ(audit.at("args").at("queued_ns"), 180'000);
}

TEST(ChromeSink, ASpanRevisitingAThreadHasEachRunOnTheThreadItResumedOn) {
    const json doc = render({wandering_trace()});
    using run = std::tuple<std::uint32_t, std::int64_t, std::int64_t>;
    const std::int64_t begin = ns(span_slice(doc, WANDER).at("ts"));
    auto r = [&](std::uint32_t tid, std::uint64_t from, std::uint64_t to) {
        return run{tid, begin + static_cast<std::int64_t>(us(from) - us(8000)),
                   begin + static_cast<std::int64_t>(us(to) - us(8000))};
    };
    EXPECT_EQ(runs_of(doc, WANDER), (std::vector<run>{r(T1, 8000, 8050), r(T2, 8100, 8150),
                                                      r(T2, 8200, 8250), r(T1, 8300, 8400)}));
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 0);
    EXPECT_TRUE(with_phase(doc, "b").empty());
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
        if (e.at("id") == WANDER) {
            ++nested;
            EXPECT_EQ(e.at("name"), "running (thread unknown)");
            EXPECT_EQ(e.at("args").at("thread"), "unknown");
        }
    EXPECT_EQ(nested, 3u);
    EXPECT_EQ(doc.at("otherData").at("runs_thread_unknown"), 3);
    EXPECT_EQ(doc.at("otherData").at("runs_on_threads"), 1);
}

TEST(ChromeSink, ASpanNeverSeenRunningHasItsSliceButNoRun) {
    cotrace::trace t = request_trace();
    t.spans[6].first_run_ns = 0;  // audit: spawned, never ran
    t.spans[6].tids.clear();
    t.spans[6].status = span_status::cancelled;
    t.spans.pop_back();  // and so never began its scope
    const json doc = render({t});
    EXPECT_TRUE(runs_of(doc, AUDIT).empty());
    EXPECT_EQ(span_slice(doc, AUDIT).at("name"), "audit(int)");
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
        if (e.at("id") == VALIDATE) {
            ++nested;
            EXPECT_EQ(e.at("name"), "running (overlaps on its thread)");
            EXPECT_EQ(e.at("args").at("thread"), T1);
        }
    EXPECT_EQ(nested, 1u);
    EXPECT_EQ(doc.at("otherData").at("runs_overlapping"), 1);
}

TEST(ChromeSink, FlowsGoFromASuspensionToTheChildAndBackAndFromEverySuspensionToAResumptionElsewhere) {
    const json doc = render({request_trace()});
    std::map<std::uint64_t, std::pair<json, json>> flows;
    for (const json& e : with_phase(doc, "s")) flows[e.at("id").get<std::uint64_t>()].first = e;
    for (const json& e : with_phase(doc, "f")) flows[e.at("id").get<std::uint64_t>()].second = e;
    // Each end is at the start of the run it binds to (ts, thread and
    // category equal, as DevTools binds them).
    auto has = [&](const char* name, std::uint32_t from_tid, std::uint64_t from_us,
                   std::uint32_t to_tid, std::uint64_t to_us) {
        for (const auto& [id, sf] : flows) {
            const auto& [s, f] = sf;
            if (s.at("name") == name && f.at("name") == name && s.at("tid") == from_tid &&
                f.at("tid") == to_tid && ns(s.at("ts")) == at(doc, us(from_us)) &&
                ns(f.at("ts")) == at(doc, us(to_us)))
                return true;
        }
        return false;
    };
    EXPECT_TRUE(has("await", T1, 0, T1, 100));     // root → fetch_user
    EXPECT_TRUE(has("return", T2, 300, T2, 400));  // fetch_user → root, where it ended
    EXPECT_TRUE(has("await", T2, 400, T2, 450));   // root, back on T2 → when_all
    EXPECT_TRUE(has("return", T3, 780, T3, 800));  // when_all → root
    EXPECT_TRUE(has("start", T2, 450, T2, 480));   // when_all → lookup
    EXPECT_TRUE(has("start", T2, 450, T2, 505));   // when_all → merge
    // Every suspension resumed on another thread than it suspended on.
    EXPECT_TRUE(has("resume", T1, 0, T2, 400));    // root at fetch_user
    EXPECT_TRUE(has("resume", T2, 400, T3, 800));  // root at when_all
    EXPECT_TRUE(has("resume", T1, 100, T2, 300));  // fetch_user at db.cpp
    EXPECT_TRUE(has("resume", T2, 450, T3, 780));  // when_all
    EXPECT_TRUE(has("resume", T2, 480, T3, 600));  // lookup
    EXPECT_TRUE(has("resume", T2, 505, T1, 620));  // merge
    // Links, from the run they were made in: lookup's final suspend
    // completes the join, merge wakes lookup, the root spawns audit (which
    // first runs at 1080).
    EXPECT_TRUE(has("join", T3, 600, T3, 780));
    EXPECT_TRUE(has("wake", T2, 505, T3, 600));
    EXPECT_TRUE(has("spawn", T3, 900, T2, 1080));
    EXPECT_EQ(flows.size(), 15u);  // these, and no others (not root's same-thread resumption at 900)
    EXPECT_EQ(doc.at("otherData").at("flows"), 15);
    // Every flow end is written just before (f) or after (s) the run it
    // binds to, in time order, so Perfetto binds it there too.
    const json& events = events_of(doc);
    for (std::size_t i = 0; i < events.size(); ++i) {
        const json& e = events[i];
        if (e.at("ph") != "s" && e.at("ph") != "f") continue;
        bool bound = false;
        for (std::size_t j = 0; j < events.size(); ++j) {
            const json& x = events[j];
            if (x.at("ph") == "X" && x.at("cat") == "run" && x.at("tid") == e.at("tid") && x.at("ts") == e.at("ts"))
                bound = e.at("ph") == "s" ? j < i : j > i;
        }
        EXPECT_TRUE(bound) << e.dump();
    }
}

TEST(ChromeSink, TimesAreWholeMicrosecondsRoundedSoTouchingRunsStillTouchAndChildrenNeverStartEarly) {
    cotrace::trace t = request_trace();
    // The root's first run ends (and fetch_user's begins) at 100.4996 µs,
    // which rounds down; validate starts at 20.5 µs, which rounds up.
    t.spans[0].suspends[0].start_ns += 499;
    t.spans[2].start_ns += 499;
    t.spans[2].first_run_ns += 499;
    t.spans[1].start_ns += 500;
    t.spans[1].first_run_ns += 500;
    const json doc = render({t});
    const auto root = runs_of(doc, ROOT), fetch = runs_of(doc, FETCH), validate = runs_of(doc, VALIDATE);
    EXPECT_EQ(std::get<2>(root[0]), std::get<1>(fetch[0]));  // touching, in integers
    EXPECT_EQ(std::get<2>(root[0]), at(doc, us(100)));
    EXPECT_EQ(std::get<1>(validate[0]), at(doc, us(21)));
    EXPECT_EQ(std::get<2>(validate[0]), at(doc, us(60)));
    // The exact nanoseconds stay in the span's args.
    EXPECT_EQ(span_slice(doc, VALIDATE).at("args").at("duration_ns"), 39'500);
    EXPECT_EQ(span_slice(doc, VALIDATE).at("args").at("start_unix_ns"), us(20) + 500);
    // Counted from a stated origin before every trace, on a microsecond.
    const std::uint64_t origin = doc.at("otherData").at("ts_origin_unix_ns");
    ASSERT_LT(origin, us(0));
    EXPECT_EQ(origin % 1000, 0u);
    EXPECT_EQ(at(doc, us(0)), static_cast<std::int64_t>(us(0) - origin));
}

TEST(ChromeSink, ARunUnderAMicrosecondAtTheStartOfALongerSliceIsLeftOut) {
    cotrace::trace t = request_trace();
    // validate: a scope of 300 ns at the very start of the root's first run.
    t.spans[1].start_ns = t.spans[1].first_run_ns = us(0) + 100;
    t.spans[1].end_ns = us(0) + 400;
    const json doc = render({t});
    EXPECT_TRUE(runs_of(doc, VALIDATE).empty());
    EXPECT_EQ(doc.at("otherData").at("runs_under_a_microsecond_hidden"), 1);
    EXPECT_TRUE(with_phase(doc, "b").empty());
    // Its span slice, of zero length, is not at the start of the root's on one track either.
    EXPECT_NE(span_slice(doc, VALIDATE).at("tid"), span_slice(doc, ROOT).at("tid"));
}

TEST(ChromeSink, TheTargetsNamesNameItsProcessAndThreads) {
    cotrace::trace t = request_trace();
    t.process_name = "pipeline";
    t.thread_names = {{T1, "pipeline"}, {T2, "pool-0"}};
    const json doc = render({t});
    std::map<std::uint32_t, std::string> threads;
    std::string process;
    for (const json& m : with_phase(doc, "M")) {
        if (m.at("name") == "process_name") process = m.at("args").at("name");
        if (m.at("name") == "thread_name") threads[m.at("tid").get<std::uint32_t>()] = m.at("args").at("name");
    }
    EXPECT_EQ(process, "pipeline");
    EXPECT_EQ(threads.at(T1), "pipeline");
    EXPECT_EQ(threads.at(T2), "pool-0");
    EXPECT_EQ(threads.at(T3), "thread " + std::to_string(T3));  // not known: a placeholder
}

TEST(ChromeSink, ASpanStillRunningEndsItsSliceAtTheLastThingKnownOfItsTrace) {
    const json doc = render({partial_trace()});
    const json poll = span_slice(doc, POLL);
    const std::int64_t begin = ns(poll.at("ts")), end = begin + ns(poll.at("dur"));
    EXPECT_EQ(poll.at("args").at("still_running"), true);
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
    for (const json& e : with_phase(doc, "X"))
        if (e.at("name").get<std::string>().rfind("say(\"hi\") \\ <now>", 0) == 0) found = true;
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
