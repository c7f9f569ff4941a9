#include "sinks/chrome_sink.hpp"

#include "sinks/text_format.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace cotrace {

namespace {

using json = nlohmann::ordered_json;

constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t one_day_ns = 86'400ULL * 1'000'000'000ULL;

std::string thread_list(const span& s) {
    std::string out;
    for (std::size_t i = 0; i < s.tids.size(); ++i)
        out += (i ? "→" : "") + std::to_string(s.tids[i]);
    return out;
}

const char* kind_text(const span& s) { return s.kind == span_kind::scope ? "scope" : "coroutine"; }

bool failed(const span& s) { return s.status == span_status::exception || s.status == span_status::error; }

// One run of a span: from its first run or a resumption to its next
// suspension or its end.
struct run {
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;
    std::size_t after = none;  // the suspension it resumed from (none: the span's first run)
    std::size_t until = none;  // the suspension that ended it (none: it ended with the span)
    bool open = false;         // still running when the trace was emitted
    std::uint32_t tid = 0;     // 0: the model does not tell which thread
    bool on_thread = false;    // drawn as an "X" slice on its thread's track
    bool hidden = false;       // too short to draw where it is (see check_nesting)
};

// An event of one trace and where it goes in time order: at equal ts, flow
// ends first (Perfetto binds them to the next slice begun), then async ends,
// then slices (longer first, so enclosing ones open first), then flow starts
// (bound to the slice open there) and instants.
struct placed_event {
    std::uint64_t ts_us;
    int rank;
    std::uint64_t dur_us;
    json event;
};

// Builds the events of one trace. The model tells where every run was: the
// first starts at span.first_run_ns on span.tids[0], each later one at a
// suspension's end_ns on its resumed_tid. A suspension closed without a
// resumption (resumed_tid 0) ends no run when the span ended there (it was
// destroyed or finished while suspended); any other such run has no known
// thread (a model built without resumed_tid) and is an async slice of its
// span instead of being guessed onto a thread.
class trace_events {
public:
    trace_events(const trace& t, std::uint64_t origin_ns, std::uint64_t& next_flow_id)
        : t_(t), origin_ns_(origin_ns), next_flow_id_(next_flow_id) {
        const std::size_t n = t.spans.size();
        for (std::size_t i = 0; i < n; ++i) index_[t.spans[i].id] = i;
        children_.resize(n);
        linked_.assign(n, false);
        parent_.assign(n, none);
        for (std::size_t i = 0; i < n; ++i) {
            auto it = index_.find(t.spans[i].parent_id);
            if (t.spans[i].parent_id != 0 && it != index_.end() && it->second != i) {
                children_[it->second].push_back(i);
                parent_[i] = it->second;
            }
        }
        for (const link& l : t.links)
            if (l.kind == link_kind::spawn)
                if (auto it = index_.find(l.to); it != index_.end()) linked_[it->second] = true;
        runs_.resize(n);
        for (std::size_t i = 0; i < n; ++i) runs_[i] = runs_of(i);
        check_nesting();
        assign_lanes();
    }

    std::size_t lanes() const { return lanes_; }
    std::uint64_t start_us() const { return first_us_; }
    std::uint64_t end_us() const { return last_us_; }

    // The trace's events in time order; lane k of its spans is on tid lane_tids[k].
    std::vector<json> events(const std::vector<std::uint32_t>& lane_tids) {
        lane_tids_ = &lane_tids;
        std::vector<placed_event> out;
        for (std::size_t i = 0; i < t_.spans.size(); ++i) span_events(i, out);
        for (std::size_t i = 0; i < t_.spans.size(); ++i)
            for (std::size_t r = 0; r < runs_[i].size(); ++r)
                if (runs_[i][r].on_thread) run_slice(i, r, out);
        flows(out);
        std::stable_sort(out.begin(), out.end(), [](const placed_event& a, const placed_event& b) {
            if (a.ts_us != b.ts_us) return a.ts_us < b.ts_us;
            if (a.rank != b.rank) return a.rank < b.rank;
            return a.dur_us > b.dur_us;
        });
        std::vector<json> events;
        events.reserve(out.size());
        for (placed_event& e : out) events.push_back(std::move(e.event));
        return events;
    }

