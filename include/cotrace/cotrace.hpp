#pragma once
// cotrace: coroutines whose every boundary is a USDT probe (a nop until the
// `cotrace` command attaches). Build with -DCOTRACE_ENABLED=0 to remove every
// probe and every extra field.
//
//   task<T>            lazy coroutine result; each one is a traced span
//   sync_wait(t)       run a task from plain code
//   when_all(t...)     concurrent children of the awaiting span
//   thread_pool, spawn hop threads; detached children
//   current_context, context_scope   carry a trace across callbacks
//   COTRACE_SCOPE, annotate          spans and events in plain code
//   traced_promise     mixin for tracing another task type
//   adapter::          the probes as functions, for other coroutine libraries

#include "adapter.hpp"
#include "context.hpp"
#include "scope.hpp"
#include "sync_wait.hpp"
#include "task.hpp"
#include "thread_pool.hpp"
#include "traced_promise.hpp"
#include "when_all.hpp"
