#include "model/assembler.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

namespace cotrace {

namespace {
span_status status_from(std::uint64_t code) {
    switch (code) {
        case COTRACE_STATUS_OK: return span_status::ok;
        case COTRACE_STATUS_EXCEPTION: return span_status::exception;
        case COTRACE_STATUS_CANCELLED: return span_status::cancelled;
        case COTRACE_STATUS_ERROR: return span_status::error;
        default: return span_status::exception;
    }
}
}  // namespace

struct assembler::process {
    // What is current on a thread: a running span, or a span carried there by
    // a context_scope (token != 0).
    struct running_entry {
        std::uint64_t span_id;
        std::uint64_t token;
    };
    struct ended {
        std::uint64_t frame = 0;
        std::uint64_t span_id = 0;
    };
    std::uint32_t next_trace = 1;
    std::unordered_map<std::uint64_t, std::uint64_t> live;  // frame address -> span id, until its end
    std::unordered_map<std::uint32_t, std::vector<running_entry>> running;  // per tid, innermost last
    std::unordered_map<std::uint32_t, ended> last_ended;  // per tid: a join link names the span that just ended
    std::unordered_map<std::uint64_t, std::uint64_t> contexts;  // token -> span id
    // child span id -> the span that suspended awaiting it: the child's end
    // resumes it there (the protocol leaves that resume implicit).
    std::unordered_map<std::uint64_t, std::uint64_t> awaited_by;
    // Threads seen outside every span (their stack emptied): a span begun
    // there with no current span is certainly a root.
    std::unordered_set<std::uint32_t> known_idle;
    // The collector's census at attach: once it came, a thread it did not
    // list began after attach (idle at its start); listed threads inside a
    // span stay uncertain until seen leaving their spans.
    bool census = false;
    std::unordered_set<std::uint32_t> in_span_at_attach;
    // Windows (monotonic ns) in which a new object's probes may have fired
    // unseen (COTRACE_EV_objects_gap): a span begun in one may lack events.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
};

struct assembler::open_trace {
    trace t;
    std::vector<std::uint64_t> frames;     // per span: its frame address (to forget it when emitted)
    std::vector<std::uint32_t> last_tids;  // per span: the thread it last ran on
    std::list<std::uint64_t>::iterator order;  // its place in trace_order_
    std::size_t open_spans = 0;
    bool root_ended = false;
    bool lost = false;  // events may be missing (drops, or a span's end never seen)
};

assembler::assembler(symbol_cache& symbols, trace_consumer& out, assembler_options options)
    : symbols_(symbols), out_(out), options_(options) {}

assembler::~assembler() = default;

std::uint64_t assembler::epoch(std::uint64_t ts) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(ts) + options_.clock_offset_ns);
}

assembler::process& assembler::process_of(std::uint32_t pid) {
    auto& p = processes_[pid];
    if (!p) p = std::make_unique<process>();
    return *p;
}

assembler::open_trace* assembler::trace_of(std::uint64_t span_id) {
    auto it = span_index_.find(span_id);
    if (it == span_index_.end()) return nullptr;
    return traces_.at(it->second.first).get();
}

span* assembler::find_span(std::uint64_t span_id) {
    auto it = span_index_.find(span_id);
    if (it == span_index_.end()) return nullptr;
    return &traces_.at(it->second.first)->t.spans[it->second.second];
}

std::uint64_t assembler::live_span(const process& p, std::uint64_t frame) const {
    auto it = p.live.find(frame);
    return it == p.live.end() ? 0 : it->second;
}

std::uint64_t assembler::current_span(process& p, std::uint32_t tid) {
    auto it = p.running.find(tid);
    if (it == p.running.end()) return 0;
    auto& stack = it->second;
    // Entries of traces already emitted (or evicted) are stale: drop them.
    while (!stack.empty() && !span_index_.count(stack.back().span_id)) stack.pop_back();
    return stack.empty() ? 0 : stack.back().span_id;
}