    std::uint64_t runs_on_threads() const { return count_runs([](const run& r) { return r.on_thread; }); }
    std::uint64_t runs_thread_unknown() const { return count_runs([](const run& r) { return r.tid == 0; }); }
    std::uint64_t runs_overlapping() const {
        return count_runs([](const run& r) { return r.tid != 0 && !r.on_thread && !r.hidden; });
    }
    std::uint64_t runs_hidden() const { return count_runs([](const run& r) { return r.hidden; }); }
    std::uint64_t flows_written() const { return flows_; }
    std::uint64_t flows_left_out() const { return flows_left_out_; }

private:
    template <class Pred>
    std::uint64_t count_runs(Pred pred) const {
        std::uint64_t n = 0;
        for (const auto& rs : runs_)
            for (const run& r : rs) n += pred(r) ? 1 : 0;
        return n;
    }

    // Whole microseconds since the origin, rounded to nearest: monotonic, so
    // order and touching survive.
    std::uint64_t micros(std::uint64_t ns) const { return ns > origin_ns_ ? (ns - origin_ns_ + 500) / 1000 : 0; }

    std::size_t index_of(std::uint64_t id) const {
        auto it = index_.find(id);
        return it == index_.end() ? none : it->second;
    }

    // Where a span that is still running is drawn to: the last thing known of it.
    std::uint64_t shown_end(const span& s) const {
        if (s.end_ns != 0) return std::max(s.end_ns, s.start_ns);
        std::uint64_t last = std::max(t_.end_ns, s.start_ns);
        for (const suspension& su : s.suspends) last = std::max({last, su.start_ns, su.end_ns});
        for (const annotation& a : s.events) last = std::max(last, a.ts_ns);
        return last;
    }

    std::vector<run> runs_of(std::size_t i) const {
        const span& s = t_.spans[i];
        std::vector<run> runs;
        const std::uint64_t end = shown_end(s);
        // Ends run r at suspension k, or with the span after the last one.
        auto close = [&](run& r, std::size_t k) {
            if (k < s.suspends.size()) {
                r.end_ns = s.suspends[k].start_ns;
                r.until = k;
            } else {
                r.end_ns = end;
                r.open = s.end_ns == 0;
            }
            r.end_ns = std::max(r.end_ns, r.start_ns);
        };
        // The first run, when it was seen and came before the first
        // suspension (a partial span first seen suspending was already
        // running before anyone looked: that run was not recorded).
        const bool seen_suspending_first =
            s.partial && !s.suspends.empty() && s.suspends.front().start_ns <= s.start_ns;
        if (s.first_run_ns != 0 && !seen_suspending_first &&
            (s.suspends.empty() || s.first_run_ns <= s.suspends.front().start_ns)) {
            run r;
            r.start_ns = s.first_run_ns;
            r.tid = s.tids.empty() ? 0 : s.tids.front();
            close(r, 0);
            runs.push_back(r);
        }
        for (std::size_t k = 0; k < s.suspends.size(); ++k) {
            const suspension& su = s.suspends[k];
            if (su.end_ns == 0) break;  // still suspended
            // Closed by the span's end (cancelled: destroyed while suspended),
            // not by a resumption: no run follows.
            if (su.resumed_tid == 0 && k + 1 == s.suspends.size() &&
                (s.status == span_status::cancelled || (s.end_ns != 0 && su.end_ns >= s.end_ns)))
                break;
            run r;
            r.start_ns = su.end_ns;
            r.after = k;
            r.tid = su.resumed_tid;
            close(r, k + 1);
            runs.push_back(r);
        }
        return runs;
    }

