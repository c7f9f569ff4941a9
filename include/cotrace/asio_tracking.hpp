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
// become cotrace probes (nops until `cotrace attach` raises them):
//
//   ASIO_HANDLER_CREATION      every tracked handler (an asynchronous operation,
//                              or work posted/dispatched/deferred to an executor)
//                              is a span begun with async_begin(id, 0, name): a
//                              child of the span current on this thread, i.e. of
//                              the handler whose invocation created it. name is
//                              "<object>.<operation>" as Asio passes them
//                              ("socket.async_receive", "io_context.post", ...),
//                              joined at compile time into one string literal.
//   ASIO_HANDLER_COMPLETION    an object on the stack of the completing function:
//   ..._INVOCATION_BEGIN       resume(id): the span runs on this thread; an error
//                              code argument that is set adds event(<category>,
//                              <value>) to it ("asio.misc" 2: end of file).
//   ..._INVOCATION_END         end(id, ok), or cancelled for operation_aborted.
//                              A completion destroyed before that ends the span
//                              with exception (the handler threw) or cancelled
//                              (never invoked: shutdown, destroyed queue).
//   ASIO_HANDLER_LOCATION      co_spawn: the location co_spawn's entry point
//                              declares around its first step roots a new trace
//                              (async_begin(root, NONE, "co_spawn")), so each
//                              spawned coroutine (a session, a request) is one
//                              tree: its operations, and what they cause, nest
//                              under that root. Other locations: nothing.
//                              (So `co_await co_spawn(ex, f(), use_awaitable)`
//                              starts a trace too; `co_await f()` stays in it.)
//   ASIO_HANDLER_OPERATION     event("<object>.<operation>", native handle) in
//                              the current span (socket.close, socket.cancel, ...).
//   ASIO_HANDLER_REACTOR_*     nothing (see below).
//
// Why these choices:
// - Ids: a process-wide counter with bit 62 set (never a coroutine frame
//   address), taken only while a tracer is attached; a handler created while
//   detached has id 0 and emits nothing. One that runs after a tracer attached
//   gets an id then and shows as a partial span: work in flight at attach time
//   is marked as such rather than passed off as complete traces.
// - co_spawn cannot be told from the handler type at creation: called on a
//   thread that runs the executor (the usual case: an acceptor spawning a
//   session), co_spawn's first step `co_await dispatch(...)` runs inline and
//   creates no handler at all; called from elsewhere, any_io_executor erases
//   the handler's type (executor_op<executor_function>), and the handler
//   type, awaitable_handler<Executor>, is the one any `co_await post(...)` has.
//   The location Asio names "co_spawn_entry_point" is present in both cases.
// - Reactor hooks (registration, events, non-blocking attempts) run in the
//   reactor, outside any handler, or inside the handler that started an
//   operation speculatively: the protocol's event has no span argument, so they
//   would land in the wrong span; the completion reports what they lead to.
//
// Every name a span or event gets is a string literal in the traced binary:
// the collector reads it from there, never per event. Asio passes string
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
#define COTRACE_DETAIL_ASIO_LOCATION(args) ::cotrace::detail::asio_location cotrace_asio_location args
#define COTRACE_DETAIL_ASIO_CREATION(args) COTRACE_DETAIL_ASIO_CREATION_ args
#define COTRACE_DETAIL_ASIO_CREATION_(context, handler, object_type, object, native_handle, op_name) \
    ::cotrace::detail::asio_creation(handler, object_type "." op_name)
#define COTRACE_DETAIL_ASIO_COMPLETION(args) ::cotrace::detail::asio_completion cotrace_asio_completion args
#define COTRACE_DETAIL_ASIO_INVOCATION_BEGIN(args) cotrace_asio_completion.invocation_begin args
#define COTRACE_DETAIL_ASIO_INVOCATION_END cotrace_asio_completion.invocation_end()
#define COTRACE_DETAIL_ASIO_OPERATION(args) COTRACE_DETAIL_ASIO_OPERATION_ args
#define COTRACE_DETAIL_ASIO_OPERATION_(context, object_type, object, native_handle, op_name) \
    ::cotrace::detail::asio_operation(object_type "." op_name, native_handle)

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
