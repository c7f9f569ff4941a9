#pragma once
// The objects behind the Asio handler-tracking macros that
// cotrace/asio_tracking.hpp defines. Not for direct use: include nothing here
// yourself; name cotrace/asio_tracking.hpp in ASIO_CUSTOM_HANDLER_TRACKING.
//
// What becomes of each hook (the mapping is explained in asio_tracking.hpp):
//
//   tracked handler created     async_begin(id, 0, "<object>.<operation>")
//                               only while a tracer is attached; else id 0
//   co_spawn's entry point      async_begin(root, NONE, "co_spawn") + resume(root)
//     (handler location)        ... end(root) when that location is left
//   invocation begins           resume(id) [+ event(<error category>, <code>) on an error]
//   invocation ends             end(id, ok | cancelled on operation_aborted)
//   completion destroyed        end(id, exception) if the invocation threw,
//     without invocation_end    end(id, cancelled) if it was never invoked
//   operation (close, cancel)   event("<object>.<operation>", native handle)
//
// Detached (no tracer), a creation and a handler location cost one load of
// the async_begin semaphore each, an invocation one load of the resume
// semaphore (for handlers created while nobody was attached) and a few
// compares of an id that is 0; every probe is out of line, behind those tests.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "probe.hpp"

namespace cotrace::detail {

#if COTRACE_ENABLED

// Ids of Asio handlers: never 0, and never a coroutine frame or scope
// address (user-space addresses stay below 2^47), so they cannot collide with
// the spans of cotrace's own coroutines in the same process. Bits 63 and 61
// stay free (asio_completion keeps flags there).
inline constexpr std::uint64_t asio_id_bit = std::uint64_t{1} << 62;
inline std::atomic<std::uint64_t> asio_next_id{1};

inline std::uint64_t asio_new_id() noexcept {
    return asio_id_bit | asio_next_id.fetch_add(1, std::memory_order_relaxed);
}

// Base of every Asio operation (scheduler_operation, channel_operation):
// the id travels with the handler from its creation to its completion.
class asio_tracked_handler {
protected:
    asio_tracked_handler() noexcept = default;
    ~asio_tracked_handler() = default;  // never deleted through this type

public:
    std::uint64_t cotrace_id_ = 0;  // 0: created while no tracer was attached
};

// A handler was created (an asynchronous operation started, or work was
// queued): it becomes a span, a child of the span current on this thread.
// `name` is a string literal in the traced binary ("socket.async_receive").
// Out of line, so every creation shares one probe site.
[[gnu::noinline, gnu::cold]] inline std::uint64_t asio_begin(const char* name) noexcept {
    const std::uint64_t id = asio_new_id();
    COTRACE_DETAIL_PROBE(async_begin, id, 0, name);
    return id;
}

inline void asio_creation(asio_tracked_handler& h, const char* name) noexcept {
    if (COTRACE_DETAIL_ACTIVE(async_begin)) h.cotrace_id_ = asio_begin(name);
}

// Lives on the stack of the function that completes a handler (an
// operation's do_complete): brackets the handler's invocation. One word:
// the id, and two flags in bits no id uses.
class asio_completion {
public:
    explicit asio_completion(const asio_tracked_handler& h) noexcept : state_(h.cotrace_id_) {
        // Created before a tracer attached, run after: the span's beginning
        // was not seen, so it is reported as a partial span (the collector
        // makes it the root of an incomplete trace) instead of letting what
        // it starts look like a complete trace of its own.
        if (state_ == 0 && COTRACE_DETAIL_ACTIVE(resume)) state_ = asio_new_id();
    }
    ~asio_completion() {
        // Still open: the handler threw, or is destroyed without being invoked.
        if (state_ != 0) unfinished(state_);
    }
    asio_completion(const asio_completion&) = delete;
    asio_completion& operator=(const asio_completion&) = delete;

    // Asio passes the arguments the handler is invoked with: an error code
    // first, if any (then bytes transferred, a signal number, ...).
    template <class... Args>
    void invocation_begin(const Args&... args) noexcept {
        if (state_ == 0) return;
        state_ |= invoked_bit;
        resumed(state_ & id_mask);
        if constexpr (sizeof...(Args) > 0) note_error(args...);
    }