    // Slices on one thread must nest (the format requires it; viewers drop
    // or mis-draw the rest), in the microseconds they are written in. Runs of
    // real threads never overlap, but a scope held across a co_await (which
    // the library forbids) or an inconsistent model could: such a run goes
    // under its span's async slice instead. Runs of other traces on the same
    // thread are not seen here.
    void check_nesting() {
        struct item {
            std::uint32_t tid;
            std::uint64_t start, end;
            run* r;
        };
        std::vector<item> items;
        for (auto& rs : runs_)
            for (run& r : rs)
                if (r.tid != 0) items.push_back({r.tid, micros(r.start_ns), micros(r.end_ns), &r});
        std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) {
            if (a.tid != b.tid) return a.tid < b.tid;
            if (a.start != b.start) return a.start < b.start;
            return a.end > b.end;  // the longer one encloses
        });
        std::vector<std::uint64_t> open_ends;
        std::uint32_t tid = 0;
        std::uint64_t last_start = 0, last_end = 0;  // of the last run placed on this thread
        for (const item& it : items) {
            if (it.tid != tid) {
                open_ends.clear();
                tid = it.tid;
                last_start = last_end = std::numeric_limits<std::uint64_t>::max();
            }
            // A run shorter than half a microsecond where a longer slice
            // begins in the same microsecond is left out: speedscope (and
            // any reader that orders ends before begins at one ts) would
            // close it before opening it, and it could not be seen anyway.
            if (it.start == it.end && last_start == it.start && last_end > it.end) {
                it.r->hidden = true;
                continue;
            }
            last_start = it.start;
            last_end = it.end;
            while (!open_ends.empty() && open_ends.back() <= it.start) open_ends.pop_back();
            if (!open_ends.empty() && it.end > open_ends.back()) continue;  // would straddle
            it.r->on_thread = true;
            open_ends.push_back(it.end);
        }
    }

    bool is_ancestor(std::size_t a, std::size_t i) const {
        for (std::size_t p = parent_[i], hops = 0; p != none && hops <= parent_.size(); p = parent_[p], ++hops)
            if (p == a) return true;
        return false;
    }

    // Lanes of the request's spans: on each lane, slices nest, and a slice
    // nested in another is its descendant (a sibling never looks like a
    // child). A span goes on its parent's lane when it fits there, else on
    // the first lane where it does.
    void assign_lanes() {
        const std::size_t n = t_.spans.size();
        lane_.assign(n, none);
        std::vector<std::size_t> depth(n, 0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t p = parent_[i]; p != none && depth[i] <= n; p = parent_[p]) ++depth[i];
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        auto begin_us = [&](std::size_t i) { return micros(t_.spans[i].start_ns); };
        auto end_us = [&](std::size_t i) { return micros(shown_end(t_.spans[i])); };
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            if (begin_us(a) != begin_us(b)) return begin_us(a) < begin_us(b);
            if (end_us(a) != end_us(b)) return end_us(a) > end_us(b);
            return depth[a] < depth[b];
        });
        std::vector<std::vector<std::size_t>> open;  // per lane: the slices open there, outermost first
        first_us_ = n ? begin_us(order.front()) : 0;
        last_us_ = first_us_;
        for (std::size_t i : order) {
            const std::uint64_t b = begin_us(i), e = end_us(i);
            last_us_ = std::max(last_us_, e);
            auto fits = [&](std::vector<std::size_t>& stack) {
                while (!stack.empty() && end_us(stack.back()) < b) stack.pop_back();
                while (!stack.empty() && end_us(stack.back()) == b &&
                       !(e == b && is_ancestor(stack.back(), i)))
                    stack.pop_back();
                if (stack.empty()) return true;
                // Zero length at the very start of its parent: not drawable
                // there by speedscope (see check_nesting).
                if (e == b && begin_us(stack.back()) == b && end_us(stack.back()) > e) return false;
                return end_us(stack.back()) >= e && is_ancestor(stack.back(), i);
            };
            std::size_t lane = none;
            // (A parent placed later, begun after its child in a damaged
            // stream, has no lane yet.)
            const std::size_t parent_lane = parent_[i] == none ? none : lane_[parent_[i]];
            if (parent_lane < open.size() && fits(open[parent_lane])) lane = parent_lane;
            for (std::size_t l = 0; lane == none && l < open.size(); ++l)
                if (fits(open[l])) lane = l;
            if (lane == none) {
                lane = open.size();
                open.emplace_back();
            }
            lane_[i] = lane;
            open[lane].push_back(i);
        }
        lanes_ = open.size();
    }

    json base(const char* ph, std::string_view name, const char* cat, std::uint32_t tid,
              std::uint64_t ts_us) const {
        return json{{"name", name}, {"cat", cat}, {"ph", ph}, {"pid", t_.pid}, {"tid", tid}, {"ts", ts_us}};
    }

    void put(std::vector<placed_event>& out, int rank, json e) const {
        const std::uint64_t ts = e["ts"].get<std::uint64_t>();
        const std::uint64_t dur = e.contains("dur") ? e["dur"].get<std::uint64_t>() : 0;
        out.push_back({ts, rank, dur, std::move(e)});
    }

    std::uint32_t lane_tid(std::size_t i) const { return (*lane_tids_)[lane_[i]]; }

    std::string_view name_of(const span& s) const {
        return s.name.empty() ? std::string_view("?") : s.name;
    }

    void span_events(std::size_t i, std::vector<placed_event>& out) const {
        const span& s = t_.spans[i];
        const std::uint32_t track = lane_tid(i);
        const std::uint64_t b_us = micros(s.start_ns), e_us = micros(shown_end(s));
        json x = base("X", name_of(s), "span", track, b_us);
        x["dur"] = e_us - b_us;
        json args{{"trace_id", trace_id_text(t_.id)},
                  {"span_id", s.id},
                  {"parent_id", s.parent_id ? json(s.parent_id) : json(nullptr)},
                  {"status", to_string(s.status)},
                  {"site", site_text(s.site, true)},
                  {"partial", s.partial},
                  {"kind", kind_text(s)},
                  {"threads", thread_list(s)},
                  {"thread_hops", s.thread_hops},
                  {"suspends", s.suspends.size()},
                  {"start_unix_ns", s.start_ns}};
        if (!s.site.function.empty()) args["site_function"] = s.site.function;
        if (s.first_run_ns > s.start_ns) args["queued_ns"] = s.first_run_ns - s.start_ns;
        if (s.end_ns != 0) args["duration_ns"] = s.end_ns - s.start_ns;
        if (s.end_ns == 0) args["still_running"] = true;
        if (parent_[i] == none) {
            args["trace_complete"] = t_.complete;
            if (t_.segment != 0 || !t_.final_segment) args["trace_segment"] = t_.segment;
        }
        x["args"] = std::move(args);
        if (failed(s)) x["cname"] = "terrible";
        put(out, 2, std::move(x));

        // Runs not on a thread's track: async slices of the span.
        const std::uint32_t async_tid = s.tids.empty() ? track : s.tids.front();
        const auto& rs = runs_[i];
        for (std::size_t r = 0; r < rs.size(); ++r) {
            if (rs[r].on_thread || rs[r].hidden) continue;
            const std::string name =
                rs[r].tid ? "running (overlaps on its thread)" : "running (thread unknown)";
            json rb = base("b", name, "span", async_tid, micros(rs[r].start_ns));
            rb["id"] = s.id;
            json args{{"span_id", s.id}, {"run", r}, {"thread", rs[r].tid ? json(rs[r].tid) : json("unknown")}};
            if (rs[r].after != none) args["resumed_after"] = site_text(s.suspends[rs[r].after].site, true);
            if (rs[r].open) args["open"] = true;
            rb["args"] = std::move(args);
            put(out, 2, std::move(rb));
            json re = base("e", name, "span", async_tid, micros(rs[r].end_ns));
            re["id"] = s.id;
            put(out, 1, std::move(re));
        }
        for (const annotation& a : s.events) {
            const run* r = run_at(i, a.ts_ns);
            const std::uint32_t tid = r && r->on_thread ? r->tid : track;
            json ev = base("i", a.name, "annotation", tid, micros(a.ts_ns));
            ev["s"] = "t";
            ev["args"] = json{{"value", a.value}, {"span_id", s.id}};
            put(out, 4, std::move(ev));
        }
    }

    void run_slice(std::size_t i, std::size_t r, std::vector<placed_event>& out) const {
        const span& s = t_.spans[i];
        const run& rn = runs_[i][r];
        const std::uint64_t b = micros(rn.start_ns), e = micros(rn.end_ns);
        json x = base("X", name_of(s), "run", rn.tid, b);
        x["dur"] = e - b;
        x["args"] = json{{"kind", kind_text(s)}};
        if (failed(s)) x["cname"] = "terrible";
        put(out, 2, std::move(x));
    }

    // The last run of span i begun at or before `ts` (runs are in time
    // order), or nullptr.
    const run* run_before(std::size_t i, std::uint64_t ts) const {
        const auto& rs = runs_[i];
        auto it = std::upper_bound(rs.begin(), rs.end(), ts,
                                   [](std::uint64_t t, const run& r) { return t < r.start_ns; });
        return it == rs.begin() ? nullptr : &*std::prev(it);
    }

    // The run of span i that `ts` falls in, or nullptr.
    const run* run_at(std::size_t i, std::uint64_t ts) const {
        const run* r = run_before(i, ts);
        return r && ts <= r->end_ns ? r : nullptr;
    }

    // The first run of span i begun at or after `ts`, or nullptr.
    const run* run_from(std::size_t i, std::uint64_t ts) const {
        const auto& rs = runs_[i];
        auto it = std::lower_bound(rs.begin(), rs.end(), ts,
                                   [](const run& r, std::uint64_t t) { return r.start_ns < t; });
        return it == rs.end() ? nullptr : &*it;
    }

    const run* first_run(std::size_t i) const {
        return runs_[i].empty() || runs_[i].front().after != none ? nullptr : &runs_[i].front();
    }

    // Where a link made at `ts` on thread `tid` by span i leaves from: the
    // run of i on that thread at that moment, or its last run when it had
    // just ended there (a join is made by a branch's final suspend, after its
    // end).
    const run* link_source(std::size_t i, std::uint64_t ts, std::uint32_t tid) const {
        const span& s = t_.spans[i];
        const run* r = run_before(i, ts);
        if (!r) return nullptr;
        const bool last_after_end = s.end_ns != 0 && s.end_ns <= ts && r == &runs_[i].back();
        if (ts > r->end_ns && !last_after_end) return nullptr;  // not running then (a context)
        if (tid != 0 && r->tid != tid) return nullptr;
        return r;
    }

    // An arrow from run `from` to run `to`, bound to both by their start.
    void flow(std::vector<placed_event>& out, const char* name, const run* from, const run* to) {
        if (!from || !to || from == to) return;
        if (from->hidden || to->hidden) {  // an end too short to draw (see check_nesting)
            ++flows_left_out_;
            return;
        }
        if (!from->on_thread || !to->on_thread) return;
        if (to->start_ns < from->start_ns) return;  // an arrow back in time explains nothing
        // Both ends in one microsecond: DevTools keys a flow's steps by ts
        // and would keep one; no viewer could show it apart from the slices.
        if (micros(to->start_ns) == micros(from->start_ns)) {
            ++flows_left_out_;
            return;
        }
        const std::uint64_t id = next_flow_id_++;
        ++flows_;
        json s = base("s", name, "run", from->tid, micros(from->start_ns));
        s["id"] = id;
        put(out, 3, std::move(s));
        json f = base("f", name, "run", to->tid, micros(to->start_ns));
        f["id"] = id;
        put(out, 0, std::move(f));
    }

    void flows(std::vector<placed_event>& out) {
        std::vector<bool> awaited(t_.spans.size(), false);
        for (std::size_t i = 0; i < t_.spans.size(); ++i) {
            const span& s = t_.spans[i];
            // Per suspension: the run it ended and the run that resumed from it.
            std::vector<std::size_t> until(s.suspends.size(), none),
                resumed(s.suspends.size(), none);
            for (std::size_t r = 0; r < runs_[i].size(); ++r) {
                if (runs_[i][r].until != none) until[runs_[i][r].until] = r;
                if (runs_[i][r].after != none) resumed[runs_[i][r].after] = r;
            }
            for (std::size_t k = 0; k < s.suspends.size(); ++k) {
                const suspension& su = s.suspends[k];
                const run* before = until[k] == none ? nullptr : &runs_[i][until[k]];
                const run* after = resumed[k] == none ? nullptr : &runs_[i][resumed[k]];
                // Suspended on one thread, resumed on another.
                if (before && after && before->tid != after->tid) flow(out, "resume", before, after);
                const std::size_t c = su.awaited ? index_of(su.awaited) : none;
                if (c == none || c == i) continue;
                awaited[c] = true;
                const span& child = t_.spans[c];
                // Begun at this suspension: control passed to it there.
                if (child.start_ns >= su.start_ns && before)
                    if (const run* cr = first_run(c)) flow(out, "await", before, cr);
                // Ended (not destroyed): control came back at the resumption.
                if (child.end_ns != 0 && child.status != span_status::cancelled && after &&
                    !runs_[c].empty())
                    flow(out, "return", &runs_[c].back(), after);
            }
        }
        // Children begun without an awaiting suspension: from the parent's
        // latest run before them (when_all begins its branches while
        // suspending, just after that run).
        for (std::size_t i = 0; i < t_.spans.size(); ++i)
            for (std::size_t c : children_[i]) {
                const span& child = t_.spans[c];
                if (awaited[c] || linked_[c] || child.kind != span_kind::coroutine) continue;
                const run* from = run_before(i, child.start_ns);
                if (const run* cr = first_run(c); from && cr) flow(out, "start", from, cr);
            }
        // Links, from where they were made: to the target's first run
        // (spawn) or its next run (wake, join: it runs again after).
        for (const link& l : t_.links) {
            const std::size_t from = index_of(l.from), to = index_of(l.to);
            if (from == none || to == none || from == to) continue;
            const run* source = link_source(from, l.ts_ns, l.tid);
            const run* target = l.kind == link_kind::spawn ? first_run(to) : run_from(to, l.ts_ns);
            if (source && target) flow(out, to_string(l.kind), source, target);
        }
    }

    const trace& t_;
    std::uint64_t origin_ns_;
    std::uint64_t& next_flow_id_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<std::vector<std::size_t>> children_;
    std::vector<std::size_t> parent_;  // index of the parent in this trace, or none
    std::vector<bool> linked_;         // per span: the target of a spawn link
    std::vector<std::vector<run>> runs_;
    std::vector<std::size_t> lane_;
    std::size_t lanes_ = 0;
    std::uint64_t first_us_ = 0, last_us_ = 0;
    const std::vector<std::uint32_t>* lane_tids_ = nullptr;
    std::uint64_t flows_ = 0;
    std::uint64_t flows_left_out_ = 0;
};

