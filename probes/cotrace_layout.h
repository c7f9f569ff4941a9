/* SPDX-License-Identifier: MIT */
/*
 * The frame layout record: static data a traced binary carries so that
 * `cotrace stacks` can read suspended coroutines out of its memory without
 * a tracer ever having been attached, and without guessing.
 *
 * include/cotrace/detail/task_promise.hpp emits one record per promise type
 * of cotrace::task<T>: a read-only object the compiler and linker keep
 * (used, retain), deduplicated per type, named in the symbol table as
 * `cotrace::detail::frame_layout_record<P>::value` (mangled names begin
 * with COTRACE_LAYOUT_SYMBOL_PREFIX). A symbol, not a named section: GCC
 * drops the section attribute of a template's static member. Emitting it
 * costs no instruction: it is data the program never reads.
 *
 * A GCC coroutine frame begins with its resume and destroy function pointers
 * (the resume pointer is null once the coroutine reached its final suspend),
 * then the promise, then the frame's own coroutine_handle. Where a frame
 * waits is not kept by the library: it costs no instruction at a co_await.
 * A frame is taken
 * for a cotrace::task frame when the word at self_handle_offset holds the
 * frame's own address for one of the records of the object its code is in.
 * All offsets are in bytes; little-endian, as the target writes them.
 */
#ifndef COTRACE_LAYOUT_H
#define COTRACE_LAYOUT_H

#include <stdint.h>

#define COTRACE_LAYOUT_SYMBOL_PREFIX "_ZN7cotrace6detail19frame_layout_record"
#define COTRACE_LAYOUT_MAGIC 0x594c5443u /* "CTLY" */
/* Bumped whenever a field changes meaning. 2: no site in the promise (where
 * a frame waits is read from its resume index and awaiter, see
 * daemon/target/frame_suspend_map.hpp). */
#define COTRACE_LAYOUT_VERSION 2

struct cotrace_frame_layout {
	uint32_t magic;              /* COTRACE_LAYOUT_MAGIC */
	uint32_t version;            /* COTRACE_LAYOUT_VERSION */
	uint32_t size;               /* sizeof(struct cotrace_frame_layout) */
	uint32_t promise_offset;     /* frame start -> the promise */
	uint32_t promise_size;       /* sizeof the promise */
	uint32_t self_handle_offset; /* frame start -> the frame's own handle */
	/* Inside the promise: */
	uint32_t continuation_offset; /* the awaiting frame's address, or 0 */
	uint32_t join_offset; /* a when_all branch: its join state, or 0 */
	/* Inside a join state: the waiting (when_all) frame's address. */
	uint32_t join_waiter_offset;
};

#endif /* COTRACE_LAYOUT_H */
