#pragma once
// Tracing an unmodified Asio application: build it with
//
//   -DASIO_CUSTOM_HANDLER_TRACKING='"cotrace/asio_tracking.hpp"'         standalone Asio
//   -DBOOST_ASIO_CUSTOM_HANDLER_TRACKING='"cotrace/asio_tracking.hpp"'   Boost.Asio
//
// and cotrace's include directory on the include path; nothing else changes.
// Define it for the whole program (every translation unit that includes
// Asio): like Asio's own handler tracking, it adds a field to Asio's
// operations, so mixing translation units with and without it breaks the ODR.
// Asio then includes this header and calls its handler-tracking hooks, which
// become cotrace probes (nops until `cotrace attach` raises them).
//
// What a trace is (the trace-boundary rule):
//   - A co_spawned coroutine is a session: one span for the coroutine's whole
//     life, named by the function Asio reports for it (the function of the
//     handler location of its first co_await: with use_awaitable_t's source
//     location, or the location a program passes, e.g. Asio's examples'
//     `use_awaitable_t(__FILE__, __LINE__, __PRETTY_FUNCTION__)`; else
//     "co_spawn"). Its co_awaited operations are its children, a flat
//     sequence in order, each lasting from the co_await to its completion,
//     with that co_await's file:line as its site. It ends when the last
//     operation it started has completed and its coroutine has returned.
//     Each co_spawn roots a new trace, linked (a wake link, not a parent)
//     from the span that spawned it: from a handler, from a coroutine, from
//     a listener's accept.
//   - The listener is no endless trace: every accept (`socket.async_accept`)
//     is a trace of its own, one span from the accept's start to the end of
//     its handler, linked from the accept before it. A coroutine that accepts
//     is a listener: it has no span from its first accept on.
//   - What an accept's handler starts is the accepted connection: a session
//     span `asio.connection` rooting a new trace linked from that accept,
//     with every handler of the connection as its child (a flat sequence in
//     order; a handler-style server's read/write chain does not nest one
//     level per operation). It ends when the connection's last handler does.
//     (A co_spawn from that handler is a coroutine session instead.)
//   - Any other handler is a child of the handler whose invocation created
//     it, or of the span current on the thread, or roots a new trace when
//     there is none (work posted from plain code, a signal wait).
//   - Sampling (--sample N) decides per trace root, so per accept and per
//     session: a sampled-out connection emits no event at all, and a kept
//     one is whole.
//
// Each hook:
//   ASIO_HANDLER_CREATION      a span begins, async_begin(id, parent, name):
//                              name "<object>.<operation>" as Asio passes them
//                              ("socket.async_receive", "io_context.post", ...),
//                              joined at compile time into one string literal;
//                              parent as above. A coroutine's co_await also
//                              suspends the coroutine's span there
//                              (suspend(session, site, 0), just before).
//   ASIO_HANDLER_COMPLETION    an object on the stack of the completing function:
//   ..._INVOCATION_BEGIN       resume(id): the handler runs on this thread; for
//                              a co_await, end(id) and resume(coroutine). An
//                              error code argument that is set adds
//                              event("<category>: <message>", value) to the
//                              operation (e.g. "asio.system: Connection reset
//                              by peer" = 104) and decides its status: error,
//                              but ok for end of file ("asio.misc: End of file"
//                              = 2) and cancelled for operation_aborted.
//   ..._INVOCATION_END         nothing: the completion's end, just after it,
//                              is end(id, status) of a handler, exception if
//                              the handler threw, cancelled if it was never
//                              invoked (shutdown, a destroyed queue).
//   ASIO_HANDLER_LOCATION      remembered while open: the site and name of the
//                              co_await it belongs to; co_spawn's entry point
//                              ("co_spawn_entry_point") starts a session. A
//                              location whose function is a string literal
//                              (a composed operation's step: "async_write")
//                              is compiled to nothing: the co_await around
//                              it has its own.
//   ASIO_HANDLER_OPERATION     event("<object>.<operation>", 0) in the current
//                              span (socket.close, socket.cancel, ...): the
//                              native handle Asio passes is not a value.
//   ASIO_HANDLER_REACTOR_*     nothing (see below).
//
// Why these choices:
// - Ids: a process-wide counter with bit 62 set (never a coroutine frame
//   address), taken only while a tracer is attached; a handler created while
//   detached has id 0 and emits nothing. One that runs after a tracer attached
//   gets an id then and shows as a partial span: work in flight at attach time
//   is marked as such rather than passed off as complete traces (a session
//   already running then is a chain under that partial span).
// - A coroutine's span begins at its first operation, not at co_spawn: only
//   there does Asio name it. co_spawn itself cannot be told from the handler
//   type at creation: called on a thread that runs the executor (the usual
//   case: an acceptor spawning a session), co_spawn's first step
//   `co_await dispatch(...)` runs inline and creates no handler at all;
//   called from elsewhere, any_io_executor erases the handler's type. The
//   location Asio names "co_spawn_entry_point" is present in both cases.
// - Sites and error texts are pointers, as the protocol wants: each distinct
//   (file, line, function) and (category, value) is copied once into a table
//   in the process that is never freed, so the collector reads it once.
// - Reactor hooks (registration, events, non-blocking attempts) run in the
//   reactor, outside any handler, or inside the handler that started an
//   operation speculatively: the protocol's event has no span argument, so they
//   would land in the wrong span; the completion reports what they lead to.
//
// Every operation name is a string literal in the traced binary: the
// collector reads it from there, never per event. Asio passes string
// literals for the object and operation names of every creation (checked:
// Asio 1.22, and Boost 1.74's Asio 1.18); a call with anything else does not
// compile (the literals are concatenated).
//
// With -DCOTRACE_ENABLED=0 every hook is empty again (Asio still compiles its
// handler-tracking variant: use_awaitable_t keeps a source location).

