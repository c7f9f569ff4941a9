#include "sinks/chrome_sink.hpp"

#include "sinks/text_format.hpp"

#include <algorithm>
#include <cstdio>
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
};

// Builds the events of one trace. The model tells where every run was: the
// first starts at span.first_run_ns on span.tids[0], each later one at a
// suspension's end_ns on its resumed_tid. A suspension closed without a
// resumption (resumed_tid 0) ends no run when the span ended there (it was
// destroyed or finished while suspended); any other such run has no known
// thread (a model built without resumed_tid) and is nested under its span's
// async slice instead of being guessed onto a thread.
class trace_events {
public:
    trace_events(const trace& t, std::uint64_t origin_ns, std::uint64_t& next_flow_id)
        : t_(t), origin_ns_(origin_ns), next_flow_id_(next_flow_id) {
        const std::size_t n = t.spans.size();
        for (std::size_t i = 0; i < n; ++i) index_[t.spans[i].id] = i;
        children_.resize(n);
        linked_.assign(n, false);
        for (std::size_t i = 0; i < n; ++i) {
            auto it = index_.find(t.spans[i].parent_id);
            if (t.spans[i].parent_id != 0 && it != index_.end()) children_[it->second].push_back(i);
        }
        for (const link& l : t.links)
            if (l.kind == link_kind::spawn)
                if (auto it = index_.find(l.to); it != index_.end()) linked_[it->second] = true;
        runs_.resize(n);
        for (std::size_t i = 0; i < n; ++i) runs_[i] = runs_of(i);
        check_nesting();
    }

    std::vector<json> events() {
        std::vector<json> out;
        for (std::size_t i = 0; i < t_.spans.size(); ++i) span_events(i, out);
        for (std::size_t i = 0; i < t_.spans.size(); ++i)
            for (std::size_t r = 0; r < runs_[i].size(); ++r)
                if (runs_[i][r].on_thread) out.push_back(run_slice(i, r));
        flows(out);
        return out;
    }

    std::uint64_t runs_on_threads() const { return count_runs([](const run& r) { return r.on_thread; }); }
    std::uint64_t runs_thread_unknown() const { return count_runs([](const run& r) { return r.tid == 0; }); }
    std::uint64_t runs_overlapping() const {
        return count_runs([](const run& r) { return r.tid != 0 && !r.on_thread; });
    }

private:
    template <class Pred>
    std::uint64_t count_runs(Pred pred) const {
        std::uint64_t n = 0;
        for (const auto& rs : runs_)
            for (const run& r : rs) n += pred(r) ? 1 : 0;
        return n;
    }

    // Microseconds since the origin, nanoseconds as decimals (exact in a
    // double for the first ~50 days after the origin).
    double micros(std::uint64_t ns) const {
        return ns > origin_ns_ ? static_cast<double>(ns - origin_ns_) / 1000.0 : 0.0;
    }
    static double micros_between(std::uint64_t from, std::uint64_t to) {
        return to > from ? static_cast<double>(to - from) / 1000.0 : 0.0;
    }

    std::size_t index_of(std::uint64_t id) const {
        auto it = index_.find(id);
        return it == index_.end() ? none : it->second;
    }

