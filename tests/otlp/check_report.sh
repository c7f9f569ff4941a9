#!/usr/bin/env bash
# check_report.sh COTRACE NODE CHECKER RECORDING: `cotrace report -f otlp` of
# a recording decodes with the OpenTelemetry definitions, and holds exactly
# the spans and traces `-f jsonl` of the same recording reports.
set -euo pipefail
cotrace=$1 node=$2 checker=$3 recording=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cotrace" report "$recording" -f otlp -o "$work/otlp.jsonl" 2>/dev/null
"$cotrace" report "$recording" -f jsonl -o "$work/traces.jsonl" 2>/dev/null
counts=$("$node" "$checker" "$work/otlp.jsonl")
summary=$(grep '"type":"summary"' "$work/traces.jsonl")
want_spans=$(sed -E 's/.*"spans":([0-9]+).*/\1/' <<<"$summary")
want_traces=$(sed -E 's/.*"traces":([0-9]+).*/\1/' <<<"$summary")
got_spans=$(sed -E 's/.*"spans":([0-9]+).*/\1/' <<<"$counts")
got_traces=$(sed -E 's/.*"traces":([0-9]+).*/\1/' <<<"$counts")
if [ "$got_spans" != "$want_spans" ] || [ "$got_traces" != "$want_traces" ]; then
    echo "otlp holds $got_spans spans in $got_traces traces; jsonl $want_spans in $want_traces" >&2
    exit 1
fi
echo "$recording: $got_spans spans in $got_traces traces, as jsonl"