#include "detail/asio_hooks.hpp"

#if COTRACE_ENABLED

#define COTRACE_DETAIL_ASIO_INHERIT : public ::cotrace::detail::asio_tracked_handler
#define COTRACE_DETAIL_ASIO_ALSO_INHERIT , public ::cotrace::detail::asio_tracked_handler
#define COTRACE_DETAIL_ASIO_LOCATION(args) COTRACE_DETAIL_ASIO_LOCATION_ args
#define COTRACE_DETAIL_ASIO_LOCATION_(file, line, function)                                    \
    typename ::cotrace::detail::asio_location_for<decltype((function))>::type cotrace_asio_location( \
        file, line, function)
#define COTRACE_DETAIL_ASIO_CREATION(args) COTRACE_DETAIL_ASIO_CREATION_ args
#define COTRACE_DETAIL_ASIO_CREATION_(context, handler, object_type, object, native_handle, op_name) \
    ::cotrace::detail::asio_creation(handler, object_type "." op_name)
#define COTRACE_DETAIL_ASIO_COMPLETION(args) ::cotrace::detail::asio_completion cotrace_asio_completion args
#define COTRACE_DETAIL_ASIO_INVOCATION_BEGIN(args) cotrace_asio_completion.invocation_begin args
#define COTRACE_DETAIL_ASIO_INVOCATION_END cotrace_asio_completion.invocation_end()
#define COTRACE_DETAIL_ASIO_OPERATION(args) COTRACE_DETAIL_ASIO_OPERATION_ args
#define COTRACE_DETAIL_ASIO_OPERATION_(context, object_type, object, native_handle, op_name) \
    ::cotrace::detail::asio_operation(object_type "." op_name)

#else  // !COTRACE_ENABLED: what Asio defines without handler tracking

