// Loads a `cotrace --format chrome` file into Chrome DevTools' own trace
// engine (@paulirish/trace_engine: the performance panel's parser) and checks
// what a user would see there:
// - every complete slice ("X") is placed in its thread's tree (the engine
//   silently drops slices that straddle one another);
// - every coroutine span is on a "requests" track with its name, nested under
//   its parent's slice whenever the two share a track and it lies within its
//   parent's time, and some are nested;
// - every flow arrow is bound at both ends, and some cross threads.
// Prints one line of figures; exits 1 with a reason on the first failure.
//
//   node check_trace_engine.mjs FILE [--min-cross-thread-flows N] [--no-nesting]
//
// --no-nesting: the workload's children all outlive their parents (an Asio
// session's chain of operations), so none can be drawn inside its parent.

import fs from 'node:fs';
import * as Trace from '@paulirish/trace_engine';
import {polyfillDOMRect} from '@paulirish/trace_engine/analyze-trace.mjs';

const file = process.argv[2];
const minCross = Number(process.argv[process.argv.indexOf('--min-cross-thread-flows') + 1] ?? 1) || 1;
if (!file) {
  console.error('check_trace_engine: give a --format chrome file');
  process.exit(2);
}
function fail(why) {
  console.error(`check_trace_engine: ${file}: ${why}`);
  process.exit(1);
}

const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const input = doc.traceEvents;
if (!Array.isArray(input) || input.length === 0) fail('no traceEvents');
// The engine takes the events it is given as its own: keep an untouched copy.
const original = structuredClone(input);

polyfillDOMRect();
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(input);
const parsed = model.parsedTrace();
const renderer = parsed.Renderer ?? parsed.data?.Renderer;
const flowsData = parsed.Flows ?? parsed.data?.Flows;
if (!renderer || !flowsData) fail('the engine gave no Renderer or Flows data');

// Placed slices, by (pid, tid, ts, dur, name, cat).
const key = e => `${e.pid}/${e.tid}/${e.ts}/${e.dur}/${e.cat}/${e.name}`;
const placed = new Map();
for (const [entry, node] of renderer.entryToNode) {
  if (entry.ph === 'X') placed.set(key(entry), node);
}
const slices = original.filter(e => e.ph === 'X');
const dropped = slices.filter(e => !placed.has(key(e)));
if (dropped.length) fail(`${dropped.length} of ${slices.length} slices dropped, e.g. ${JSON.stringify(dropped[0])}`);

// Thread names as the engine shows them.
const threadName = new Map();
for (const [pid, proc] of renderer.processes)
  for (const [tid, thread] of proc.threads) threadName.set(`${pid}/${tid}`, thread.name);

// Spans: named, on request tracks, nested under their parent when on its track.
const spans = slices.filter(e => e.cat === 'span');
if (spans.length === 0) fail('no coroutine span slices');
const spanById = new Map(spans.map(s => [`${s.pid}/${s.args.trace_id}/${s.args.span_id}`, s]));
let nested = 0;
for (const s of spans) {
  if (!s.name) fail(`a span without a name: ${JSON.stringify(s)}`);
  const track = threadName.get(`${s.pid}/${s.tid}`) ?? '';
  if (!track.startsWith('requests')) fail(`span ${s.name} is on track "${track}", not a requests track`);
  if (s.args.parent_id === null) continue;
  const parent = spanById.get(`${s.pid}/${s.args.trace_id}/${s.args.parent_id}`);
  if (!parent || parent.tid !== s.tid) continue;
  // A child that outlives its parent (an Asio operation begun by a handler)
  // cannot be inside it; it is nested under an older ancestor, or a root.
  if (s.ts < parent.ts || s.ts + s.dur > parent.ts + parent.dur) continue;
  const parentNode = placed.get(key(parent));
  let up = placed.get(key(s)).parent;
  while (up && up !== parentNode) up = up.parent;
  if (!up) fail(`span ${s.name} (${s.args.span_id}) shares its parent's track but is not nested under it`);
  ++nested;
}
if (nested === 0 && !process.argv.includes('--no-nesting')) fail('no span is nested under its parent');

// Flows: every arrow bound at both ends; some go from one thread to another.
const flowStarts = original.filter(e => e.ph === 's').length;
const flows = flowsData.flows;
if (flows.length !== flowStarts) fail(`${flowStarts} flows written, ${flows.length} bound to slices`);
const crossThread = flows.filter(f => new Set(f.map(e => e.tid)).size > 1).length;
if (crossThread < minCross) fail(`${crossThread} cross-thread flows, expected at least ${minCross}`);
const resumes = original.filter(e => e.ph === 's' && e.name === 'resume').length;

console.log(`trace_engine: ${slices.length} slices placed (0 dropped), ${spans.length} spans, ` +
            `${nested} nested under their parent, ${flows.length} flows bound, ${crossThread} across threads, ` +
            `${resumes} resume arrows`);
