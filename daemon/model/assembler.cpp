#include "model/assembler.hpp"

#include <algorithm>
#include <cstring>

#include "model/small_vector.hpp"

namespace cotrace {

namespace {

constexpr std::string_view unknown_name = "?";
constexpr std::uint32_t no_index = ~std::uint32_t{0};
// Past this many threads in one process, threads with nothing running are
// forgotten (a target creating threads without end cannot grow us).
constexpr std::size_t max_threads = 1u << 16;
// Emitted spans kept for reuse (in the free list, and in place in the
// slots that emitted them: at most this many together), and the largest
// vectors worth keeping.
constexpr std::size_t max_free_spans = 4096;
constexpr std::size_t max_kept_capacity = 256;

span_status status_from(std::uint64_t code) {
    switch (code) {
        case COTRACE_STATUS_OK: return span_status::ok;
        case COTRACE_STATUS_EXCEPTION: return span_status::exception;
        case COTRACE_STATUS_CANCELLED: return span_status::cancelled;
        case COTRACE_STATUS_ERROR: return span_status::error;
        default: return span_status::exception;
    }
}

// A NUL-padded name carried in event arguments (a comm), never trusted to end.
std::string_view name_in_args(const cotrace_event& e, std::size_t words, char (&buf)[24]) {
    std::memcpy(buf, e.args, words * 8);
    return std::string_view(buf, strnlen(buf, words * 8));
}

}  // namespace

struct assembler::thread_state {
    // What is current on a thread: a running span, or a span carried there by
    // a context_scope (token != 0).
    struct running_entry {
        std::uint64_t span_id;
        std::uint64_t token;
    };
    std::vector<running_entry> stack;  // innermost last
    // The span that just ended here: a join link names it by its frame.
    std::uint64_t ended_frame = 0;
    std::uint64_t ended_span = 0;
    // The partial span this thread was inside at attach (thread_in_span),
    // until the thread names its frame.
    std::uint64_t placeholder = 0;
    // The thread has come back to the placeholder from a span begun under it.
    bool placeholder_revisited = false;
    // The census found the placeholder's coroutine on the thread's live
    // frames (not by a word scan, which can be stale): a frame that another
    // coroutine's resume function runs is not it.
    bool placeholder_exact = false;
    // A span we do not know runs here: the census could not tell (attach
    // caught the thread at the edge of a suspension), or a span first seen
    // at its end finished here with nothing known left on the thread (its
    // awaiter, begun before attach, may continue here). A context captured
    // meanwhile with no current span carries that unknown span, and a span
    // begun with none cannot be placed. Ends at the thread's next suspend,
    // resume or end, which names what runs.
    bool running_unknown = false;
    // Context scopes entered here whose capture was never seen (made before
    // attach, or forgotten): what they carry is a span we do not know, so a
    // span begun in one with nothing current is not a root, innermost last.
    std::vector<std::uint64_t> unseen_contexts;
    bool idle_known = false;  // seen outside every span: a span begun here with no current span is a root
    // Events of this thread were lost (COTRACE_EVF_AFTER_LOSS): what it runs
    // is unknown, and every trace its events touch may miss some, until it is
    // seen leaving what it ran at the loss (loss_bottom, the outermost span
    // then; 0: none) or a root leaves it with nothing left on it.
    bool after_loss = false;
    std::uint64_t loss_bottom = 0;
    std::string_view name;
    // Open remote_enter scopes, innermost last: a trace rooted here continues
    // the innermost one's remote trace.
    struct remote_entry {
        std::uint64_t trace_hi, trace_lo, span;
    };
    std::vector<remote_entry> remote;
};

struct assembler::process {
    std::uint32_t next_trace = 1;
    u64_map<std::uint64_t> live;      // frame address -> span id, until its end
    u64_map<std::uint64_t> contexts;  // token -> span id
    std::unordered_map<std::uint32_t, thread_state> threads;
    std::uint32_t last_tid = 0;
    thread_state* last_thread = nullptr;
    // The collector recorded every thread's state at attach: a thread it did
    // not report inside a span was idle (and threads created later start so).
    bool thread_states_known = false;
    bool names_known = false;
    std::string_view name;
};

// What an open trace holds of the model's trace: the fields it keeps up to
// date while open. The rest (names, end, completeness) is filled in when it
// is emitted: one held per live trace, it is kept small.
struct assembler::held_trace : cross_process_ids {
    std::uint64_t id = 0;
    std::uint32_t pid = 0;
    std::uint32_t segment = 0;  // segments emitted so far
    std::uint64_t start_ns = 0;
    std::vector<span> spans;  // in order of beginning; spans[0] is the root
    std::vector<link> links;
    // What a trace emitted from this one (whole, or a segment) says of
    // itself: which trace it is and where its request came from.
    void describe(trace& t) const {
        t.id = id;
        t.pid = pid;
        t.start_ns = t.end_ns = start_ns;
        static_cast<cross_process_ids&>(t) = *this;
    }
};

struct assembler::open_trace {
    struct span_aux {
        std::uint64_t frame = 0;         // its frame address (to forget it when emitted)
        std::uint32_t parent = no_index;  // its parent's index in spans
        bool pending = false;            // its last suspension has not ended
        // It was running on a thread when that thread lost events: it may
        // have ended unseen, and its frame been freed and reused.
        bool orphaned = false;
        // Its beginning was before attach (a placeholder, or a frame first
        // seen mid-flight): what awaits it is not known.
        bool begun_unseen = false;
    };
    // t.spans[0, aux.size()) are its spans; past them, spans this slot
    // emitted before, their vectors cleared and kept, are reused in place
    // (spare_spans_ counts them), so a slot that emits a trace and takes
    // the next one moves no span records.
    held_trace t;
    small_vector<span_aux, 1> aux;  // per span (most traces hold one at a time)
    std::uint32_t prev = no_slot, next = no_slot;  // in the order of open traces
    std::uint32_t open_spans = 0;  // spans still running (at most max_open_spans, held as a record each)
    std::uint32_t records = 0;     // records held (a bound of its own keeps them well below 2^32)
    std::uint64_t last_cut = 0;  // event time of its beginning or of its last segment
    bool in_use = false;
    bool root_ended = false;
    bool lost = false;     // events may be missing (drops, a gap, or a span's end never seen)
    bool partial = false;  // holds (or held) a partial span
};

assembler::assembler(symbol_cache& symbols, trace_consumer& out, assembler_options options)
    : symbols_(symbols), out_(out), options_(options) {}

assembler::~assembler() = default;

std::uint64_t assembler::epoch(std::uint64_t ts) const {
    // Unsigned: a crafted timestamp wraps instead of overflowing.
    return ts + static_cast<std::uint64_t>(options_.clock_offset_ns);
}

assembler::process& assembler::find_process(std::uint32_t pid) {
    auto& p = processes_[pid];
    if (!p) p = std::make_unique<process>();
    last_pid_ = pid;
    last_process_ = p.get();
    return *p;
}

inline assembler::thread_state& assembler::thread_of(process& p, std::uint32_t tid) {
    return p.last_thread && p.last_tid == tid ? *p.last_thread : find_thread(p, tid);
}

assembler::thread_state& assembler::find_thread(process& p, std::uint32_t tid) {
    auto it = p.threads.find(tid);
    if (it == p.threads.end()) {
        if (p.threads.size() >= max_threads) {
            for (auto i = p.threads.begin(); i != p.threads.end();)
                i = i->second.stack.empty() && i->second.placeholder == 0 && i->second.unseen_contexts.empty() &&
                            !i->second.running_unknown
                        ? p.threads.erase(i) : std::next(i);
            p.last_thread = nullptr;
        }
        it = p.threads.emplace(tid, thread_state{}).first;
    }
    p.last_tid = tid;
    p.last_thread = &it->second;
    return it->second;
}

assembler::open_trace* assembler::trace_of(std::uint64_t span_id) {
    const span_ref* r = span_index_.find(span_id);
    return r ? &slots_[r->slot] : nullptr;
}

span* assembler::find_span(std::uint64_t span_id) {
    const span_ref* r = span_index_.find(span_id);
    return r ? &slots_[r->slot].t.spans[r->index] : nullptr;
}

std::uint64_t assembler::live_span(const process& p, std::uint64_t frame) const {
    const std::uint64_t* id = p.live.find(frame);
    return id ? *id : 0;
}

std::uint64_t assembler::current_span(thread_state& t) {
    // Entries of traces already emitted (or evicted) are stale: drop them.
    while (!t.stack.empty() && !span_index_.contains(t.stack.back().span_id)) t.stack.pop_back();
    return t.stack.empty() ? 0 : t.stack.back().span_id;
}

// A name the symbol source found (not its "0x..." fallback for an address
// in no known function, nor unknown_name).
static bool resolved(std::string_view name) { return name != unknown_name && !name.starts_with("0x"); }

std::string_view assembler::coroutine_name(std::uint32_t pid, const cotrace_event& e, std::uint64_t frame,
                                           bool code_in_event) {
    std::optional<std::uint64_t> code;
    if (code_in_event && (e.flags & COTRACE_EVF_CODE_VALID))
        code = e.code;
    else if (frame != 0)
        code = symbols_.frame_code(pid, frame);
    if (!code || *code == 0) return unknown_name;
    const std::string_view name = symbols_.function(pid, *code);
    return name.empty() ? unknown_name : name;
}

// ---- open traces: slots, order, reuse -------------------------------------------

// The first time past which a trace cut at `last_cut` is due its next
// segment: never when segments are off, nor past the end of time.
std::uint64_t assembler::segment_due_at(std::uint64_t last_cut) const {
    const std::uint64_t after = options_.segment_after_ns;
    if (after == 0 || last_cut > ~std::uint64_t{0} - after) return ~std::uint64_t{0};
    return last_cut + after;
}

void assembler::order_push_back(std::uint32_t slot) {
    open_trace& ot = slots_[slot];
    ot.prev = order_tail_;
    ot.next = no_slot;
    if (order_tail_ != no_slot) {
        slots_[order_tail_].next = slot;
    } else {
        order_head_ = slot;
        head_due_at_ = segment_due_at(ot.last_cut);
    }
    order_tail_ = slot;
}

void assembler::order_remove(std::uint32_t slot) {
    open_trace& ot = slots_[slot];
    if (ot.prev != no_slot) {
        slots_[ot.prev].next = ot.next;
    } else {
        order_head_ = ot.next;
        if (ot.next != no_slot) head_due_at_ = segment_due_at(slots_[ot.next].last_cut);
    }
    if (ot.next != no_slot)
        slots_[ot.next].prev = ot.prev;
    else
        order_tail_ = ot.prev;
    ot.prev = ot.next = no_slot;
}

std::uint32_t assembler::new_trace(const cotrace_event& e, process& p) {
    std::uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    open_trace& ot = slots_[slot];
    ot.in_use = true;
    ot.open_spans = 0;
    ot.records = 0;
    ot.last_cut = e.ts_ns;
    ot.root_ended = ot.lost = ot.partial = false;
    held_trace& t = ot.t;
    t.id = (static_cast<std::uint64_t>(e.pid) << 32) | p.next_trace++;
    t.pid = e.pid;
    t.segment = 0;
    t.start_ns = epoch(e.ts_ns);
    static_cast<cross_process_ids&>(t) = {};
    if (e.kind < COTRACE_EV_COLLECTOR_FIRST) continue_remote(t, thread_of(p, e.tid));
    order_push_back(slot);
    ++open_trace_count_;
    return slot;
}

void assembler::continue_remote(held_trace& t, const thread_state& th) {
    if (th.remote.empty()) return;
    const thread_state::remote_entry& r = th.remote.back();
    t.w3c_trace_hi = r.trace_hi;
    t.w3c_trace_lo = r.trace_lo;
    t.remote_parent = r.span;
}

// The caller traced in this session too: the root joins its span. Decided
// when the trace is emitted, not when it begins: the caller's announcement
// may come from another ring (another process's collector) a moment later,
// but always before the callee's root ends, which answers the caller.
void assembler::resolve_join(held_trace& t) const {
    if (t.remote_parent == 0 || t.joined_trace != 0) return;
    if (const remote_origin* o = remote_spans_.find(t.remote_parent))
        if (o->trace_hi == t.w3c_trace_hi && o->trace_lo == t.w3c_trace_lo) {
            t.joined_trace = o->trace;
            t.joined_span = o->span;
            t.joined_pid = o->pid;
        }
}

void assembler::announce_remote(thread_state& th, const cotrace_event& e) {
    const std::uint64_t id = current_span(th);
    if (id == 0 || e.args[2] == 0) {
        ++summary_.unattributed;
        return;
    }
    const span_ref r = *span_index_.find(id);
    open_trace& ot = slots_[r.slot];
    span& s = ot.t.spans[r.index];
    // The first id a span or a trace is announced under is the one exported.
    if (s.remote_id == 0) s.remote_id = e.args[2];
    if (!ot.t.has_w3c_id()) {
        ot.t.w3c_trace_hi = e.args[0];
        ot.t.w3c_trace_lo = e.args[1];
    }
    // Bounded like contexts: an announcement nobody answers is forgotten eventually.
    if (remote_spans_.size() >= options_.max_open_spans) remote_spans_.clear();
    remote_spans_[e.args[2]] = {e.args[0], e.args[1], ot.t.id, id, e.pid};
}

span& assembler::new_span(open_trace& ot) {
    std::vector<span>& spans = ot.t.spans;
    const std::size_t used = ot.aux.size();
    span* reused;
    if (used < spans.size()) {  // a spare of this slot, in place
        reused = &spans[used];
        --spare_spans_;
    } else if (!free_spans_.empty()) {
        reused = &spans.emplace_back(std::move(free_spans_.back()));
        free_spans_.pop_back();
    } else {
        return spans.emplace_back();
    }
    span& s = *reused;  // its vectors are empty, their storage kept
    s.id = s.parent_id = 0;
    s.kind = span_kind::coroutine;
    s.name = {};
    s.site = {};
    s.partial = false;
    s.start_ns = s.first_run_ns = s.end_ns = 0;
    s.status = span_status::running;
    s.thread_hops = 0;
    s.remote_id = 0;
    return s;
}

namespace {
bool worth_keeping(const span& s) {
    return s.suspends.capacity() <= max_kept_capacity && s.events.capacity() <= max_kept_capacity &&
           s.tids.capacity() <= max_kept_capacity;
}
// Empties s for reuse, keeping what storage is worth keeping.
void clear_for_reuse(span& s) {
    if (worth_keeping(s)) {
        s.tids.clear();
        s.suspends.clear();
        s.events.clear();
    } else {  // (a moved-in empty vector: `= {}` would keep the storage)
        s.tids = decltype(s.tids){};
        s.suspends = decltype(s.suspends){};
        s.events = decltype(s.events){};
    }
}
// Into the free list, unless it and the spares kept in place are at their bound.
void recycle(span& s, std::vector<span>& free_spans, std::size_t spares) {
    if (free_spans.size() + spares >= max_free_spans || !worth_keeping(s)) return;
    clear_for_reuse(s);
    free_spans.push_back(std::move(s));
}
}  // namespace

void assembler::trim_spares(open_trace& ot) {
    std::vector<span>& spans = ot.t.spans;
    const std::size_t used = ot.aux.size();
    if (spans.size() == used) return;
    spare_spans_ -= spans.size() - used;
    for (std::size_t i = used; i < spans.size(); ++i) recycle(spans[i], free_spans_, spare_spans_);
    spans.resize(used);
}

void assembler::release(open_trace& ot) {
    held_trace& t = ot.t;
    open_span_count_ -= t.spans.size();
    held_ -= ot.records;
    // Its spans stay where they are, as spares for the slot's next trace.
    const bool oversized = t.spans.capacity() > 4 * max_kept_capacity;
    if (!oversized && free_spans_.size() + spare_spans_ + t.spans.size() <= max_free_spans) {
        for (span& s : t.spans) clear_for_reuse(s);
        spare_spans_ += t.spans.size();
    } else {
        for (span& s : t.spans) recycle(s, free_spans_, spare_spans_);
        t.spans.clear();
    }
    t.links.clear();
    ot.aux.clear();
    if (oversized) {
        t.spans.shrink_to_fit();
        ot.aux.shrink_to_fit();
    }
    if (t.links.capacity() > max_kept_capacity) t.links.shrink_to_fit();
    ot.in_use = false;
    ot.records = 0;
    --open_trace_count_;
}

void assembler::note_growth(std::uint32_t slot) {
    const open_trace& ot = slots_[slot];
    if (biggest_trace_ == nullptr || !biggest_trace_->in_use || ot.records > biggest_trace_->records) {
        biggest_ = slot;
        biggest_trace_ = &ot;
    }
}

inline bool assembler::bounds_due(std::uint64_t now) const {
    if (open_span_count_ > options_.max_open_spans || held_ > 4 * options_.max_open_spans ||
        open_trace_count_ > options_.max_open_traces)
        return true;
    if (order_head_ != no_slot && now > head_due_at_) return true;
    return biggest_trace_ != nullptr && biggest_trace_->in_use &&
           biggest_trace_->records > options_.max_trace_records;
}

inline void assembler::enforce_bounds(std::uint64_t now) {
    if (bounds_due(now)) cut_to_bounds(now);
}

// ---- spans ------------------------------------------------------------------------

std::uint64_t assembler::begin_span(process& p, const cotrace_event& e, std::uint64_t frame,
                                    std::uint64_t parent_id, span_kind kind, bool partial) {
    // A frame still live at a new beginning: its end was lost. Settled
    // first: it may complete (and emit) the trace it was in.
    if (frame != 0)
        if (const std::uint64_t old = live_span(p, frame)) end_unseen(old);
    std::uint32_t slot, parent_index = no_index;
    if (const span_ref* pr = parent_id ? span_index_.find(parent_id) : nullptr) {
        slot = pr->slot;
        parent_index = pr->index;
    } else {
        parent_id = 0;
        slot = new_trace(e, p);
    }
    open_trace& ot = slots_[slot];
    const std::uint64_t id = next_span_id_++;
    if (frame != 0) {
        p.live[frame] = id;
        thread_state& th = thread_of(p, e.tid);
        if (th.ended_frame == frame) th.ended_frame = th.ended_span = 0;
    }
    const auto index = static_cast<std::uint32_t>(ot.aux.size());  // spans past it are spares
    span& s = new_span(ot);
    s.id = id;
    s.parent_id = parent_id;
    s.kind = kind;
    s.partial = partial;
    s.start_ns = epoch(e.ts_ns);
    ot.aux.push_back({frame, parent_index, false});
    ot.partial |= partial;
    span_index_[id] = {slot, index};
    ++ot.open_spans;
    ++ot.records;
    ++held_;
    ++open_span_count_;
    ++summary_.spans;
    note_growth(slot);
    return id;
}

// A partial span for a coroutine the census found (code: an address in its
// resume function, 0 if unknown), begun when the census ran.
std::uint64_t assembler::begin_placeholder(process& p, const cotrace_event& e, std::uint64_t code) {
    const std::uint64_t id = begin_unseen(p, e, 0);
    const std::string_view name = code != 0 ? symbols_.function(e.pid, code) : unknown_name;
    find_span(id)->name = name.empty() ? unknown_name : name;
    return id;
}

// A partial span, begun before attach, that roots a trace of its own: its
// parent is unknown, and guessing would put it in someone else's trace.
std::uint64_t assembler::begin_unseen(process& p, const cotrace_event& e, std::uint64_t frame) {
    const std::uint64_t id = begin_span(p, e, frame, 0, span_kind::coroutine, true);
    const span_ref& r = *span_index_.find(id);
    slots_[r.slot].aux[r.index].begun_unseen = true;
    return id;
}

std::uint64_t assembler::known_or_partial(process& p, thread_state& th, const cotrace_event& e,
                                          std::uint64_t frame) {
    if (std::uint64_t id = live_span(p, frame)) return id;
    // The thread was inside a span begun before attach, and this is the
    // first frame it names that we do not know: that span.
    if (const std::uint64_t id = std::exchange(th.placeholder, 0); id != 0)
        if (const span_ref* r = span_index_.find(id)) {
            open_trace& ot = slots_[r->slot];
            span& s = ot.t.spans[r->index];
            const std::string_view named = coroutine_name(e.pid, e, frame, false);
            if (th.placeholder_exact && resolved(named) && resolved(s.name) && named != s.name) {
                // Another coroutine's frame: the census caught its own
                // coroutine as it suspended, and that one no longer runs
                // here; what does is not known.
                std::erase_if(th.stack, [&](const thread_state::running_entry& r) { return r.span_id == id; });
                end_unseen(id);
                th.running_unknown = true;
            } else {
                ot.aux[r->index].frame = frame;
                p.live[frame] = id;
                // A census by word scan named it from a return address on
                // the thread's stack, which can be stale (a function that
                // already returned); the frame's own resume function is the
                // truth when it reads.
                if (s.name == unknown_name || resolved(named)) s.name = named;
                return id;
            }
        }
    // First seen mid-flight.
    const std::uint64_t id = begin_unseen(p, e, frame);
    find_span(id)->name = coroutine_name(e.pid, e, frame, false);
    return id;
}

std::uint64_t assembler::implicit_parent(process& p, thread_state& t, bool& uncertain) {
    std::uint64_t parent = current_span(t);
    if (parent != 0 && parent == t.placeholder && t.placeholder_revisited) {
        // The thread keeps beginning spans under the one the census saw it
        // in, and never names that span's frame: more likely the census
        // caught it just after that span's end, and every later request
        // would nest under it. Stop guessing: the thread's state is unknown.
        t.stack.pop_back();
        t.after_loss = true;
        t.loss_bottom = 0;
        parent = current_span(t);
    }
    uncertain = parent == 0 && (t.after_loss || !t.unseen_contexts.empty() || t.running_unknown ||
                                (!options_.threads_start_idle && !p.thread_states_known && !t.idle_known));
    return parent;
}

void assembler::pop_running(thread_state& t, std::uint64_t span_id) {
    for (auto i = t.stack.size(); i-- > 0;) {
        if (t.stack[i].span_id == span_id && t.stack[i].token == 0) {
            t.stack.resize(i);  // and whatever was left open above it
            break;
        }
    }
    if (!t.stack.empty()) {
        if (t.placeholder != 0 && t.stack.back().span_id == t.placeholder) t.placeholder_revisited = true;
        return;
    }
    t.idle_known = true;  // nothing we know runs here now
    if (t.after_loss) {
        const span_ref* r = span_index_.find(span_id);
        if (span_id == t.loss_bottom || (r && r->index == 0)) t.after_loss = false, t.loss_bottom = 0;
    }
}

void assembler::lose_track(thread_state& t) {
    t.after_loss = true;
    t.loss_bottom = 0;
    for (const thread_state::running_entry& r : t.stack) {
        if (r.token == 0 && t.loss_bottom == 0) t.loss_bottom = r.span_id;
        taint(r.span_id);
        // It and the spans awaiting it (suspended, not on the stack): the
        // lost events may have ended any of them.
        std::uint64_t id = r.span_id;
        for (int depth = 0; id != 0 && depth < 4096; ++depth) {
            const span_ref* at = span_index_.find(id);
            if (!at || slots_[at->slot].aux[at->index].orphaned) break;
            slots_[at->slot].aux[at->index].orphaned = true;
            const std::uint64_t* waiter = awaited_by_.find(id);
            id = waiter ? *waiter : 0;
        }
    }
    t.stack.clear();
    t.ended_frame = t.ended_span = 0;
    if (t.placeholder != 0) taint(std::exchange(t.placeholder, 0));
}

void assembler::end_unseen(std::uint64_t span_id) {
    const span_ref* r = span_index_.find(span_id);
    if (!r) return;
    const std::uint32_t slot = r->slot;
    open_trace& ot = slots_[slot];
    ot.lost = true;
    span& s = ot.t.spans[r->index];
    if (s.status != span_status::running || ot.aux[r->index].frame == 0) return;
    // Its end is unknown: it stays "running" in the output, but no longer
    // holds its trace open.
    ot.aux[r->index].frame = 0;
    ot.aux[r->index].pending = false;
    if (ot.open_spans > 0) --ot.open_spans;
    if (r->index == 0) ot.root_ended = true;
    // Emitted once the event is handled: the caller may still hold this trace.
    if (ot.root_ended && ot.open_spans == 0) settled_.push_back(slot);
}

void assembler::emit_settled() {
    for (const std::uint32_t slot : settled_) {
        open_trace& ot = slots_[slot];
        if (ot.in_use && ot.root_ended && ot.open_spans == 0) emit(slot, false);
    }
    settled_.clear();
}

bool assembler::orphaned(std::uint64_t span_id) const {
    const span_ref* r = span_index_.find(span_id);
    return r && slots_[r->slot].aux[r->index].orphaned;
}

void assembler::taint(std::uint64_t span_id) {
    if (open_trace* ot = trace_of(span_id)) ot->lost = true;
}

void assembler::taint_frame(process& p, std::uint64_t frame) {
    if (frame != 0 && frame != COTRACE_PARENT_NONE)
        if (const std::uint64_t id = live_span(p, frame)) taint(id);
}

void assembler::run_on(thread_state& t, const cotrace_event& e, std::uint64_t id) {
    const span_ref r = *span_index_.find(id);
    open_trace& ot = slots_[r.slot];
    span& s = ot.t.spans[r.index];
    open_trace::span_aux& a = ot.aux[r.index];
    const std::uint64_t now = epoch(e.ts_ns);
    if (a.pending) {
        suspension& su = s.suspends.back();
        su.end_ns = std::max(now, su.start_ns);
        su.resumed_tid = e.tid;
        a.pending = false;
    }
    if (s.tids.empty()) {
        s.first_run_ns = std::max(now, s.start_ns);
        s.tids.push_back(e.tid);
    } else if (s.tids.back() != e.tid) {
        ++s.thread_hops;
        s.tids.push_back(e.tid);
    }
    // An explicit resume of what already runs here (derived earlier) is not a new run.
    if (t.stack.empty() || t.stack.back().span_id != id || t.stack.back().token != 0) t.stack.push_back({id, 0});
}

void assembler::finish_span(process& p, thread_state& th, const cotrace_event& e, std::uint64_t span_id,
                            span_status st) {
    const span_ref r = *span_index_.find(span_id);
    open_trace& ot = slots_[r.slot];
    span& s = ot.t.spans[r.index];
    open_trace::span_aux& a = ot.aux[r.index];
    if (s.status != span_status::running) return;
    const std::uint64_t now = std::max(epoch(e.ts_ns), s.start_ns);
    s.status = st;
    s.end_ns = now;
    if (a.pending) {
        suspension& su = s.suspends.back();
        su.end_ns = std::max(now, su.start_ns);
        s.end_ns = std::max(s.end_ns, su.end_ns);
        a.pending = false;
    }
    if (a.frame != 0) {
        if (live_span(p, a.frame) == span_id) p.live.erase(a.frame);
        th.ended_frame = a.frame;
        th.ended_span = span_id;
    }
    pop_running(th, span_id);
    --ot.open_spans;
    if (r.index == 0) ot.root_ended = true;
    if (ot.root_ended && ot.open_spans == 0) emit(r.slot, false);
}

void assembler::add_link(const cotrace_event& e, std::uint64_t from, std::uint64_t to, link_kind kind) {
    if (from == 0 || to == 0) return;
    if (open_trace* ot = trace_of(to)) {
        ot->t.links.push_back({from, to, kind, epoch(e.ts_ns), e.tid});
        ++ot->records;
        ++held_;
    }
}

// ---- emitting -----------------------------------------------------------------------

void assembler::fill_names(trace& t) { fill_names(process_of(t.pid), t); }

void assembler::fill_names(const process& p, trace& t) {
    t.process_name = p.name;
    t.thread_names.clear();
    if (!p.names_known) return;
    for (const span& s : t.spans)
        for (std::uint32_t tid : s.tids) {
            if (std::any_of(t.thread_names.begin(), t.thread_names.end(),
                            [&](const thread_name& n) { return n.tid == tid; }))
                continue;
            auto it = p.threads.find(tid);
            if (it != p.threads.end() && !it->second.name.empty()) t.thread_names.push_back({tid, it->second.name});
        }
}

trace& assembler::lend(open_trace& ot) {
    trim_spares(ot);  // the sink sees the trace's spans alone
    held_trace& h = ot.t;
    trace& t = emitted_;
    h.describe(t);
    t.segment = h.segment;
    t.spans.swap(h.spans);
    t.links.swap(h.links);
    return t;
}

void assembler::take_back(open_trace& ot) {
    ot.t.spans.swap(emitted_.spans);
    ot.t.links.swap(emitted_.links);
    emitted_.thread_names.clear();
}

void assembler::emit(std::uint32_t slot, bool forced) {
    open_trace& ot = slots_[slot];
    order_remove(slot);
    resolve_join(ot.t);
    trace& t = lend(ot);
    t.complete = !forced && !ot.lost && !ot.partial;
    t.final_segment = true;
    process& p = process_of(t.pid);
    for (std::size_t i = 0; i < t.spans.size(); ++i) {
        const span& s = t.spans[i];
        t.end_ns = std::max({t.end_ns, s.end_ns, s.start_ns});
        span_index_.erase(s.id);
        if (s.status == span_status::running) {
            awaited_by_.erase(s.id);
            const std::uint64_t frame = ot.aux[i].frame;
            if (frame != 0 && live_span(p, frame) == s.id) p.live.erase(frame);
        }
    }
    ++summary_.traces;
    if (!t.complete) ++summary_.incomplete;
    fill_names(t);
    out_.on_trace(t);
    take_back(ot);
    release(ot);
    free_slots_.push_back(slot);
}

bool assembler::emit_segment(std::uint32_t slot) {
    open_trace& ot = slots_[slot];
    trim_spares(ot);
    held_trace& t = ot.t;
    const std::size_t n = t.spans.size();
    enum : std::uint8_t { open_below = 1, included = 2 };
    scratch_.assign(n, 0);
    // Spans are in order of beginning, so a parent comes before its children:
    // one backward pass carries what a child knows up to its parent.
    std::size_t removable = 0;
    for (std::size_t i = n; i-- > 0;) {
        const span& s = t.spans[i];
        const open_trace::span_aux& a = ot.aux[i];
        if (s.status == span_status::running) scratch_[i] |= open_below;
        const bool settled = !(scratch_[i] & open_below);
        const std::size_t flushable = s.suspends.size() - (a.pending ? 1 : 0) + s.events.size();
        if (settled) removable += 1 + s.suspends.size() + s.events.size();
        else removable += flushable;
        if (settled || flushable > 0) scratch_[i] |= included;
        if (a.parent != no_index) scratch_[a.parent] |= scratch_[i];
    }
    // A link goes with the span it points to (always held in this trace).
    const auto goes = [&](const link& l) {
        const span_ref* r = span_index_.find(l.to);
        return !r || (scratch_[r->index] & included) != 0;
    };
    for (const link& l : t.links) removable += goes(l) ? 1 : 0;
    if (removable == 0) return false;

    t.describe(segment_);
    segment_.segment = t.segment++;
    segment_.final_segment = false;
    segment_.complete = !ot.lost && !ot.partial;
    segment_.spans.clear();
    segment_.links.clear();
    for (const link& l : t.links)
        if (goes(l)) segment_.links.push_back(l);
    std::erase_if(t.links, goes);

    // Settled spans move into the segment; spans still held appear there
    // with what they have finished so far, which they give up.
    std::size_t kept = 0, moved_spans = 0;
    for (std::size_t i = 0; i < n; ++i) {
        span& s = t.spans[i];
        open_trace::span_aux& a = ot.aux[i];
        if (!(scratch_[i] & open_below)) {
            span_index_.erase(s.id);
            segment_.spans.push_back(std::move(s));
            ++moved_spans;
            continue;
        }
        if (scratch_[i] & included) {
            span& c = segment_.spans.emplace_back();
            c.id = s.id;
            c.parent_id = s.parent_id;
            c.kind = s.kind;
            c.name = s.name;
            c.site = s.site;
            c.partial = s.partial;
            c.start_ns = s.start_ns;
            c.first_run_ns = s.first_run_ns;
            c.end_ns = s.end_ns;
            c.status = s.status;
            c.tids = s.tids;
            c.thread_hops = s.thread_hops;
            c.remote_id = s.remote_id;
            const auto done = s.suspends.end() - (a.pending ? 1 : 0);
            c.suspends.assign(s.suspends.begin(), done);
            s.suspends.erase(s.suspends.begin(), done);
            c.events.swap(s.events);
        }
        // Kept: compact it down to index `kept`; its parent is kept too (it
        // has a span open below it), at an index already rewritten.
        if (kept != i) {
            t.spans[kept] = std::move(s);
            ot.aux[kept] = a;
        }
        span_index_[t.spans[kept].id] = {slot, static_cast<std::uint32_t>(kept)};
        ++kept;
    }
    t.spans.resize(kept);
    ot.aux.resize(kept);
    // Parents: recompute from the index, now that every kept span has its new place.
    for (std::size_t i = 0; i < kept; ++i) {
        const std::uint64_t parent = t.spans[i].parent_id;
        const span_ref* r = parent ? span_index_.find(parent) : nullptr;
        ot.aux[i].parent = r ? r->index : no_index;
    }
    for (const span& s : segment_.spans) segment_.end_ns = std::max({segment_.end_ns, s.end_ns, s.start_ns});
    ot.records -= removable;
    held_ -= removable;
    open_span_count_ -= moved_spans;

    resolve_join(t);
    segment_.joined_trace = t.joined_trace;
    segment_.joined_span = t.joined_span;
    segment_.joined_pid = t.joined_pid;
    fill_names(segment_);
    out_.on_trace(segment_);
    for (span& s : segment_.spans) recycle(s, free_spans_, spare_spans_);
    segment_.spans.clear();
    segment_.links.clear();
    return true;
}

void assembler::cut_to_bounds(std::uint64_t now) {
    // Long-lived traces show what finished so far, once per segment_after_ns.
    if (options_.segment_after_ns != 0) {
        for (std::size_t guard = open_trace_count_; guard > 0 && order_head_ != no_slot; --guard) {
            const std::uint32_t head = order_head_;
            open_trace& ot = slots_[head];
            if (now <= ot.last_cut || now - ot.last_cut <= options_.segment_after_ns) break;
            emit_segment(head);
            ot.last_cut = now;
            order_remove(head);
            order_push_back(head);
        }
    }
    if (biggest_ != no_slot && slots_[biggest_].in_use && slots_[biggest_].records > options_.max_trace_records)
        emit_segment(biggest_);
    while (open_trace_count_ > options_.max_open_traces && order_head_ != no_slot) {
        ++summary_.evicted_traces;
        emit(order_head_, true);  // the oldest open trace
    }
    // Spans count against max_open_spans; what they hold (suspensions,
    // annotations, links) is bounded too, more loosely.
    while ((open_span_count_ > options_.max_open_spans || held_ > 4 * options_.max_open_spans) &&
           order_head_ != no_slot) {
        // The trace that grew most gives up what it finished; failing that,
        // the oldest; a trace holding only open spans is evicted whole.
        if (biggest_ != no_slot && slots_[biggest_].in_use && emit_segment(biggest_)) continue;
        biggest_ = no_slot;
        biggest_trace_ = nullptr;
        const std::uint32_t head = order_head_;
        if (emit_segment(head)) {
            order_remove(head);
            order_push_back(head);
            continue;
        }
        ++summary_.evicted_traces;
        emit(head, true);
    }
}

void assembler::on_drops(std::uint64_t total_dropped) {
    if (total_dropped <= dropped_seen_) return;
    dropped_seen_ = total_dropped;
    summary_.drops = total_dropped;
}

void assembler::flush() {
    while (order_head_ != no_slot) emit(order_head_, true);  // oldest first
}

// ---- events -----------------------------------------------------------------------

void assembler::on_collector_event(process& p, const cotrace_event& e) {
    char buf[24];
    switch (e.kind) {
        case COTRACE_EV_thread_idle:
            p.thread_states_known = true;
            thread_of(p, e.tid).idle_known = true;
            break;
        case COTRACE_EV_thread_in_span: {  // (code of the innermost coroutine function, how it was found)
            p.thread_states_known = true;
            thread_state& th = thread_of(p, e.tid);
            const std::uint64_t id = begin_placeholder(p, e, e.args[0]);
            th.placeholder = id;
            th.placeholder_revisited = false;
            th.placeholder_exact = e.args[1] == COTRACE_CENSUS_UNWOUND;
            run_on(th, e, id);
            break;
        }
        case COTRACE_EV_thread_unknown:  // (code of the coroutine in a co_await)
            p.thread_states_known = true;
            thread_of(p, e.tid).running_unknown = true;
            break;
        case COTRACE_EV_objects_gap: {  // (from ts): events between then and now may be missing
            const std::uint64_t to = epoch(e.ts_ns);
            for (std::uint32_t s = order_head_; s != no_slot; s = slots_[s].next)
                if (slots_[s].t.start_ns <= to) slots_[s].lost = true;
            break;
        }
        case COTRACE_EV_thread_name:
            thread_of(p, e.tid).name = symbols_.intern(name_in_args(e, 2, buf));
            p.names_known = true;
            break;
        case COTRACE_EV_process_name:
            p.name = symbols_.intern(name_in_args(e, 3, buf));
            break;
        default:
            break;  // a collector record this version does not know: nothing to assemble
    }
}

void assembler::on_event(const cotrace_event& e) {
    process& p = process_of(e.pid);
    if (e.flags & COTRACE_EVF_AFTER_LOSS) lose_track(thread_of(p, e.tid));
    if (e.kind >= COTRACE_EV_COLLECTOR_FIRST) {  // not a probe event: not counted
        on_collector_event(p, e);
        emit_settled();
        enforce_bounds(e.ts_ns);
        return;
    }
    ++summary_.events;
    thread_state& th = thread_of(p, e.tid);
    const std::uint64_t a0 = e.args[0], a1 = e.args[1], a2 = e.args[2];
    if (th.after_loss) {  // whatever this touches may have lost events
        if (e.kind == COTRACE_EV_suspend || e.kind == COTRACE_EV_resume || e.kind == COTRACE_EV_end ||
            e.kind == COTRACE_EV_link)
            taint_frame(p, a0);
        if (e.kind == COTRACE_EV_span_begin || e.kind == COTRACE_EV_link || e.kind == COTRACE_EV_async_begin)
            taint_frame(p, a1);
    }

    // Each names the span that runs here (or did, to its end).
    if (e.kind == COTRACE_EV_suspend || e.kind == COTRACE_EV_resume || e.kind == COTRACE_EV_end)
        th.running_unknown = false;

    switch (e.kind) {
        case COTRACE_EV_suspend: {  // (span, site, awaited)
            const std::uint64_t id = known_or_partial(p, th, e, a0);
            pop_running(th, id);
            suspension su;
            su.site = symbols_.site(e.pid, a1);
            su.start_ns = epoch(e.ts_ns);
            if (a2 != 0) {
                su.awaited = live_span(p, a2);
                // A frame of a span orphaned by lost events, now awaited as
                // a new task: it ended unseen and its memory was reused.
                if (su.awaited != 0 && orphaned(su.awaited)) su.awaited = 0;
                if (su.awaited == 0) {
                    su.awaited = begin_span(p, e, a2, id, span_kind::coroutine, false);
                    span& child = *find_span(su.awaited);
                    child.name = coroutine_name(e.pid, e, a2, true);
                    child.site = su.site;
                }
                awaited_by_[su.awaited] = id;
            }
            const std::uint64_t child = su.awaited;
            const span_ref r = *span_index_.find(id);
            open_trace& ot = slots_[r.slot];
            ot.t.spans[r.index].suspends.push_back(su);
            ot.aux[r.index].pending = true;
            ++ot.records;
            ++held_;
            note_growth(r.slot);
            if (child != 0) run_on(th, e, child);  // control passes to the child, on this thread
            break;
        }
        case COTRACE_EV_resume:  // (span)
            run_on(th, e, known_or_partial(p, th, e, a0));
            break;
        case COTRACE_EV_end: {  // (span, status)
            std::uint64_t id = live_span(p, a0);
            if (id == 0) {
                // A task destroyed before it ever ran is cancelled too; that
                // is no span. Anything else began before we attached: a
                // partial span, so a request that was already running shows.
                if (a1 == COTRACE_STATUS_CANCELLED && th.placeholder == 0) break;
                id = known_or_partial(p, th, e, a0);
            }
            const span_ref* ending = span_index_.find(id);
            const bool begun_unseen = ending && slots_[ending->slot].aux[ending->index].begun_unseen;
            finish_span(p, th, e, id, status_from(a1));
            // A completed child hands control back to the span awaiting it,
            // on this thread (a cancelled one is being destroyed instead).
            const std::uint64_t* w = awaited_by_.find(id);
            if (!w && begun_unseen && a1 != COTRACE_STATUS_CANCELLED && th.stack.empty())
                th.running_unknown = true;  // its awaiter, unknown, may go on here
            if (w) {
                const std::uint64_t parent = *w;
                awaited_by_.erase(id);
                const span_ref* r = a1 != COTRACE_STATUS_CANCELLED ? span_index_.find(parent) : nullptr;
                if (r) {
                    const open_trace& ot = slots_[r->slot];
                    const span& ps = ot.t.spans[r->index];
                    if (ps.status == span_status::running && ot.aux[r->index].pending &&
                        ps.suspends.back().awaited == id)
                        run_on(th, e, parent);
                }
            }
            break;
        }
        case COTRACE_EV_span_begin: {  // (span, parent, site)
            bool uncertain = false;
            std::uint64_t parent = 0;  // COTRACE_PARENT_NONE: a new trace, whatever is current
            if (a1 != COTRACE_PARENT_NONE)
                parent = a1 != 0 ? known_or_partial(p, th, e, a1) : implicit_parent(p, th, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::coroutine, uncertain);
            span& s = *find_span(id);
            s.name = coroutine_name(e.pid, e, a0, true);
            if (a2 != 0) s.site = symbols_.site(e.pid, a2);
            run_on(th, e, id);  // it starts running at once, on this thread
            break;
        }
        case COTRACE_EV_link: {  // (from, to, kind)
            bool uncertain = false;
            std::uint64_t from = a0 == 0 ? implicit_parent(p, th, uncertain) : live_span(p, a0);
            if (from == 0 && a0 != 0 && th.ended_frame == a0) from = th.ended_span;
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
            const std::uint64_t parent = implicit_parent(p, th, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::scope, uncertain);
            span& s = *find_span(id);
            s.site = symbols_.site(e.pid, a1);
            s.name = s.site.function.empty() ? unknown_name : s.site.function;
            run_on(th, e, id);
            break;
        }
        case COTRACE_EV_event: {  // (name, value, site)
            const std::uint64_t id = current_span(th);
            if (id == 0) {
                ++summary_.unattributed;
                break;
            }
            const span_ref r = *span_index_.find(id);
            open_trace& ot = slots_[r.slot];
            ot.t.spans[r.index].events.push_back(
                {symbols_.text(e.pid, a0), static_cast<std::int64_t>(a1), epoch(e.ts_ns)});
            ++ot.records;
            ++held_;
            note_growth(r.slot);
            break;
        }
        case COTRACE_EV_async_begin: {  // (span, parent, name): pending until resumed
            std::uint64_t parent = 0;
            bool uncertain = false;
            if (a1 == COTRACE_PARENT_NONE)
                parent = 0;
            else if (a1 != 0)
                parent = known_or_partial(p, th, e, a1);
            else
                parent = implicit_parent(p, th, uncertain);
            const std::uint64_t id = begin_span(p, e, a0, parent, span_kind::coroutine, uncertain);
            const std::string_view name = a2 ? symbols_.text(e.pid, a2) : unknown_name;
            find_span(id)->name = name.empty() ? unknown_name : name;
            // Work its explicit parent has just suspended for (a suspend on no
            // traced child, then this): the parent awaits it, so the child is
            // sited where the parent waits. The suspension stays: it is when
            // the parent does not run (viewers draw its runs from it).
            if (a1 != 0 && a1 != COTRACE_PARENT_NONE && parent != 0) {
                const span_ref pr = *span_index_.find(parent);
                open_trace& pot = slots_[pr.slot];
                const span& ps = pot.t.spans[pr.index];
                if (pot.aux[pr.index].pending && !ps.suspends.empty() && ps.suspends.back().awaited == 0)
                    find_span(id)->site = ps.suspends.back().site;
            }
            break;
        }
        case COTRACE_EV_context_capture:  // (token)
            // Bounded like everything else: a capture never entered is forgotten eventually.
            if (p.contexts.size() >= options_.max_open_spans) p.contexts.clear();
            if (const std::uint64_t current = current_span(th); current != 0 || !th.running_unknown)
                p.contexts[a0] = current;
            else
                p.contexts.erase(a0);  // it carries a span we do not know: as if captured before attach
            break;
        case COTRACE_EV_context_enter: {  // (token)
            const std::uint64_t* id = p.contexts.find(a0);
            if (id && *id != 0 && span_index_.contains(*id)) th.stack.push_back({*id, a0});
            // Captured where nothing was current: what runs in it roots a
            // trace. Never captured as far as we know, or its span's trace
            // already emitted: a span we cannot place.
            else if ((!id || *id != 0) && th.unseen_contexts.size() < 64) th.unseen_contexts.push_back(a0);
            break;
        }
        case COTRACE_EV_context_exit:  // (token)
            for (auto i = th.unseen_contexts.size(); i-- > 0;)
                if (th.unseen_contexts[i] == a0) {
                    th.unseen_contexts.erase(th.unseen_contexts.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
            for (auto i = th.stack.size(); i-- > 0;)
                if (th.stack[i].token == a0) {
                    th.stack.erase(th.stack.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
            break;
        case COTRACE_EV_remote_span:  // (trace_hi, trace_lo, span_id): of the current span
            announce_remote(th, e);
            break;
        case COTRACE_EV_remote_enter:  // (trace_hi, trace_lo, span_id)
            if ((a0 | a1) != 0 && a2 != 0 && th.remote.size() < 64) th.remote.push_back({a0, a1, a2});
            break;
        case COTRACE_EV_remote_exit:  // (span_id)
            for (auto i = th.remote.size(); i-- > 0;)
                if (th.remote[i].span == a0) {
                    th.remote.erase(th.remote.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
            break;
        default:
            ++summary_.unattributed;
            break;
    }
    if (!settled_.empty()) emit_settled();
    enforce_bounds(e.ts_ns);
}

// ---- in flight ----------------------------------------------------------------------

void assembler::in_flight(std::uint64_t now_ts, std::uint64_t min_wait_ns,
                          const std::function<void(in_flight_trace&)>& visit,
                          const std::function<bool(std::uint64_t)>& want) const {
    const std::uint64_t now = epoch(now_ts);
    const auto waited = [now](const suspension& su) { return now > su.start_ns ? now - su.start_ns : 0; };
    in_flight_trace snap;  // reused for every trace visited
    for (std::uint32_t slot = order_head_; slot != no_slot; slot = slots_[slot].next) {
        const open_trace& ot = slots_[slot];
        const held_trace& t = ot.t;
        std::uint64_t longest = 0;
        for (std::size_t i = 0; i < ot.aux.size(); ++i)
            if (ot.aux[i].pending) longest = std::max(longest, waited(t.spans[i].suspends.back()));
        if (min_wait_ns != 0 && longest < min_wait_ns) continue;
        if (want && !want(t.id)) continue;

        // Every field as held (the copies reuse the snapshot's storage).
        t.describe(snap.t);
        snap.t.segment = t.segment;
        snap.t.spans.assign(t.spans.begin(), t.spans.begin() + static_cast<std::ptrdiff_t>(ot.aux.size()));
        snap.t.links = t.links;
        snap.t.final_segment = false;
        snap.t.complete = !ot.lost && !ot.partial;
        snap.t.end_ns = std::max(now, t.start_ns);
        if (auto p = processes_.find(t.pid); p != processes_.end()) {
            fill_names(*p->second, snap.t);
        } else {
            snap.t.thread_names.clear();
            snap.t.process_name = {};
        }
        snap.waiting.clear();
        for (std::size_t i = 0; i < ot.aux.size(); ++i)
            if (ot.aux[i].pending)
                snap.waiting.push_back({static_cast<std::uint32_t>(i), waited(t.spans[i].suspends.back())});
        snap.now_ns = now;
        snap.longest_wait_ns = longest;
        snap.stuck = snap.requested = false;
        visit(snap);
    }
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