    // Where a span that is still running is drawn to: the last thing known of it.
    std::uint64_t shown_end(const span& s) const {
        if (s.end_ns != 0) return s.end_ns;
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

    // Slices on one thread must nest (the format requires it; Perfetto drops
    // or mis-draws the rest). Runs of real threads never overlap, but a scope
    // held across a co_await (which the library forbids) or an inconsistent
    // model could: such a run goes under its span's async slice instead.
    // Runs of other traces on the same thread are not seen here.
    void check_nesting() {
        struct item {
            std::uint32_t tid;
            std::uint64_t start, end;
            run* r;
        };
        std::vector<item> items;
        for (auto& rs : runs_)
            for (run& r : rs)
                if (r.tid != 0) items.push_back({r.tid, r.start_ns, r.end_ns, &r});
        std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) {
            if (a.tid != b.tid) return a.tid < b.tid;
            if (a.start != b.start) return a.start < b.start;
            return a.end > b.end;  // the longer one encloses
        });
        std::vector<std::uint64_t> open_ends;
        std::uint32_t tid = 0;
        for (const item& it : items) {
            if (it.tid != tid) {
                open_ends.clear();
                tid = it.tid;
            }
            while (!open_ends.empty() && open_ends.back() <= it.start) open_ends.pop_back();
            if (!open_ends.empty() && it.end > open_ends.back()) continue;  // would straddle
            it.r->on_thread = true;
            open_ends.push_back(it.end);
        }
    }

    json base(const char* ph, std::string_view name, const char* cat, std::uint32_t tid,
              std::uint64_t ts) const {
        return json{{"name", name},  {"cat", cat}, {"ph", ph},
                    {"pid", t_.pid}, {"tid", tid}, {"ts", micros(ts)}};
    }

    std::uint32_t async_tid(const span& s) const {
        return s.tids.empty() ? t_.pid : s.tids.front();
    }

    void span_events(std::size_t i, std::vector<json>& out) const {
        const span& s = t_.spans[i];
        const std::uint32_t tid = async_tid(s);
        json b = base("b", s.name, "span", tid, s.start_ns);
        b["id"] = s.id;
        json args{{"trace_id", trace_id_text(t_.id)},
                  {"span_id", s.id},
                  {"parent_id", s.parent_id ? json(s.parent_id) : json(nullptr)},
                  {"status", to_string(s.status)},
                  {"site", site_text(s.site, true)},
                  {"partial", s.partial},
                  {"kind", s.kind == span_kind::scope ? "scope" : "coroutine"},
                  {"threads", thread_list(s)},
                  {"thread_hops", s.thread_hops},
                  {"suspends", s.suspends.size()},
                  {"start_unix_ns", s.start_ns}};
        if (!s.site.function.empty()) args["site_function"] = s.site.function;
        if (s.first_run_ns > s.start_ns) args["queued_ns"] = s.first_run_ns - s.start_ns;
        if (s.end_ns != 0) args["duration_ns"] = s.end_ns - s.start_ns;
        if (i == 0) args["trace_complete"] = t_.complete;
        b["args"] = std::move(args);
        if (s.status == span_status::exception || s.status == span_status::error) b["cname"] = "terrible";
        out.push_back(std::move(b));

        // Runs not on a thread's track, nested under the span's own slice.
        const auto& rs = runs_[i];
        for (std::size_t r = 0; r < rs.size(); ++r) {
            if (rs[r].on_thread) continue;
            const std::string name =
                rs[r].tid ? "running (overlaps on its thread)" : "running (thread unknown)";
            json rb = base("b", name, "span", tid, rs[r].start_ns);
            rb["id"] = s.id;
            json args{{"run", r}, {"thread", rs[r].tid ? json(rs[r].tid) : json("unknown")}};
            if (rs[r].after != none) args["resumed_after"] = site_text(s.suspends[rs[r].after].site, true);
            if (rs[r].open) args["open"] = true;
            rb["args"] = std::move(args);
            out.push_back(std::move(rb));
            json re = base("e", name, "span", tid, rs[r].end_ns);
            re["id"] = s.id;
            out.push_back(std::move(re));
        }
        for (const annotation& a : s.events) {
            const run* r = run_at(i, a.ts_ns);
            if (r && r->on_thread) {
                json ev = base("i", a.name, "annotation", r->tid, a.ts_ns);
                ev["s"] = "t";
                ev["args"] = json{{"value", a.value}, {"span_id", s.id}};
                out.push_back(std::move(ev));
            } else {
                json ev = base("n", a.name, "span", tid, a.ts_ns);
                ev["id"] = s.id;
                ev["args"] = json{{"value", a.value}};
                out.push_back(std::move(ev));
            }
        }
        json e = base("e", s.name, "span", s.tids.empty() ? tid : s.tids.back(), shown_end(s));
        e["id"] = s.id;
        if (s.end_ns == 0) e["args"] = json{{"still_running", true}};
        out.push_back(std::move(e));
    }

    json run_slice(std::size_t i, std::size_t r) const {
        const span& s = t_.spans[i];
        const run& rn = runs_[i][r];
        json x = base("X", s.name, "run", rn.tid, rn.start_ns);
        x["dur"] = micros_between(rn.start_ns, rn.end_ns);
        json args{{"trace_id", trace_id_text(t_.id)}, {"span_id", s.id}, {"run", r}};
        if (rn.after != none) args["resumed_after"] = site_text(s.suspends[rn.after].site, true);
        if (rn.until != none) args["suspends_at"] = site_text(s.suspends[rn.until].site, true);
        if (rn.open) args["open"] = true;
        x["args"] = std::move(args);
        if (s.status == span_status::exception || s.status == span_status::error) x["cname"] = "terrible";
        return x;
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

    // A point strictly inside a run's slice, near `ts`: a flow event binds to
    // the slice enclosing it, and one at the very end of a slice finds it
    // already closed.
    static std::uint64_t inside(const run& r, std::uint64_t ts) {
        const std::uint64_t s = r.start_ns, e = r.end_ns;
        if (e <= s) return s;
        ts = std::clamp(ts, s, e - 1);
        if (ts == s && e - s >= 2) ++ts;
        return ts;
    }

    void flow(std::vector<json>& out, const char* name, const run* from, std::uint64_t from_ts,
              const run* to, std::uint64_t to_ts) {
        if (!from || !to || !from->on_thread || !to->on_thread) return;
        from_ts = inside(*from, from_ts);
        to_ts = inside(*to, to_ts);
        if (to_ts < from_ts) return;  // an arrow back in time explains nothing
        const std::uint64_t id = next_flow_id_++;
        json s = base("s", name, "flow", from->tid, from_ts);
        s["id"] = id;
        out.push_back(std::move(s));
        json f = base("f", name, "flow", to->tid, to_ts);
        f["id"] = id;
        f["bp"] = "e";
        out.push_back(std::move(f));
    }

    void flows(std::vector<json>& out) {
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
                const std::size_t c = su.awaited ? index_of(su.awaited) : none;
                if (c == none || c == i) continue;
                awaited[c] = true;
                const run* before = until[k] == none ? nullptr : &runs_[i][until[k]];
                const run* after = resumed[k] == none ? nullptr : &runs_[i][resumed[k]];
                const span& child = t_.spans[c];
                // Begun at this suspension: control passed to it there.
                if (child.start_ns >= su.start_ns && before)
                    if (const run* cr = first_run(c))
                        flow(out, "await", before, before->end_ns, cr, cr->start_ns);
                // Ended (not destroyed): control came back at the resumption.
                if (child.end_ns != 0 && child.status != span_status::cancelled && after &&
                    !runs_[c].empty())
                    flow(out, "return", &runs_[c].back(), runs_[c].back().end_ns, after,
                         after->start_ns);
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
                if (const run* cr = first_run(c); from && cr)
                    flow(out, "start", from, std::min(child.start_ns, from->end_ns), cr, cr->start_ns);
            }
        // Links, at the time and on the thread they were made: to the target's
        // first run (spawn) or its next run (wake, join: it runs again after).
        for (const link& l : t_.links) {
            const std::size_t from = index_of(l.from), to = index_of(l.to);
            if (from == none || to == none || from == to) continue;
            const run* source = link_source(from, l.ts_ns, l.tid);
            const run* target =
                l.kind == link_kind::spawn ? first_run(to) : run_from(to, l.ts_ns);
            if (source && target) flow(out, to_string(l.kind), source, l.ts_ns, target, target->start_ns);
        }
    }

    const trace& t_;
    std::uint64_t origin_ns_;
    std::uint64_t& next_flow_id_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<std::vector<std::size_t>> children_;
    std::vector<bool> linked_;  // per span: the target of a spawn link
    std::vector<std::vector<run>> runs_;
};

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