#define COTRACE_DETAIL_ASIO_INHERIT
#define COTRACE_DETAIL_ASIO_ALSO_INHERIT
#define COTRACE_DETAIL_ASIO_LOCATION(args) (void)0
#define COTRACE_DETAIL_ASIO_CREATION(args) (void)0
#define COTRACE_DETAIL_ASIO_COMPLETION(args) (void)0
#define COTRACE_DETAIL_ASIO_INVOCATION_BEGIN(args) (void)0
#define COTRACE_DETAIL_ASIO_INVOCATION_END (void)0
#define COTRACE_DETAIL_ASIO_OPERATION(args) (void)0

#endif  // COTRACE_ENABLED

// Standalone Asio (ASIO_CUSTOM_HANDLER_TRACKING).
#define ASIO_INHERIT_TRACKED_HANDLER COTRACE_DETAIL_ASIO_INHERIT
#define ASIO_ALSO_INHERIT_TRACKED_HANDLER COTRACE_DETAIL_ASIO_ALSO_INHERIT
#define ASIO_HANDLER_TRACKING_INIT (void)0
#define ASIO_HANDLER_LOCATION(args) COTRACE_DETAIL_ASIO_LOCATION(args)
#define ASIO_HANDLER_CREATION(args) COTRACE_DETAIL_ASIO_CREATION(args)
#define ASIO_HANDLER_COMPLETION(args) COTRACE_DETAIL_ASIO_COMPLETION(args)
#define ASIO_HANDLER_INVOCATION_BEGIN(args) COTRACE_DETAIL_ASIO_INVOCATION_BEGIN(args)
#define ASIO_HANDLER_INVOCATION_END COTRACE_DETAIL_ASIO_INVOCATION_END
#define ASIO_HANDLER_OPERATION(args) COTRACE_DETAIL_ASIO_OPERATION(args)
#define ASIO_HANDLER_REACTOR_REGISTRATION(args) (void)0
#define ASIO_HANDLER_REACTOR_DEREGISTRATION(args) (void)0
#define ASIO_HANDLER_REACTOR_READ_EVENT 0
#define ASIO_HANDLER_REACTOR_WRITE_EVENT 0
#define ASIO_HANDLER_REACTOR_ERROR_EVENT 0
#define ASIO_HANDLER_REACTOR_EVENTS(args) (void)0
#define ASIO_HANDLER_REACTOR_OPERATION(args) (void)0

// Boost.Asio (BOOST_ASIO_CUSTOM_HANDLER_TRACKING): the same hooks, prefixed.
#define BOOST_ASIO_INHERIT_TRACKED_HANDLER COTRACE_DETAIL_ASIO_INHERIT
#define BOOST_ASIO_ALSO_INHERIT_TRACKED_HANDLER COTRACE_DETAIL_ASIO_ALSO_INHERIT
#define BOOST_ASIO_HANDLER_TRACKING_INIT (void)0
#define BOOST_ASIO_HANDLER_LOCATION(args) COTRACE_DETAIL_ASIO_LOCATION(args)
#define BOOST_ASIO_HANDLER_CREATION(args) COTRACE_DETAIL_ASIO_CREATION(args)
#define BOOST_ASIO_HANDLER_COMPLETION(args) COTRACE_DETAIL_ASIO_COMPLETION(args)
#define BOOST_ASIO_HANDLER_INVOCATION_BEGIN(args) COTRACE_DETAIL_ASIO_INVOCATION_BEGIN(args)
#define BOOST_ASIO_HANDLER_INVOCATION_END COTRACE_DETAIL_ASIO_INVOCATION_END
#define BOOST_ASIO_HANDLER_OPERATION(args) COTRACE_DETAIL_ASIO_OPERATION(args)
#define BOOST_ASIO_HANDLER_REACTOR_REGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_DEREGISTRATION(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_READ_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_WRITE_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_ERROR_EVENT 0
#define BOOST_ASIO_HANDLER_REACTOR_EVENTS(args) (void)0
#define BOOST_ASIO_HANDLER_REACTOR_OPERATION(args) (void)0