std::string assembler::coroutine_name(std::uint32_t pid, const cotrace_event& e, std::uint64_t frame,
                                      bool code_in_event) {
    std::optional<std::uint64_t> code;
    if (code_in_event && (e.flags & COTRACE_EVF_CODE_VALID))
        code = e.code;
    else if (frame != 0)
        code = symbols_.frame_code(pid, frame);
    if (!code || *code == 0) return "?";
    return symbols_.function(pid, *code);
}

std::uint64_t assembler::begin_span(process& p, const cotrace_event& e, std::uint64_t frame,
                                    std::uint64_t parent_id, span_kind kind, bool partial) {
    open_trace* parent_trace = parent_id ? trace_of(parent_id) : nullptr;
    if (!parent_trace) {
        parent_id = 0;
        auto ot = std::make_unique<open_trace>();
        ot->t.id = (static_cast<std::uint64_t>(e.pid) << 32) | p.next_trace++;
        ot->t.pid = e.pid;
        ot->t.start_ns = epoch(e.ts_ns);
        parent_trace = ot.get();
        ot->order = trace_order_.insert(trace_order_.end(), ot->t.id);
        traces_.emplace(ot->t.id, std::move(ot));
    }
    if (frame != 0) {
        // A frame still live at a new beginning: its end was lost.
        if (std::uint64_t old = live_span(p, frame); old != 0)
            if (open_trace* ot = trace_of(old)) ot->lost = true;
        p.live[frame] = next_span_id_;
        if (auto it = p.last_ended.find(e.tid); it != p.last_ended.end() && it->second.frame == frame)
            p.last_ended.erase(it);
    }
    for (const auto& [from, to] : p.gaps)
        if (e.ts_ns >= from && e.ts_ns <= to) parent_trace->lost = true;
    span s;
    s.id = next_span_id_++;
    s.parent_id = parent_id;
    s.kind = kind;
    s.partial = partial;
    s.start_ns = epoch(e.ts_ns);
    span_index_[s.id] = {parent_trace->t.id, parent_trace->t.spans.size()};
    parent_trace->t.spans.push_back(std::move(s));
    parent_trace->frames.push_back(frame);
    parent_trace->last_tids.push_back(0);
    ++parent_trace->open_spans;
    ++open_span_count_;
    ++summary_.spans;
    return next_span_id_ - 1;
}

std::uint64_t assembler::known_or_partial(process& p, const cotrace_event& e, std::uint64_t frame) {
    if (std::uint64_t id = live_span(p, frame)) return id;
    // First seen mid-flight: its parent is unknown, so it roots a partial trace
    // rather than being guessed into someone else's.
    std::uint64_t id = begin_span(p, e, frame, 0, span_kind::coroutine, true);
    find_span(id)->name = coroutine_name(e.pid, e, frame, false);
    return id;
}

std::uint64_t assembler::implicit_parent(process& p, const cotrace_event& e, bool& uncertain) {
    const std::uint64_t parent = current_span(p, e.tid);
    uncertain = parent == 0 && !options_.threads_start_idle && !p.known_idle.count(e.tid) &&
                (!p.census || p.in_span_at_attach.count(e.tid));
    return parent;
}

void assembler::pop_running(process& p, std::uint32_t tid, std::uint64_t span_id) {
    auto it = p.running.find(tid);
    if (it == p.running.end()) {
        p.known_idle.insert(tid);  // something left this thread, and nothing we know runs there
        return;
    }
    auto& stack = it->second;
    for (auto i = stack.size(); i-- > 0;) {
        if (stack[i].span_id == span_id && stack[i].token == 0) {
            stack.resize(i);  // and whatever was left open above it
            break;
        }
    }
    if (stack.empty()) {
        p.running.erase(it);
        p.known_idle.insert(tid);
    }
}

