#include "chrome_sink.hpp"

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

std::string hex16(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string where(const source_site& s) {
    if (!s.known()) return "?";
    return (s.file.empty() ? s.function : s.file) + ":" + std::to_string(s.line);
}

std::string thread_list(const span& s) {
    std::string out;
    for (std::size_t i = 0; i < s.tids.size(); ++i)
        out += (i ? "→" : "") + std::to_string(s.tids[i]);
    return out;
}

// One run of a span: from its start or a resumption to its next suspension or
// its end.
struct run {
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;
    std::size_t after = none;  // the suspension it resumed from (none: the span's first run)
    std::size_t until = none;  // the suspension that ended it (none: it ended with the span)
    // A spawned span is queued from its start until a pool thread first runs
    // it, and the model does not record when that was: such a run is drawn
    // from the first sign of it running (a child begun, an annotation), or
    // as a point at its end.
    bool start_known = true;
    bool open = false;       // still running when the trace was emitted
    std::uint32_t tid = 0;   // 0: the model does not tell which thread
    bool on_thread = false;  // drawn as an "X" slice on its thread's track
    std::uint64_t shown_start = 0;
};

// Builds the events of one trace. Which thread each run was on is not in the
// model directly: span.tids holds the threads in first-run order and
// span.thread_hops counts changes of thread. The protocol adds two exact facts
// (probes/PROTOCOL.md, suspend): a child awaited at a suspension begins there
// and runs at once on the same thread, and when it ends (not cancelled) the
// awaiting span runs again on the thread where it ended. From these:
//   - the first run is on tids[0];
//   - a run that ends at a suspension whose awaited child began there ran on
//     that child's first thread;
//   - a run after a suspension whose awaited child ended ran on the thread of
//     that child's last run;
//   - with one thread, every run is on it; when the span never went back to
//     a thread it had left (thread_hops == tids.size() - 1) its runs visit
//     tids in order, in blocks, and a run whose block the runs known so far
//     pin down is exact; with two threads and a hop at every resumption the
//     runs alternate.
// Any other run (a resumption after an untraced wait, on a pool whose threads
// the span revisited) is left unattributed rather than guessed.
class trace_events {
public:
    trace_events(const trace& t, std::uint64_t origin_ns, std::uint64_t& next_flow_id)
        : t_(t), origin_ns_(origin_ns), next_flow_id_(next_flow_id) {
        const std::size_t n = t.spans.size();
        for (std::size_t i = 0; i < n; ++i) index_[t.spans[i].id] = i;
        children_.resize(n);
        spawned_.assign(n, false);
        for (std::size_t i = 0; i < n; ++i) {
            auto it = index_.find(t.spans[i].parent_id);
            if (t.spans[i].parent_id != 0 && it != index_.end()) children_[it->second].push_back(i);
        }
        for (const link& l : t.links)
            if (l.kind == link_kind::spawn)
                if (auto it = index_.find(l.to); it != index_.end()) spawned_[it->second] = true;
        runs_.resize(n);
        for (std::size_t i = 0; i < n; ++i) runs_[i] = runs_of(i);
        // Children begin after their parents, so from the last span backwards
        // every child is resolved before the span that awaited it.
        for (std::size_t i = n; i-- > 0;) resolve_threads(i);
        for (std::size_t i = 0; i < n; ++i) place_unknown_starts(i);
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

    std::uint64_t runs_on_threads() const { return count_runs(true); }
    std::uint64_t runs_unattributed() const { return count_runs(false); }

private:
    std::uint64_t count_runs(bool on_thread) const {
        std::uint64_t n = 0;
        for (const auto& rs : runs_)
            for (const run& r : rs) n += r.on_thread == on_thread;
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

    const span* find(std::uint64_t id) const {
        auto it = index_.find(id);
        return it == index_.end() ? nullptr : &t_.spans[it->second];
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
        // A partial span first seen at a suspension (or its end) began running
        // before anyone looked: that first run was not recorded.
        const bool first_seen =
            !(s.partial &&
              (s.tids.empty() || (!s.suspends.empty() && s.suspends[0].start_ns <= s.start_ns)));
        if (first_seen) {
            run r;
            r.start_ns = s.start_ns;
            r.start_known = !spawned_[i];
            if (!s.suspends.empty()) {
                r.end_ns = s.suspends[0].start_ns;
                r.until = 0;
            } else {
                r.end_ns = end;
                r.open = s.end_ns == 0;
            }
            runs.push_back(r);
        }
        for (std::size_t k = 0; k < s.suspends.size(); ++k) {
            const suspension& su = s.suspends[k];
            if (su.end_ns == 0) break;  // still suspended
            // Cancelled: destroyed while suspended; the assembler closes that
            // suspension at the end, which is no resumption.
            if (k + 1 == s.suspends.size() && s.status == span_status::cancelled) break;
            run r;
            r.start_ns = su.end_ns;
            r.after = k;
            if (k + 1 < s.suspends.size()) {
                r.end_ns = s.suspends[k + 1].start_ns;
                r.until = k + 1;
            } else {
                r.end_ns = end;
                r.open = s.end_ns == 0;
            }
            runs.push_back(r);
        }
        for (run& r : runs) {
            r.end_ns = std::max(r.end_ns, r.start_ns);
            r.shown_start = r.start_ns;
        }
        return runs;
    }

    void resolve_threads(std::size_t i) {
        const span& s = t_.spans[i];
        std::vector<run>& rs = runs_[i];
        const std::size_t n = rs.size(), k = s.tids.size();
        if (n == 0 || k == 0) return;
        auto position = [&](std::uint32_t tid) -> std::size_t {
            auto it = std::find(s.tids.begin(), s.tids.end(), tid);
            return it == s.tids.end() ? none : static_cast<std::size_t>(it - s.tids.begin());
        };
        std::vector<std::size_t> known(n, none);  // positions in tids
        known[0] = 0;
        for (std::size_t j = 0; j < n; ++j) {
            if (rs[j].until != none) {
                const suspension& su = s.suspends[rs[j].until];
                const span* c = su.awaited ? find(su.awaited) : nullptr;
                if (c && !c->partial && c->start_ns == su.start_ns && !c->tids.empty())
                    if (std::size_t p = position(c->tids[0]); p != none) known[j] = p;
            }
            if (rs[j].after != none) {
                const suspension& su = s.suspends[rs[j].after];
                const std::size_t ci = su.awaited ? index_of(su.awaited) : none;
                if (ci != none && ci != i) {
                    const span& c = t_.spans[ci];
                    const auto& crs = runs_[ci];
                    if (c.end_ns != 0 && c.status != span_status::cancelled && !crs.empty() &&
                        crs.back().tid)
                        if (std::size_t p = position(crs.back().tid); p != none) known[j] = p;
                }
            }
        }
        const std::size_t h = s.thread_hops;
        if (k == 1) {
            std::fill(known.begin(), known.end(), 0);
        } else if (h + 1 == k && k <= n) {
            // Blocks in tids order: positions are non-decreasing, step 0 or 1,
            // from 0 to k - 1. Narrow each run's range until it is one thread.
            std::vector<std::size_t> lo(n), hi(n);
            for (std::size_t j = 0; j < n; ++j) {
                lo[j] = (k - 1 + j >= n - 1) ? k - 1 + j - (n - 1) : 0;
                hi[j] = std::min(j, k - 1);
                if (known[j] != none) {
                    lo[j] = std::max(lo[j], known[j]);
                    hi[j] = std::min(hi[j], known[j]);
                }
            }
            for (int pass = 0; pass < 2; ++pass) {
                for (std::size_t j = 1; j < n; ++j) {
                    lo[j] = std::max(lo[j], lo[j - 1]);
                    hi[j] = std::min(hi[j], hi[j - 1] + 1);
                }
                for (std::size_t j = n - 1; j-- > 0;) {
                    lo[j] = std::max(lo[j], lo[j + 1] > 0 ? lo[j + 1] - 1 : 0);
                    hi[j] = std::min(hi[j], hi[j + 1]);
                }
            }
            bool consistent = true;
            for (std::size_t j = 0; j < n; ++j) consistent &= lo[j] <= hi[j];
            if (consistent)
                for (std::size_t j = 0; j < n; ++j)
                    if (lo[j] == hi[j]) known[j] = lo[j];
        } else if (k == 2 && h + 1 == n) {
            bool consistent = true;
            for (std::size_t j = 0; j < n; ++j) consistent &= known[j] == none || known[j] == j % 2;
            if (consistent)
                for (std::size_t j = 0; j < n; ++j) known[j] = j % 2;
        }
        for (std::size_t j = 0; j < n; ++j)
            if (known[j] != none) rs[j].tid = s.tids[known[j]];
    }

    // A spawned span's first run: draw it from the first sign that it was
    // running (a child begun, an annotation), never from when it was queued.
    void place_unknown_starts(std::size_t i) {
        const span& s = t_.spans[i];
        for (run& r : runs_[i]) {
            if (r.start_known) continue;
            std::uint64_t first = r.end_ns;
            for (std::size_t c : children_[i])
                if (t_.spans[c].start_ns >= r.start_ns)
                    first = std::min(first, t_.spans[c].start_ns);
            for (const annotation& a : s.events)
                if (a.ts_ns >= r.start_ns) first = std::min(first, a.ts_ns);
            r.shown_start = first;
        }
    }

    // Slices on one thread must nest (the format requires it; Perfetto drops
    // or mis-draws the rest). Runs attributed exactly never overlap, but a
    // scope held across a co_await, or a model inconsistency, could: such a
    // run goes under its span's async slice instead. Runs of other traces on
    // the same thread are not seen here.
    void check_nesting() {
        struct item {
            std::uint32_t tid;
            std::uint64_t start, end;
            run* r;
        };
        std::vector<item> items;
        for (auto& rs : runs_)
            for (run& r : rs)
                if (r.tid != 0) items.push_back({r.tid, r.shown_start, r.end_ns, &r});
        std::sort(items.begin(), items.end(), [](const item& a, const item& b) {
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

    json base(const char* ph, const std::string& name, const char* cat, std::uint32_t tid,
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
        json args{{"trace_id", hex16(t_.id)},
                  {"span_id", s.id},
                  {"parent_id", s.parent_id ? json(s.parent_id) : json(nullptr)},
                  {"status", to_string(s.status)},
                  {"site", where(s.site)},
                  {"partial", s.partial},
                  {"kind", s.kind == span_kind::scope ? "scope" : "coroutine"},
                  {"threads", thread_list(s)},
                  {"thread_hops", s.thread_hops},
                  {"suspends", s.suspends.size()},
                  {"start_unix_ns", s.start_ns}};
        if (!s.site.function.empty()) args["site_function"] = s.site.function;
        if (s.end_ns != 0) args["duration_ns"] = s.end_ns - s.start_ns;
        if (i == 0) args["trace_complete"] = t_.complete;
        b["args"] = std::move(args);
        if (s.status == span_status::exception) b["cname"] = "terrible";
        out.push_back(std::move(b));

        // Runs not on a thread's track, nested under the span's own slice.
        const auto& rs = runs_[i];
        for (std::size_t r = 0; r < rs.size(); ++r) {
            if (rs[r].on_thread) continue;
            const std::string name = rs[r].tid           ? "running (overlaps on its thread)"
                                     : rs[r].start_known ? "running (thread unknown)"
                                                         : "queued or running (thread unknown)";
            json rb = base("b", name, "span", tid, rs[r].start_ns);
            rb["id"] = s.id;
            json args{{"run", r}, {"thread", rs[r].tid ? json(rs[r].tid) : json("unknown")}};
            if (rs[r].after != none) args["resumed_after"] = where(s.suspends[rs[r].after].site);
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
        json x = base("X", s.name, "run", rn.tid, rn.shown_start);
        x["dur"] = micros_between(rn.shown_start, rn.end_ns);
        json args{{"trace_id", hex16(t_.id)}, {"span_id", s.id}, {"run", r}};
        if (rn.after != none) args["resumed_after"] = where(s.suspends[rn.after].site);
        if (rn.until != none) args["suspends_at"] = where(s.suspends[rn.until].site);
        if (!rn.start_known) args["first_run_start_unknown"] = true;
        if (rn.open) args["open"] = true;
        x["args"] = std::move(args);
        if (s.status == span_status::exception) x["cname"] = "terrible";
        return x;
    }

    // The last run of span i drawn from at or before `ts` (runs are in time
    // order), or nullptr.
    const run* run_before(std::size_t i, std::uint64_t ts) const {
        const auto& rs = runs_[i];
        auto it = std::upper_bound(rs.begin(), rs.end(), ts,
                                   [](std::uint64_t t, const run& r) { return t < r.shown_start; });
        return it == rs.begin() ? nullptr : &*std::prev(it);
    }

    // The run of span i that `ts` falls in, or nullptr.
    const run* run_at(std::size_t i, std::uint64_t ts) const {
        const run* r = run_before(i, ts);
        return r && ts <= r->end_ns ? r : nullptr;
    }

    // A point strictly inside a run's slice, near `ts`: a flow event binds to
    // the slice enclosing it, and one at the very end of a slice finds it
    // already closed.
    static std::uint64_t inside(const run& r, std::uint64_t ts) {
        const std::uint64_t s = r.shown_start, e = r.end_ns;
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

    const run* first_run(std::size_t i) const {
        return runs_[i].empty() || runs_[i].front().after != none ? nullptr : &runs_[i].front();
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
                if (child.start_ns >= su.start_ns && before)
                    if (const run* cr = first_run(c))
                        flow(out, "await", before, before->end_ns, cr, cr->shown_start);
                if (child.end_ns != 0 && child.status != span_status::cancelled && after &&
                    !runs_[c].empty())
                    flow(out, "return", &runs_[c].back(), runs_[c].back().end_ns, after,
                         after->shown_start);
            }
        }
        // Children begun without an awaiting suspension (when_all branches,
        // sync_wait): from the parent's latest run before them.
        for (std::size_t i = 0; i < t_.spans.size(); ++i)
            for (std::size_t c : children_[i]) {
                const span& child = t_.spans[c];
                if (awaited[c] || spawned_[c] || child.kind != span_kind::coroutine) continue;
                const run* from = run_before(i, child.start_ns);
                if (const run* cr = first_run(c); from && cr)
                    flow(out, "start", from, std::min(child.start_ns, from->end_ns), cr,
                         cr->shown_start);
            }
        for (const link& l : t_.links) {
            const std::size_t from = index_of(l.from), to = index_of(l.to);
            if (from == none || to == none) continue;
            if (l.kind == link_kind::spawn) {
                const std::uint64_t at = t_.spans[to].start_ns;
                if (const run* cr = first_run(to))
                    flow(out, "spawn", run_at(from, at), at, cr, cr->shown_start);
            } else if (l.kind == link_kind::join) {
                // The joined span runs again after the joining one ends. A
                // wake has no time in the model, so it gets no arrow.
                const span& f = t_.spans[from];
                if (f.end_ns == 0 || runs_[from].empty()) continue;
                const auto& rs = runs_[to];
                auto it =
                    std::lower_bound(rs.begin(), rs.end(), f.end_ns,
                                     [](const run& r, std::uint64_t t) { return r.start_ns < t; });
                while (it != rs.end() && it->after == none) ++it;
                const run* next = it == rs.end() ? nullptr : &*it;
                if (next) flow(out, "join", &runs_[from].back(), f.end_ns, next, next->shown_start);
            }
        }
    }

    const trace& t_;
    std::uint64_t origin_ns_;
    std::uint64_t& next_flow_id_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
    std::vector<std::vector<std::size_t>> children_;
    std::vector<bool> spawned_;
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
    runs_unattributed_ += te.runs_unattributed();
    // Name every thread an event of this trace is on, before those events.
    for (const json& e : events) name_thread(t.pid, e["tid"].get<std::uint32_t>());
    for (const json& e : events) write(e);
    out_.flush();
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
                     {"runs_thread_unknown", runs_unattributed_}};
    out_ << "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":" << other.dump() << "}\n";
    out_.flush();
}

}  // namespace cotrace
