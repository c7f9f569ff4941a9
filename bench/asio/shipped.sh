#!/usr/bin/env bash
# bench/asio/shipped.sh BIN_DIR OUT_DIR: throughput of Asio's own shipped
# examples (libasio-doc, built by tests/e2e_asio) in three variants, side by
# side: built without the flag (untraced), with the flag and no tracer
# (detached), and with the flag under `cotrace attach` (attached, stats
# output to /dev/null).
#
#   http: cpp11/http/server, driven by asio_http_load (C clients, one
#         connection per request, a small file)
#   echo: cpp17/coroutines_ts/echo_server (port 55555, as shipped), driven by
#         asio_echo_client (C connections x M echoes)
#
# Each round starts every variant's server afresh, one at a time (the echo
# server's port is fixed), in an order that rotates, warms it up, measures,
# stops it. Servers on CPU 0, load on the last CPU. Prints per-round figures
# and one line per example:
#   asio_shipped EXAMPLE rounds R untraced U detached D attached A
#     detached_ratio X attached_ratio Y
# (medians of per-second rates; ratio = untraced rate / variant rate, the
# median over rounds of the per-round ratio). Raw: OUT_DIR/asio_shipped.tsv.
#
# Knobs: BENCH_ASIO_ROUNDS=15 BENCH_ASIO_CONNECTIONS=8
#   BENCH_ASIO_MESSAGES=2000 (echo, per connection) BENCH_ASIO_REQUESTS=500 (http, per client)
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
ROUNDS=${BENCH_ASIO_ROUNDS:-15}
CONNECTIONS=${BENCH_ASIO_CONNECTIONS:-8}
MESSAGES=${BENCH_ASIO_MESSAGES:-2000}
REQUESTS=${BENCH_ASIO_REQUESTS:-500}
asio_bench_need cotrace asio_shipped_http_server asio_shipped_http_server_untraced asio_shipped_echo_server asio_shipped_echo_server_untraced asio_http_load asio_echo_client

client_cpu=$(($(nproc) - 1))
shipped_docroot
server="" tracer=""
cleanup() {
    # SIGTERM: a background job of a script ignores SIGINT.
    [ -n "$tracer" ] && kill -TERM "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    server="" tracer=""
}
trap 'cleanup; rm -rf "$docroot"' EXIT

# start EXAMPLE VARIANT: sets $server (and $tracer when attached) and $port.
start() {
    local example=$1 variant=$2 bin i
    bin=$BIN/asio_shipped_${example}_server
    [ "$variant" = untraced ] && bin=${bin}_untraced
    shipped_start "$example" "$bin" "$OUT/asio_shipped_server.out"
    if [ "$variant" = attached ]; then
        pin "$client_cpu" "$BIN/cotrace" -v attach -p "$server" -f stats -o /dev/null 2>"$OUT/asio_shipped_cotrace.err" &
        tracer=$!
        for i in $(seq 1 2000); do grep -q 'attached .* probe links' "$OUT/asio_shipped_cotrace.err" && break; sleep 0.005; done
        grep -q 'attached .* probe links' "$OUT/asio_shipped_cotrace.err" ||
            { echo "shipped.sh: cotrace did not attach: $(cat "$OUT/asio_shipped_cotrace.err")" >&2; exit 1; }
    fi
}


TSV=$OUT/asio_shipped.tsv
printf 'example\tround\tuntraced\tdetached\tattached\n' >"$TSV"
orders=("untraced detached attached" "detached attached untraced" "attached untraced detached")
for example in http echo; do
    count=$MESSAGES
    [ "$example" = http ] && count=$REQUESTS
    for r in $(seq 1 "$ROUNDS"); do
        declare -A got=()
        for v in ${orders[$(((r - 1) % 3))]}; do
            start "$example" "$v"
            shipped_load "$example" $((count / 10 + 1)) >/dev/null  # warm-up
            got[$v]=$(shipped_load "$example" "$count")
            cleanup
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$example" "$r" "${got[untraced]}" "${got[detached]}" "${got[attached]}" >>"$TSV"
        printf '%s round %2d: untraced %10.1f  detached %10.1f  attached %10.1f per s\n' \
            "$example" "$r" "${got[untraced]}" "${got[detached]}" "${got[attached]}"
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for example in http echo; do
    rows() { awk -v e="$example" -F'\t' '$1 == e' "$TSV"; }
    printf 'asio_shipped %s rounds %s untraced %.1f detached %.1f attached %.1f detached_ratio %.4f attached_ratio %.4f\n' \
        "$example" "$ROUNDS" "$(rows | cut -f3 | median)" "$(rows | cut -f4 | median)" "$(rows | cut -f5 | median)" \
        "$(rows | awk -F'\t' '{ printf "%.6f\n", $3 / $4 }' | median)" \
        "$(rows | awk -F'\t' '{ printf "%.6f\n", $3 / $5 }' | median)"
done