const std::string_view* known_thread_name(const trace& t, std::uint32_t tid) {
    for (const thread_name& n : t.thread_names)
        if (n.tid == tid && !n.name.empty()) return &n.name;
    return nullptr;
}

}  // namespace

void chrome_sink::start() {
    if (started_) return;
    started_ = true;
    out_ << "{\"traceEvents\":[";
}

void chrome_sink::write(const json& event) {
    out_ << (any_event_ ? ",\n" : "\n")
         << event.dump(-1, ' ', false, json::error_handler_t::replace);
    any_event_ = true;
}

void chrome_sink::name_process(const trace& t) {
    const std::string name = t.process_name.empty() ? "process " + std::to_string(t.pid) : std::string(t.process_name);
    auto [it, inserted] = process_names_.try_emplace(t.pid, name);
    const bool better = !inserted && !t.process_name.empty() && it->second != name;
    if (!inserted && !better) return;
    it->second = name;
    write(json{{"name", "process_name"}, {"ph", "M"}, {"pid", t.pid}, {"tid", 0}, {"args", {{"name", name}}}});
}

void chrome_sink::name_thread(std::uint32_t pid, std::uint32_t tid, const std::string& name) {
    auto [it, inserted] = thread_names_.try_emplace({pid, tid}, name);
    if (!inserted && it->second == name) return;
    it->second = name;
    write(json{{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", name}}}});
}

std::vector<std::uint32_t> chrome_sink::request_tracks(std::uint32_t pid, std::size_t lanes,
                                                       std::uint64_t start_us, std::uint64_t end_us) {
    std::vector<std::uint64_t>& busy = request_track_busy_until_[pid];
    std::vector<std::uint32_t> tids;
    std::size_t next = 0;
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        // The first free track after the previous lane's, so a request's
        // lanes stay in order.
        while (next < busy.size() && busy[next] > start_us) ++next;
        if (next == busy.size()) busy.push_back(0);
        busy[next] = end_us;
        tids.push_back(request_track_tid_base + static_cast<std::uint32_t>(next));
        ++next;
    }
    return tids;
}

void chrome_sink::on_trace(const trace& t) {
    if (finished_ || t.spans.empty()) return;
    start();
    if (!has_origin_) {
        has_origin_ = true;
        origin_ns_ = t.start_ns > one_day_ns ? t.start_ns - one_day_ns : 0;
        origin_ns_ -= origin_ns_ % 1000;  // on a microsecond, so ticks are the epoch's
    }
    ++traces_;
    trace_events te(t, origin_ns_, next_flow_id_);
    const std::vector<std::uint32_t> tracks = request_tracks(t.pid, te.lanes(), te.start_us(), te.end_us());
    const std::vector<json> events = te.events(tracks);
    runs_on_threads_ += te.runs_on_threads();
    runs_thread_unknown_ += te.runs_thread_unknown();
    runs_overlapping_ += te.runs_overlapping();
    runs_hidden_ += te.runs_hidden();
    flows_ += te.flows_written();
    flows_left_out_ += te.flows_left_out();
    // Name the process and every thread an event of this trace is on, before those events.
    name_process(t);
    for (const json& e : events) {
        const auto tid = e["tid"].get<std::uint32_t>();
        if (tid >= request_track_tid_base) {
            name_thread(t.pid, tid, "requests " + std::to_string(tid - request_track_tid_base + 1));
        } else if (const std::string_view* name = known_thread_name(t, tid)) {
            name_thread(t.pid, tid, std::string(*name));
        } else if (!thread_names_.count({t.pid, tid})) {
            name_thread(t.pid, tid, "thread " + std::to_string(tid));
        }
    }
    for (const json& e : events) write(e);
}

void chrome_sink::finish(const session_summary& s) {
    if (finished_) return;
    finished_ = true;
    start();
    // Perfetto reads the keys after traceEvents or skips them; older versions
    // stop at the first key they do not know, so these come last.
    const json other{{"producer", "cotrace"},
                     {"ts_origin_unix_ns", origin_ns_},
                     {"traces", s.traces},
                     {"spans", s.spans},
                     {"events", s.events},
                     {"drops", s.drops},
                     {"incomplete", s.incomplete},
                     {"runs_on_threads", runs_on_threads_},
                     {"runs_thread_unknown", runs_thread_unknown_},
                     {"runs_overlapping", runs_overlapping_},
                     {"runs_under_a_microsecond_hidden", runs_hidden_},
                     {"flows", flows_},
                     {"flows_left_out", flows_left_out_}};
    out_ << "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":" << other.dump() << "}\n";
    out_.flush();
}

}  // namespace cotrace