void assembler::finish_span(process& p, const cotrace_event& e, std::uint64_t span_id, span_status st) {
    open_trace* ot = trace_of(span_id);
    span& s = ot->t.spans[span_index_.at(span_id).second];
    if (s.status != span_status::running) return;
    const std::uint64_t now = std::max(epoch(e.ts_ns), s.start_ns);
    s.end_ns = now;
    s.status = st;
    if (!s.suspends.empty() && s.suspends.back().end_ns == 0)
        s.suspends.back().end_ns = std::max(now, s.suspends.back().start_ns);
    s.end_ns = std::max(s.end_ns, s.suspends.empty() ? 0 : s.suspends.back().end_ns);
    const std::size_t index = span_index_.at(span_id).second;
    if (std::uint64_t frame = ot->frames[index]) {
        if (live_span(p, frame) == span_id) p.live.erase(frame);
        p.last_ended[e.tid] = {frame, span_id};
    }
    pop_running(p, e.tid, span_id);
    --ot->open_spans;
    --open_span_count_;
    if (index == 0) ot->root_ended = true;
    if (ot->root_ended && ot->open_spans == 0) emit(ot->t.id, false);
}

void assembler::add_link(const cotrace_event& e, std::uint64_t from, std::uint64_t to, link_kind kind) {
    if (from == 0 || to == 0) return;
    if (open_trace* ot = trace_of(to)) ot->t.links.push_back({from, to, kind, epoch(e.ts_ns), e.tid});
}

void assembler::emit(std::uint64_t trace_id, bool forced) {
    auto node = traces_.extract(trace_id);
    if (node.empty()) return;
    open_trace& ot = *node.mapped();
    trace_order_.erase(ot.order);
    trace& t = ot.t;
    const bool any_partial =
        std::any_of(t.spans.begin(), t.spans.end(), [](const span& s) { return s.partial; });
    t.complete = !forced && !ot.lost && !any_partial;
    t.end_ns = t.start_ns;
    process& p = process_of(t.pid);
    for (std::size_t i = 0; i < t.spans.size(); ++i) {
        const span& s = t.spans[i];
        t.end_ns = std::max({t.end_ns, s.end_ns, s.start_ns});
        span_index_.erase(s.id);
        p.awaited_by.erase(s.id);
        if (s.status == span_status::running) {
            --open_span_count_;
            if (ot.frames[i] != 0 && live_span(p, ot.frames[i]) == s.id) p.live.erase(ot.frames[i]);
        }
    }
    ++summary_.traces;
    if (!t.complete) ++summary_.incomplete;
    out_.on_trace(t);
}

void assembler::enforce_bounds() {
    while (!trace_order_.empty() &&
           (traces_.size() > options_.max_open_traces || open_span_count_ > options_.max_open_spans)) {
        ++summary_.evicted_traces;
        emit(trace_order_.front(), true);  // the oldest open trace
    }
}

void assembler::run_on(process& p, const cotrace_event& e, std::uint64_t id) {
    open_trace* ot = trace_of(id);
    const std::size_t index = span_index_.at(id).second;
    span& s = ot->t.spans[index];
    const std::uint64_t now = epoch(e.ts_ns);
    if (!s.suspends.empty() && s.suspends.back().end_ns == 0) {
        s.suspends.back().end_ns = std::max(now, s.suspends.back().start_ns);
        s.suspends.back().resumed_tid = e.tid;
    }
    if (s.first_run_ns == 0) s.first_run_ns = std::max(now, s.start_ns);
    std::uint32_t& last = ot->last_tids[index];
    if (last != 0 && last != e.tid) ++s.thread_hops;
    last = e.tid;
    if (std::find(s.tids.begin(), s.tids.end(), e.tid) == s.tids.end()) s.tids.push_back(e.tid);
    auto& stack = p.running[e.tid];
    // An explicit resume of what already runs here (derived earlier) is not a new run.
    if (stack.empty() || stack.back().span_id != id || stack.back().token != 0) stack.push_back({id, 0});
}

void assembler::on_drops(std::uint64_t total_dropped) {
    if (total_dropped <= dropped_seen_) return;
    dropped_seen_ = total_dropped;
    summary_.drops = total_dropped;
    for (auto& [id, ot] : traces_) ot->lost = true;
}

void assembler::flush() {
    while (!trace_order_.empty()) emit(trace_order_.front(), true);  // oldest first
}