void chrome_sink::name_thread(std::uint32_t pid, std::uint32_t tid) {
    if (named_pids_.insert(pid).second)
        write(json{{"name", "process_name"},
                   {"ph", "M"},
                   {"pid", pid},
                   {"args", {{"name", "process " + std::to_string(pid)}}}});
    if (named_threads_.insert({pid, tid}).second)
        write(json{{"name", "thread_name"},
                   {"ph", "M"},
                   {"pid", pid},
                   {"tid", tid},
                   {"args", {{"name", "thread " + std::to_string(tid)}}}});
}

void chrome_sink::on_trace(const trace& t) {
    if (finished_ || t.spans.empty()) return;
    start();
    if (!has_origin_) {
        has_origin_ = true;
        origin_ns_ = t.start_ns > one_day_ns ? t.start_ns - one_day_ns : 0;
    }
    ++traces_;
    trace_events te(t, origin_ns_, next_flow_id_);
    const std::vector<json> events = te.events();
    runs_on_threads_ += te.runs_on_threads();
    runs_thread_unknown_ += te.runs_thread_unknown();
    runs_overlapping_ += te.runs_overlapping();
    // Name every thread an event of this trace is on, before those events.
    for (const json& e : events) name_thread(t.pid, e["tid"].get<std::uint32_t>());
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
                     {"runs_overlapping", runs_overlapping_}};
    out_ << "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":" << other.dump() << "}\n";
    out_.flush();
}

}  // namespace cotrace