    void invocation_end() noexcept {
        if (state_ == 0) return;
        finished(state_);
        state_ = 0;
    }

private:
    static constexpr std::uint64_t invoked_bit = std::uint64_t{1} << 63;
    static constexpr std::uint64_t cancelled_bit = std::uint64_t{1} << 61;  // the operation was aborted
    static constexpr std::uint64_t id_mask = ~(invoked_bit | cancelled_bit);

    template <class Ec, class... Rest>
    void note_error(const Ec& ec, const Rest&...) noexcept {
        if constexpr (requires { ec.value(); ec.category().name(); }) {
            if (ec.value() != 0) [[unlikely]]
                if (error(ec.category().name(), ec.value())) state_ |= cancelled_bit;
        }
    }

    // The probes are out of line (and called only while traced): one probe
    // site each, however many handler types there are.
    [[gnu::noinline, gnu::cold]] static void resumed(std::uint64_t id) noexcept {
        COTRACE_DETAIL_PROBE(resume, id);
    }

    // The error in the span: event(<category name>, <value>), e.g.
    // "asio.misc" 2 for end of file. True for operation_aborted (a cancelled
    // operation): the span then ends as cancelled.
    [[gnu::noinline, gnu::cold]] static bool error(const char* category, int value) noexcept {
        COTRACE_DETAIL_PROBE(event, category, value, 0);
        // operation_aborted: ECANCELED in Asio's system category ("asio.system"
        // standalone, "system" in Boost.Asio, whose category is Boost.System's).
        return value == ECANCELED &&
               (std::strcmp(category, "asio.system") == 0 || std::strcmp(category, "system") == 0);
    }

    [[gnu::noinline, gnu::cold]] static void finished(std::uint64_t state) noexcept {
        const int status = (state & cancelled_bit) != 0 ? COTRACE_STATUS_CANCELLED : COTRACE_STATUS_OK;
        COTRACE_DETAIL_PROBE(end, state & id_mask, status);
    }

    [[gnu::noinline, gnu::cold]] static void unfinished(std::uint64_t state) noexcept {
        const int status = (state & invoked_bit) != 0 ? COTRACE_STATUS_EXCEPTION : COTRACE_STATUS_CANCELLED;
        COTRACE_DETAIL_PROBE(end, state & id_mask, status);
    }

    std::uint64_t state_;  // 0: not traced
};

// A handler location (ASIO_HANDLER_LOCATION): Asio declares one while an
// initiating function runs. The one co_spawn's entry point declares, around
// the first step of the new coroutine (`co_await dispatch(...)`), is where a
// spawned coroutine starts: it roots a new trace, and the handlers created
// while it is open (the coroutine's first operations, run inline when
// co_spawn is called on a thread of the executor) are its children.
class asio_location {
public:
    asio_location(const char* file, int line, const char* function) noexcept {
        (void)file, (void)line;
        if (COTRACE_DETAIL_ACTIVE(async_begin)) enter(function);
    }
    ~asio_location() {
        if (root_ != 0) leave();
    }
    asio_location(const asio_location&) = delete;
    asio_location& operator=(const asio_location&) = delete;

private:
    [[gnu::noinline, gnu::cold]] void enter(const char* function) noexcept {
        if (function == nullptr || std::strcmp(function, "co_spawn_entry_point") != 0) return;
        root_ = asio_new_id();
        COTRACE_DETAIL_PROBE(async_begin, root_, COTRACE_PARENT_NONE, "co_spawn");
        COTRACE_DETAIL_PROBE(resume, root_);
    }
    [[gnu::noinline, gnu::cold]] void leave() noexcept {
        COTRACE_DETAIL_PROBE(end, root_, COTRACE_STATUS_OK);
    }

    std::uint64_t root_ = 0;
};

// An operation on an I/O object that is not a handler (close, cancel,
// release): a point event in the current span; value: the native handle.
[[gnu::noinline, gnu::cold]] inline void asio_operation_event(const char* name, std::uint64_t handle) noexcept {
    COTRACE_DETAIL_PROBE(event, name, handle, 0);
}

inline void asio_operation(const char* name, std::uint64_t handle) noexcept {
    if (COTRACE_DETAIL_ACTIVE(event)) asio_operation_event(name, handle);
}

#endif  // COTRACE_ENABLED

}  // namespace cotrace::detail
