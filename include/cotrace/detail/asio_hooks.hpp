#pragma once
// The objects behind the Asio handler-tracking macros that
// cotrace/asio_tracking.hpp defines. Not for direct use: include nothing here
// yourself; name cotrace/asio_tracking.hpp in ASIO_CUSTOM_HANDLER_TRACKING.
// asio_tracking.hpp explains what a trace of an Asio program looks like and
// why; this file is how.
//
// Detached (no tracer), a handler stores one zero word; its creation and a
// handler location compare the async_begin semaphore with 0 once each (a
// composed operation's steps have no location at all); its completion ORs
// that word with the resume semaphore (one branch: a handler created while
// nobody was attached may run after a tracer came), holds a null pointer,
// and tests it at the invocation's begin and at its own destruction.
// Nothing is computed before those tests; every probe and all bookkeeping
// are out of line ([[gnu::noinline, gnu::cold]]) behind them.
// The bookkeeping (sessions, the thread's state, the tables of sites and
// error texts) exists only while a tracer is attached, and for the handlers
// created while one was.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "probe.hpp"

namespace cotrace::detail {

#if COTRACE_ENABLED

// Ids of Asio spans: never 0, and never a coroutine frame or scope address
// (user-space addresses stay below 2^47), so they cannot collide with the
// spans of cotrace's own coroutines in the same process.
inline constexpr std::uint64_t asio_id_bit = std::uint64_t{1} << 62;
inline std::atomic<std::uint64_t> asio_next_id{1};

inline std::uint64_t asio_new_id() noexcept {
    return asio_id_bit | asio_next_id.fetch_add(1, std::memory_order_relaxed);
}

// ---- interned sites and texts ----------------------------------------------------
//
// The protocol passes sites and names as pointers to static data in the
// traced process, read once per address by the collector. Asio hands the
// hooks (file, line, function) as three values, and error messages are
// computed strings: each distinct one is copied once into a table that is
// never freed or reused, so its address stays what the collector cached.
// Full tables give 0 (no site, no text): the trace loses a detail, never
// memory.

template <class Entry, std::size_t Capacity>
class asio_intern_table {
public:
    // The entry for `key` (a hash of it: `hash`), made by `make(entry&)` the
    // first time; nullptr when the table is full.
    template <class Equal, class Make>
    const Entry* find_or_add(std::uint64_t hash, Equal&& equal, Make&& make) noexcept {
        std::lock_guard lock(mutex_);
        for (std::size_t probe = 0; probe < Capacity; ++probe) {
            slot& s = slots_[(hash + probe) % Capacity];
            if (!s.used) {
                if (used_ * 4 >= Capacity * 3) return nullptr;  // keep probes short
                make(s.entry);
                s.used = true;
                ++used_;
                return &s.entry;
            }
            if (equal(s.entry)) return &s.entry;
        }
        return nullptr;
    }

private:
    struct slot {
        Entry entry;
        bool used;
    };
    std::mutex mutex_;
    std::size_t used_ = 0;
    slot slots_[Capacity];
};

inline std::uint64_t asio_mix(std::uint64_t h, std::uint64_t v) noexcept {
    return (h ^ v) * 0x9e3779b97f4a7c15ull + (h >> 29);
}

// The site of an Asio handler location: a struct cotrace_site.
inline const cotrace_site* asio_site(const char* file, int line, const char* function) noexcept {
    if (file == nullptr || line <= 0) return nullptr;
    static asio_intern_table<cotrace_site, 4096> table;
    const std::uint64_t h = asio_mix(asio_mix(reinterpret_cast<std::uintptr_t>(file), std::uint64_t(line)),
                                     reinterpret_cast<std::uintptr_t>(function));
    return table.find_or_add(
        h,
        [&](const cotrace_site& s) {
            return s.file == file && s.function == function && s.line == std::uint32_t(line);
        },
        [&](cotrace_site& s) { s = {file, function, std::uint32_t(line), 0}; });
}

// "<category>: <message>" of an error, e.g. "asio.system: Connection reset by peer".
struct asio_error_text {
    const void* category;
    int value;
    char text[120];
};

template <class Message>
const char* asio_error_name(const void* category, const char* category_name, int value, Message&& message) noexcept {
    static asio_intern_table<asio_error_text, 512> table;
    const asio_error_text* e = table.find_or_add(
        asio_mix(reinterpret_cast<std::uintptr_t>(category), std::uint64_t(std::uint32_t(value))),
        [&](const asio_error_text& t) { return t.category == category && t.value == value; },
        [&](asio_error_text& t) {
            t.category = category;
            t.value = value;
            std::string m;
            try {
                m = message();
            } catch (...) {
                m = "?";
            }
            std::string s = std::string(category_name ? category_name : "?") + ": " + m;
            const std::size_t n = std::min(s.size(), sizeof t.text - 1);
            std::memcpy(t.text, s.data(), n);
            t.text[n] = '\0';
        });
    return e ? e->text : category_name;
}

// ---- the probes ------------------------------------------------------------------
//
// Every probe goes through one of these, out of line: one probe site each,
// however many handler types there are, and arguments in registers (a
// thread-local operand, %fs-relative, is one a uprobe cannot read).

[[gnu::noinline, gnu::cold]] inline void asio_probe_async_begin(std::uint64_t id, std::uint64_t parent,
                                                               const char* name) noexcept {
    COTRACE_DETAIL_PROBE(async_begin, id, parent, name);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_resume(std::uint64_t id) noexcept {
    COTRACE_DETAIL_PROBE(resume, id);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_end(std::uint64_t id, int status) noexcept {
    COTRACE_DETAIL_PROBE(end, id, status);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_suspend(std::uint64_t id, const void* site) noexcept {
    COTRACE_DETAIL_PROBE(suspend, id, site, 0);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_link(std::uint64_t from, std::uint64_t to) noexcept {
    COTRACE_DETAIL_PROBE(link, from, to, COTRACE_LINK_WAKE);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_continues(std::uint64_t from, std::uint64_t to) noexcept {
    COTRACE_DETAIL_PROBE(link, from, to, COTRACE_LINK_CONTINUES);
}
[[gnu::noinline, gnu::cold]] inline void asio_probe_event(const char* name, std::int64_t value) noexcept {
    COTRACE_DETAIL_PROBE(event, name, value, 0);
}

// Whether a tracer is attached (the async_begin semaphore is raised), the
// test in front of every creation and handler location. On x86-64 it is one
// compare of the semaphore in memory and one branch: the volatile read of
// COTRACE_DETAIL_ACTIVE costs a load, a test and the branch, and an asm
// statement, like that read, is never hoisted out of a loop or merged with
// another test. The semaphore is hidden in every object (probe.hpp), so it
// is addressed relative to the instruction, in executables and shared
// libraries alike (both assembler dialects: -masm=att and -masm=intel).
#if defined(__x86_64__) && !defined(COTRACE_TEST_SINK)
[[gnu::always_inline]] inline bool asio_attached() noexcept {
    asm goto("{cmpw $0, cotrace_async_begin_semaphore(%%rip)|cmp WORD PTR cotrace_async_begin_semaphore[rip], 0}"
             "\n\tjne %l[attached]" ::: "cc"
             : attached);
    return false;
attached:
    return true;
}
#else
[[gnu::always_inline]] inline bool asio_attached() noexcept { return COTRACE_DETAIL_ACTIVE(async_begin); }
#endif

// ---- sessions and the state of a thread ---------------------------------------------

// A session: a co_spawned coroutine, or the handlers of one accepted
// connection. One span for its whole life, the parent of everything it
// starts (a flat sequence of children, not a chain). Counted by the
// handlers that belong to it (and, while it is being started, by the code
// starting it): the last one's end is the session's end.
struct asio_session {
    std::uint64_t id = 0;         // its span
    std::uint64_t spawned_by = 0;  // the span current where it was started (linked from), 0: none
    std::atomic<std::uint32_t> refs{1};
    bool coroutine = false;  // a coroutine (else the handlers of an accepted connection)
    bool begun = false;      // its span has begun (a coroutine's does at its first operation, where Asio names it)
    bool listener = false;   // it accepts connections: no span of its own; each accept is a trace
    const char* name = nullptr;      // a coroutine's span name
    std::uint32_t operations = 0;    // co_awaits in its current part
};

// A long-lived coroutine (a connection open for hours) is cut into parts of
// this many co_awaited operations: each part is a trace of its own, linked
// from the part before, so the collector emits each part when it is done
// and holds one part at a time, not the session's whole history.
inline constexpr std::uint32_t asio_part_operations = 1000;

class asio_location;

// What the hooks know of this thread: maintained by invocations and
// locations, only while traced.
struct asio_thread_state {
    asio_location* innermost = nullptr;  // open handler locations, innermost first
    asio_session* session = nullptr;     // whose handler (or coroutine) runs here
    std::uint64_t current = 0;           // the span running here, as far as the hooks know
    std::uint64_t accept = 0;            // an accept's handler runs here: its span
    asio_session* accepted = nullptr;    // the connection that accept's handler is starting
};
inline thread_local asio_thread_state asio_thread;

[[gnu::noinline, gnu::cold]] inline void asio_session_release(asio_session* s) noexcept {
    if (s->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (s->begun && !s->listener) asio_probe_end(s->id, COTRACE_STATUS_OK);
    delete s;
}

inline void asio_session_retain(asio_session* s) noexcept { s->refs.fetch_add(1, std::memory_order_relaxed); }

// A handler location (ASIO_HANDLER_LOCATION): Asio declares one while an
// initiating function runs: use_awaitable's, around each co_await of an
// operation (the coroutine's file, line and function, when the program
// passes them), a composed operation's around each step, and co_spawn's
// entry point ("co_spawn_entry_point") around a spawned coroutine's first
// step, which starts a session.
class asio_location {
public:
    asio_location(const char* file, int line, const char* function) noexcept {
        if (asio_attached()) [[unlikely]]
            enter(file, line, function);
    }
    ~asio_location() {
        if (linked_) leave();
    }
    asio_location(const asio_location&) = delete;
    asio_location& operator=(const asio_location&) = delete;

    // The outermost location open for `s` since it last began to run here
    // (a co_await in the coroutine's body, rather than the steps of the
    // composed operation it started), or nullptr.
    static const asio_location* outermost_of(const asio_session* s) noexcept {
        const asio_location* found = nullptr;
        for (const asio_location* l = asio_thread.innermost; l && l->session_ == s && !l->entry_; l = l->outer_)
            found = l;
        return found;
    }
    static bool entry_open_for(const asio_session* s) noexcept {
        const asio_location* l = asio_thread.innermost;
        return l && l->entry_ && l->session_ == s;
    }

    // Set only while linked (traced): detached, a location stores one byte.
    const char* file_;
    const char* function_;
    int line_;

private:
    [[gnu::noinline, gnu::cold]] void enter(const char* file, int line, const char* function) noexcept {
        asio_thread_state& t = asio_thread;
        file_ = file, line_ = line, function_ = function;
        outer_ = t.innermost;
        t.innermost = this;
        linked_ = true;
        entry_ = false;
        if (function != nullptr && std::strcmp(function, "co_spawn_entry_point") == 0) {
            // A coroutine is spawned: a session, and current here while its
            // first step runs (inline, when spawned on a thread of its
            // executor; else that step is queued, and carries it).
            entry_ = true;
            auto* s = new (std::nothrow) asio_session;
            if (s == nullptr) return;
            s->id = asio_new_id();
            s->coroutine = true;
            s->spawned_by = t.current;
            saved_session_ = t.session;
            saved_current_ = t.current;
            saved_accept_ = t.accept;
            t.session = s;
            t.accept = 0;
        }
        session_ = t.session;
    }
    [[gnu::noinline, gnu::cold]] void leave() noexcept {
        asio_thread_state& t = asio_thread;
        t.innermost = outer_;
        if (entry_ && session_ != nullptr) {
            asio_session* s = session_;
            t.session = saved_session_;
            t.current = saved_current_;
            t.accept = saved_accept_;
            asio_session_release(s);  // the reference of its start
        }
    }

    // All but linked_ are set by enter() (saved_*: for an entry only).
    asio_location* outer_;
    asio_session* session_;  // the session current when it opened (the spawned one, for an entry)
    asio_session* saved_session_;
    std::uint64_t saved_current_;
    std::uint64_t saved_accept_;
    bool linked_ = false;
    bool entry_;
};

// A handler location whose function is a string literal: Asio's composed
// operations name their steps so ("async_write", "async_read_until", ...,
// and __func__). Such a step never names a coroutine or a co_await: inside
// a co_await, use_awaitable's location (the coroutine's) is open around it,
// and the session span is named and placed by that one. So it is not kept,
// and costs nothing. A coroutine's own locations, and co_spawn's entry,
// pass a pointer (use_awaitable_t's fields) and are asio_locations.
struct asio_step_location {
    constexpr asio_step_location(const char*, int, const char*) noexcept {}
};

template <class Function>
struct asio_location_for {
    using type = asio_location;
};
template <std::size_t N>
struct asio_location_for<const char (&)[N]> {
    using type = asio_step_location;
};

// ---- handlers --------------------------------------------------------------------------

// The resume semaphore as a word, nonzero while a tracer is attached (what
// COTRACE_DETAIL_ACTIVE(resume) compares with 0): ORed with a handler's id,
// a completion's two conditions cost one branch. Read through volatile for
// the reason COTRACE_DETAIL_ACTIVE does.
#if defined(COTRACE_TEST_SINK)
#define COTRACE_DETAIL_ASIO_RESUME_RAISED std::uint64_t(COTRACE_DETAIL_ACTIVE(resume))
#else
#define COTRACE_DETAIL_ASIO_RESUME_RAISED std::uint64_t(*(volatile unsigned short*)&cotrace_resume_semaphore)
#endif

// Bits of a handler's id that are flags, not identity. A handler's id is
// nonzero exactly when it is traced, so that a completion tests one word.
inline constexpr std::uint64_t asio_accept_bit = std::uint64_t{1} << 60;   // an accept
inline constexpr std::uint64_t asio_awaited_bit = std::uint64_t{1} << 59;  // its completion resumes its coroutine
inline constexpr std::uint64_t asio_run_bit = std::uint64_t{1} << 58;      // no span: its session's own run
inline constexpr std::uint64_t asio_flag_mask = asio_accept_bit | asio_awaited_bit | asio_run_bit;

// Base of every Asio operation (scheduler_operation, channel_operation):
// what the hooks know of a handler travels with it from its creation to its
// completion.
class asio_tracked_handler {
protected:
    asio_tracked_handler() noexcept = default;
    ~asio_tracked_handler() = default;  // never deleted through this type

public:
    std::uint64_t cotrace_id_ = 0;  // its span, with flags; 0: not traced
    // The session it belongs to (holds a reference), or nullptr. Written by
    // every creation that sets cotrace_id_ and read only where cotrace_id_ is
    // set: a handler created detached stores one word, not two.
    asio_session* cotrace_session_;
};

inline bool asio_is_accept(const char* name) noexcept {
    const std::size_t n = std::strlen(name), k = sizeof "async_accept" - 1;
    return n >= k && std::strcmp(name + n - k, "async_accept") == 0;
}

// A coroutine session's span begins at its first operation: the location of
// that co_await is the first place Asio names the coroutine's function.
inline void asio_begin_coroutine(asio_session* s, const asio_location* where) noexcept {
    s->begun = true;
    const char* name = where && where->function_ ? where->function_ : "co_spawn";
    s->name = name;
    asio_probe_async_begin(s->id, COTRACE_PARENT_NONE, name);
    asio_probe_resume(s->id);
    if (s->spawned_by != 0) asio_probe_link(s->spawned_by, s->id);
    asio_thread.current = s->id;
}

// The next part of a long coroutine session: begun (and linked from the
// part before) while the coroutine runs with nothing else of it pending.
// Announced first as the continuation of the part before, so that a
// sampling collector keeps every part of a session it keeps, and none of
// one it drops.
inline void asio_next_part(asio_session* s) noexcept {
    const std::uint64_t previous = s->id;
    s->id = asio_new_id();
    s->operations = 1;  // the one it begins with
    asio_probe_continues(previous, s->id);
    asio_probe_async_begin(s->id, COTRACE_PARENT_NONE, s->name);
    asio_probe_link(previous, s->id);
    asio_probe_end(previous, COTRACE_STATUS_OK);
    asio_probe_resume(s->id);
    asio_thread.current = s->id;
}

// A handler was created (an asynchronous operation started, or work was
// queued). `name` is a string literal in the traced binary
// ("socket.async_receive"). Which span it becomes is the trace-boundary
// rule of asio_tracking.hpp.
[[gnu::noinline, gnu::cold]] inline void asio_created(asio_tracked_handler& h, const char* name) noexcept {
    asio_thread_state& t = asio_thread;
    const std::uint64_t id = asio_new_id();
    asio_session* s = t.session;

    if (asio_is_accept(name)) {
        // The listener: every accept is a trace of its own, linked to the
        // accept whose handler started it; a coroutine that accepts is a
        // listener, whose span (if it had begun) ends here.
        if (s != nullptr && s->coroutine && !s->listener) {
            if (s->begun) asio_probe_end(s->id, COTRACE_STATUS_OK);
            s->listener = true;
        }
        if (s != nullptr) asio_session_retain(s);
        h.cotrace_session_ = s;
        h.cotrace_id_ = id | asio_accept_bit;
        asio_probe_async_begin(id, COTRACE_PARENT_NONE, name);
        if (t.current != 0) asio_probe_link(t.current, id);
        return;
    }
    if (t.accept != 0 && (s == nullptr || s->listener)) {
        // Started by an accept's handler: the accepted connection, a session
        // rooting a trace of its own, linked to that accept.
        if (t.accepted == nullptr) {
            t.accepted = new (std::nothrow) asio_session;
            if (t.accepted == nullptr) return;
            t.accepted->id = asio_new_id();
            t.accepted->begun = true;
            asio_probe_async_begin(t.accepted->id, COTRACE_PARENT_NONE, "asio.connection");
            asio_probe_link(t.accept, t.accepted->id);
        }
        s = t.accepted;
    }
    if (s != nullptr && !s->listener) {
        if (s->coroutine && !s->begun) {
            // The queued first step of a coroutine spawned from outside its
            // executor: no span, but it carries the session to where it runs.
            if (asio_location::entry_open_for(s)) {
                asio_session_retain(s);
                h.cotrace_session_ = s;
                h.cotrace_id_ = asio_run_bit;
                return;
            }
            asio_begin_coroutine(s, asio_location::outermost_of(s));
        }
        if (s->coroutine && t.current == s->id && ++s->operations > asio_part_operations &&
            s->refs.load(std::memory_order_acquire) == 1)
            asio_next_part(s);  // only the invocation running it holds it: no operation of this part is open
        asio_session_retain(s);
        h.cotrace_session_ = s;
        h.cotrace_id_ = id;
        if (s->coroutine && t.current == s->id) {
            // The coroutine itself starts it, under a location: a co_await.
            // The suspension comes first, so the collector gives the
            // operation that co_await's site.
            if (const asio_location* where = asio_location::outermost_of(s)) {
                const cotrace_site* site = asio_site(where->file_, where->line_, where->function_);
                asio_probe_suspend(s->id, site);
                h.cotrace_id_ |= asio_awaited_bit;
            }
        }
        asio_probe_async_begin(id, s->id, name);
        return;
    }
    // Plain handler code: a child of the span current on this thread (the
    // handler whose invocation created it), or a new trace.
    h.cotrace_session_ = nullptr;
    h.cotrace_id_ = id;
    asio_probe_async_begin(id, 0, name);
}

inline void asio_creation(asio_tracked_handler& h, const char* name) noexcept {
    if (asio_attached()) [[unlikely]]
        asio_created(h, name);
}

// What a completion of a traced handler keeps while it runs, out of line:
// made by start() only when a tracer is attached (or the handler was
// traced), so that a detached completion holds nothing but a null pointer.
class asio_completion_state {
public:
    // The state for completing `h`, or nullptr: not traced (created detached
    // and still detached, or out of memory).
    [[gnu::noinline, gnu::cold]] static asio_completion_state* start(const asio_tracked_handler& h) noexcept {
        auto* c = new (std::nothrow) asio_completion_state;
        if (c == nullptr) return nullptr;
        c->id_ = h.cotrace_id_;
        if (c->id_ != 0) {
            c->session_ = h.cotrace_session_;
            return c;
        }
        // Created before a tracer attached and run after: the span's
        // beginning was not seen, so it is reported as a partial span (the
        // collector makes it the root of an incomplete trace) instead of
        // letting what it starts look like a complete trace of its own. It
        // is a session: what it starts (a coroutine's next co_awaits, a
        // handler's next operations) are its children, as in a session
        // traced whole.
        auto* s = new (std::nothrow) asio_session;
        if (s == nullptr) {
            delete c;
            return nullptr;
        }
        s->id = asio_new_id();
        s->coroutine = true;
        s->begun = true;
        c->session_ = s;
        c->id_ = asio_run_bit;  // this invocation is the session's own run
        return c;
    }

    // Asio passes the arguments the handler is invoked with: an error code
    // first, if any (then bytes transferred, a signal number, ...).
    template <class... Args>
    void invocation_begin(const Args&... args) noexcept {
        const char* error = nullptr;
        if constexpr (sizeof...(Args) > 0) error = error_of(args...);
        begin(error);
    }

    // The completion is over (its function returns, or unwinds): the span
    // ends, unless a co_await's end came at the invocation's begin. Its
    // status: the invocation's (from its error code), exception if the
    // handler threw, cancelled if it was never invoked (shutdown, a
    // destroyed queue). Taken here rather than at the invocation's end,
    // after the handler's own destruction: one hook fewer on the path of
    // every handler, detached or not.
    [[gnu::noinline, gnu::cold]] static void finish(asio_completion_state* c) noexcept {
        const std::uint64_t id = c->id_ & ~asio_flag_mask;
        const bool invoked = (c->flags_ & invoked_flag) != 0;
        if (id != 0 && (c->flags_ & ended_flag) == 0)
            asio_probe_end(id, !invoked                                     ? COTRACE_STATUS_CANCELLED
                               : std::uncaught_exceptions() > c->exceptions_ ? COTRACE_STATUS_EXCEPTION
                                                                             : c->status_);
        if (invoked) c->restore();
        if (c->session_ != nullptr) asio_session_release(c->session_);
        delete c;
    }

private:
    enum : std::uint8_t { invoked_flag = 1, ended_flag = 2 };

    template <class Ec, class... Rest>
    const char* error_of(const Ec& ec, const Rest&...) noexcept {
        if constexpr (requires { ec.value(); ec.category().name(); ec.message(); }) {
            if (ec.value() != 0) [[unlikely]]
                return error(ec);
        }
        return nullptr;
    }

    // The error's annotation text, and the span's status: end of file keeps
    // ok (a peer that closed), operation_aborted is cancelled, anything else
    // an error.
    template <class Ec>
    [[gnu::noinline, gnu::cold]] const char* error(const Ec& ec) noexcept {
        const char* category = ec.category().name();
        const int value = ec.value();
        error_value_ = value;
        if (value == 2 && std::strcmp(category, "asio.misc") == 0)
            status_ = COTRACE_STATUS_OK;
        else if (value == ECANCELED &&
                 (std::strcmp(category, "asio.system") == 0 || std::strcmp(category, "system") == 0))
            status_ = COTRACE_STATUS_CANCELLED;  // Asio's system category (Boost.Asio: Boost.System's)
        else
            status_ = COTRACE_STATUS_ERROR;
        return asio_error_name(&ec.category(), category, value, [&] { return ec.message(); });
    }

    [[gnu::noinline, gnu::cold]] void begin(const char* error) noexcept {
        asio_thread_state& t = asio_thread;
        flags_ |= invoked_flag;
        exceptions_ = std::uncaught_exceptions();
        saved_session_ = t.session;
        saved_current_ = t.current;
        saved_accept_ = t.accept;
        saved_accepted_ = t.accepted;
        t.accepted = nullptr;
        const std::uint64_t id = id_ & ~asio_flag_mask;
        if (id == 0) {
            // The session's own run: a spawned coroutine's queued first step
            // (not begun yet), or a session first seen here (attached mid-flight).
            t.session = session_;
            t.current = 0;
            t.accept = 0;
            if (session_->begun) {
                asio_probe_resume(session_->id);
                if (error != nullptr) asio_probe_event(error, error_value_);
                t.current = session_->id;
            }
            return;
        }
        const bool awaited = (id_ & asio_awaited_bit) != 0;
        // Resumed for the error's annotation to land in it (an awaited
        // operation that completes cleanly needs no run of its own).
        if (!awaited || error != nullptr) asio_probe_resume(id);
        if (error != nullptr) asio_probe_event(error, error_value_);
        if (awaited) {
            // A co_await completes: the operation is over, its coroutine runs.
            asio_probe_end(id, status_);
            flags_ |= ended_flag;
            asio_probe_resume(session_->id);
            t.session = session_;
            t.current = session_->id;
            t.accept = 0;
            return;
        }
        t.session = session_;
        t.current = id;
        t.accept = (id_ & asio_accept_bit) != 0 ? id : 0;
    }

    void restore() noexcept {
        asio_thread_state& t = asio_thread;
        if (t.accepted != nullptr) asio_session_release(t.accepted);  // the connection this accept started
        t.session = saved_session_;
        t.current = saved_current_;
        t.accept = saved_accept_;
        t.accepted = saved_accepted_;
    }

    std::uint64_t id_ = 0;  // the handler's id, with flags
    asio_session* session_ = nullptr;
    asio_session* saved_session_ = nullptr;  // saved_*: set by begin()
    std::uint64_t saved_current_ = 0;
    std::uint64_t saved_accept_ = 0;
    asio_session* saved_accepted_ = nullptr;
    std::int64_t error_value_ = 0;
    int exceptions_ = 0;  // std::uncaught_exceptions() when invoked
    int status_ = COTRACE_STATUS_OK;
    std::uint8_t flags_ = 0;
};

// Lives on the stack of the function that completes a handler (an
// operation's do_complete), from before the handler's invocation to the
// function's end. Detached, it copies the handler's one word (its id, 0),
// tests it ORed with the resume semaphore (one branch: a handler created
// while nobody was attached may run after a tracer came), and holds a null
// pointer that its invocation and its destruction test: that pointer (kept
// on the stack of a function as large as do_complete) is all it stores.
class asio_completion {
public:
    explicit asio_completion(const asio_tracked_handler& h) noexcept {
        if ((h.cotrace_id_ | COTRACE_DETAIL_ASIO_RESUME_RAISED) != 0) [[unlikely]]
            state_ = asio_completion_state::start(h);
    }
    ~asio_completion() {
        if (state_ != nullptr) [[unlikely]]
            asio_completion_state::finish(state_);
    }
    asio_completion(const asio_completion&) = delete;
    asio_completion& operator=(const asio_completion&) = delete;

    template <class... Args>
    void invocation_begin(const Args&... args) noexcept {
        if (state_ != nullptr) [[unlikely]]
            state_->invocation_begin(args...);
    }
    // Nothing: the destructor, which follows it in every Asio completion,
    // ends the span (and tells a handler that threw from one that returned).
    void invocation_end() noexcept {}

private:
    asio_completion_state* state_ = nullptr;
};

// An operation on an I/O object that is not a handler (close, cancel,
// release, shutdown): a point event in the current span, named
// "<object>.<operation>". Its value is 0: what Asio passes there is the
// object's native handle, a descriptor, not a measure of anything.
[[gnu::noinline, gnu::cold]] inline void asio_operation_event(const char* name) noexcept {
    asio_probe_event(name, 0);
}

inline void asio_operation(const char* name) noexcept {
    if (COTRACE_DETAIL_ACTIVE(event)) asio_operation_event(name);
}

#endif  // COTRACE_ENABLED

}  // namespace cotrace::detail