void assembler::on_event(const cotrace_event& e) {
    if (e.kind < COTRACE_EV_COLLECTOR_FIRST) ++summary_.events;  // probe firings; the daemon's own records are not
    process& p = process_of(e.pid);
    const std::uint64_t a0 = e.args[0], a1 = e.args[1], a2 = e.args[2];

    switch (e.kind) {
        case COTRACE_EV_suspend: {  // (span, site, awaited)
            const std::uint64_t id = known_or_partial(p, e, a0);
            pop_running(p, e.tid, id);
            suspension su;
            su.site = symbols_.site(e.pid, a1);
            su.start_ns = epoch(e.ts_ns);
            if (a2 != 0) {
                su.awaited = live_span(p, a2);
                if (su.awaited == 0) {
                    su.awaited = begin_span(p, e, a2, id, span_kind::coroutine, false);
                    span& child = *find_span(su.awaited);
                    child.name = coroutine_name(e.pid, e, a2, true);
                    child.site = su.site;
                }
                p.awaited_by[su.awaited] = id;
            }
            const std::uint64_t child = su.awaited;
            find_span(id)->suspends.push_back(std::move(su));
            if (child != 0) run_on(p, e, child);  // control passes to the child, on this thread
            break;
        }
        case COTRACE_EV_resume:  // (span)
            run_on(p, e, known_or_partial(p, e, a0));
            break;
        case COTRACE_EV_end: {  // (span, status)
            std::uint64_t id = live_span(p, a0);
            if (id == 0) {
                // A task destroyed before it ever ran is cancelled too; that
                // is no span. Anything else began before we attached: a
                // partial span, so a request that was already running shows.
                if (a1 == COTRACE_STATUS_CANCELLED) break;
                id = known_or_partial(p, e, a0);
            }
            finish_span(p, e, id, status_from(a1));
            // A completed child hands control back to the span awaiting it,
            // on this thread (a cancelled one is being destroyed instead).
            if (auto it = p.awaited_by.find(id); it != p.awaited_by.end()) {
                const std::uint64_t parent = it->second;
                p.awaited_by.erase(it);
                span* ps = a1 != COTRACE_STATUS_CANCELLED ? find_span(parent) : nullptr;
                if (ps && ps->status == span_status::running && !ps->suspends.empty() &&
                    ps->suspends.back().awaited == id && ps->suspends.back().end_ns == 0)
                    run_on(p, e, parent);
            }
            break;
        }
        case COTRACE_EV_span_begin: {  // (span, parent, site)
            bool uncertain = false;
            std::uint64_t parent = 0;  // COTRACE_PARENT_NONE: a new trace, whatever is current
            if (a1 != COTRACE_PARENT_NONE)
                parent = a1 != 0 ? known_or_partial(p, e, a1) : implicit_parent(p, e, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::coroutine, uncertain);
            span& s = *find_span(id);
            s.name = coroutine_name(e.pid, e, a0, true);
            if (a2 != 0) s.site = symbols_.site(e.pid, a2);
            run_on(p, e, id);  // it starts running at once, on this thread
            break;
        }
        case COTRACE_EV_link: {  // (from, to, kind)
            bool uncertain = false;
            std::uint64_t from = a0 == 0 ? implicit_parent(p, e, uncertain) : live_span(p, a0);
            if (from == 0 && a0 != 0) {
                auto it = p.last_ended.find(e.tid);
                if (it != p.last_ended.end() && it->second.frame == a0) from = it->second.span_id;
            }
            if (a2 == COTRACE_LINK_SPAWN) {
                const std::uint64_t id = begin_span(p, e, a1, from, span_kind::coroutine, uncertain);
                find_span(id)->name = coroutine_name(e.pid, e, a1, true);
                add_link(e, from, id, link_kind::spawn);
            } else {
                add_link(e, from, live_span(p, a1), a2 == COTRACE_LINK_JOIN ? link_kind::join : link_kind::wake);
            }
            break;
        }
        case COTRACE_EV_scope_begin: {  // (scope, site)
            bool uncertain = false;
            const std::uint64_t parent = implicit_parent(p, e, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::scope, uncertain);
            span& s = *find_span(id);
            s.site = symbols_.site(e.pid, a1);
            s.name = s.site.function.empty() ? "?" : s.site.function;
            run_on(p, e, id);
            break;
        }
        case COTRACE_EV_event: {  // (name, value, site)
            const std::uint64_t id = current_span(p, e.tid);
            if (id == 0) {
                ++summary_.unattributed;
                break;
            }
            find_span(id)->events.push_back(
                {symbols_.text(e.pid, a0), static_cast<std::int64_t>(a1), epoch(e.ts_ns)});
            break;
        }
        case COTRACE_EV_async_begin: {  // (span, parent, name): pending until resumed
            std::uint64_t parent = 0;
            bool uncertain = false;
            if (a1 == COTRACE_PARENT_NONE)
                parent = 0;
            else if (a1 != 0)
                parent = known_or_partial(p, e, a1);
            else
                parent = implicit_parent(p, e, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::coroutine, uncertain);
            span& s = *find_span(id);
            s.name = a2 ? symbols_.text(e.pid, a2) : "?";
            // Work its explicit parent has just suspended for (a suspend on no
            // traced child, then this): the parent awaits it. The child takes
            // the suspension's site and stands for the wait, which is not kept
            // twice (a long session holds one child per wait, not two records).
            if (a1 != 0 && a1 != COTRACE_PARENT_NONE && parent != 0) {
                span& ps = *find_span(parent);
                if (!ps.suspends.empty() && ps.suspends.back().end_ns == 0 && ps.suspends.back().awaited == 0) {
                    s.site = std::move(ps.suspends.back().site);
                    ps.suspends.pop_back();
                }
            }
            break;
        }
        case COTRACE_EV_context_capture:  // (token)
            // Bounded like everything else: a capture never entered is forgotten eventually.
            if (p.contexts.size() >= options_.max_open_spans) p.contexts.clear();
            p.contexts[a0] = current_span(p, e.tid);
            break;
        case COTRACE_EV_context_enter: {  // (token)
            auto it = p.contexts.find(a0);
            if (it != p.contexts.end() && it->second != 0 && span_index_.count(it->second))
                p.running[e.tid].push_back({it->second, a0});
            break;
        }
        case COTRACE_EV_context_exit: {  // (token)
            auto it = p.running.find(e.tid);
            if (it == p.running.end()) break;
            auto& stack = it->second;
            for (auto i = stack.size(); i-- > 0;)
                if (stack[i].token == a0) {
                    stack.erase(stack.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
            if (stack.empty()) p.running.erase(it);
            break;
        }
        case COTRACE_EV_thread_idle:
            p.census = true;
            p.known_idle.insert(e.tid);
            break;
        case COTRACE_EV_thread_in_span:
            p.census = true;
            p.in_span_at_attach.insert(e.tid);
            break;
        case COTRACE_EV_objects_gap:
            // What is open now may have run the new object's code unseen, and
            // so may what begins in the window (it comes later in the stream).
            for (auto& [id, ot] : traces_)
                if (ot->t.pid == e.pid) ot->lost = true;
            p.gaps.emplace_back(std::min(a0, e.ts_ns), e.ts_ns);
            break;
        default:
            if (e.kind >= COTRACE_EV_COLLECTOR_FIRST) break;  // the collector's other records
            ++summary_.unattributed;
            break;
    }
    enforce_bounds();
}

const char* to_string(span_status s) {
    switch (s) {
        case span_status::ok: return "ok";
        case span_status::exception: return "exception";
        case span_status::cancelled: return "cancelled";
        case span_status::running: return "running";
        case span_status::error: return "error";
    }
    return "?";
}

const char* to_string(link_kind k) {
    switch (k) {
        case link_kind::spawn: return "spawn";
        case link_kind::wake: return "wake";
        case link_kind::join: return "join";
    }
    return "?";
}

}  // namespace cotrace
