// check_otlp.js FILE: decodes every line of FILE (one OTLP/JSON
// ExportTraceServiceRequest per line, or one HTTP body per line) with the
// OpenTelemetry project's generated protobuf code and checks it strictly:
// every field is one the schema knows and survives a protobuf round trip
// unchanged; ids are lowercase hex of the right length, never all zero;
// times are unix-nano strings with start <= end; every parent is a span of
// the same trace. Prints {"requests","spans","traces","roots"} as JSON on
// stdout; exits 1 with one line per problem on stderr.
'use strict';
const fs = require('fs');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const problems = [];
const problem = (where, what) => { if (problems.length < 50) problems.push(`${where}: ${what}`); };

const hexId = (s, digits) => typeof s === 'string' && new RegExp(`^[0-9a-f]{${digits}}$`).test(s) && !/^0+$/.test(s);
const idFields = new Set(['traceId', 'spanId', 'parentSpanId']);
// 64-bit integers are decimal strings in JSON; protobufjs wants Longs.
const longFields = new Set(['intValue', 'startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano']);
const Long = require('protobufjs/minimal').util.Long;

// OTLP/JSON differs from the canonical protobuf JSON mapping in its ids
// (hex, not base64): turn them into bytes before handing the object over.
// A malformed integer string is left as is, for verify() to refuse.
function toProtobufShape(v) {
  if (Array.isArray(v)) return v.map(toProtobufShape);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v))
      out[k] = idFields.has(k) && typeof x === 'string' ? Buffer.from(x, 'hex')
        : longFields.has(k) && typeof x === 'string' && /^-?[0-9]+$/.test(x) ? Long.fromString(x)
        : toProtobufShape(x);
    return out;
  }
  return v;
}

// Every key of `input` must exist in `decoded` (the round-tripped message
// with defaults) and hold the same value.
function sameAs(input, decoded, where) {
  if (Array.isArray(input)) {
    if (!Array.isArray(decoded) || decoded.length !== input.length) return problem(where, 'array changed in the round trip');
    input.forEach((x, i) => sameAs(x, decoded[i], `${where}[${i}]`));
    return;
  }
  if (input && typeof input === 'object') {
    for (const [k, x] of Object.entries(input)) {
      if (!decoded || !(k in decoded)) { problem(`${where}.${k}`, 'not a field of the OTLP schema'); continue; }
      const d = decoded[k];
      if (idFields.has(k)) {
        const back = Buffer.from(d, 'base64').toString('hex');
        if (back !== x) problem(`${where}.${k}`, `id ${x} decoded as ${back}`);
      } else {
        sameAs(x, d, `${where}.${k}`);
      }
    }
    return;
  }
  if (String(input) !== String(decoded)) problem(where, `${JSON.stringify(input)} decoded as ${JSON.stringify(decoded)}`);
}

const file = process.argv[2];
if (!file) { console.error('usage: node check_otlp.js FILE'); process.exit(2); }
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');

const spansByTrace = new Map();  // traceId -> Map(spanId -> parentSpanId)
let spans = 0;
let requests = 0;
lines.forEach((line, n) => {
  const where = `line ${n + 1}`;
  let input;
  try { input = JSON.parse(line); } catch (e) { return problem(where, `not JSON: ${e.message}`); }
  requests++;
  const shaped = toProtobufShape(input);
  const err = Request.verify(shaped);
  if (err) return problem(where, `does not verify: ${err}`);
  const message = Request.decode(Request.encode(Request.fromObject(shaped)).finish());
  const decoded = Request.toObject(message, { defaults: true, longs: String, enums: Number, bytes: String, arrays: true });
  sameAs(input, decoded, where);

  for (const rs of input.resourceSpans || []) {
    const attrs = new Map((rs.resource && rs.resource.attributes || []).map((a) => [a.key, a.value]));
    for (const key of ['service.name', 'process.pid', 'host.name'])
      if (!attrs.has(key)) problem(where, `resource has no ${key}`);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        spans++;
        const at = `${where} span ${s.spanId}`;
        if (!hexId(s.traceId, 32)) problem(at, `traceId ${s.traceId} is not 32 lowercase hex digits, not all zero`);
        if (!hexId(s.spanId, 16)) problem(at, `spanId ${s.spanId} is not 16 lowercase hex digits, not all zero`);
        if (s.parentSpanId !== '' && !hexId(s.parentSpanId, 16)) problem(at, `parentSpanId ${s.parentSpanId} is malformed`);
        for (const t of ['startTimeUnixNano', 'endTimeUnixNano'])
          if (typeof s[t] !== 'string' || !/^[1-9][0-9]*$/.test(s[t])) problem(at, `${t} is not a unix-nano string`);
        if (BigInt(s.startTimeUnixNano || 0) > BigInt(s.endTimeUnixNano || 0)) problem(at, 'ends before it starts');
        if (!Number.isInteger(s.kind) || !s.status || !Number.isInteger(s.status.code)) problem(at, 'kind and status.code must be integers');
        if (!spansByTrace.has(s.traceId)) spansByTrace.set(s.traceId, new Map());
        const inTrace = spansByTrace.get(s.traceId);
        if (inTrace.has(s.spanId)) problem(at, 'span exported twice');
        inTrace.set(s.spanId, s.parentSpanId);
      }
    }
  }
});

let roots = 0;
for (const [traceId, inTrace] of spansByTrace)
  for (const [spanId, parent] of inTrace) {
    if (parent === '') roots++;
    else if (!inTrace.has(parent)) problem(`trace ${traceId} span ${spanId}`, `parent ${parent} is not in the trace`);
  }

if (problems.length) {
  for (const p of problems) console.error(`check_otlp: ${p}`);
  process.exit(1);
}
console.log(JSON.stringify({ requests, spans, traces: spansByTrace.size, roots }));
