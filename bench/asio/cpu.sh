#!/usr/bin/env bash
# bench/asio/cpu.sh BIN_DIR OUT_DIR: the detached cost of the Asio
# integration as the server's own work per request, not as throughput.
#
# Throughput on a shared 2-core VM moves by tens of percent with the other
# load on the machine; what the server process itself executes for a fixed
# load does not depend on how long it waited for the CPU. So each round
# serves a fixed load (C clients x N requests, or C connections x N echoes)
# and `perf stat -p` counts the server's work while it does: instructions,
# user and kernel (instructions:u, instructions:k) where the CPU exposes a
# PMU, else its CPU time (task-clock, user + kernel), which is what a VM
# without a virtual PMU offers. Per request (per echoed message), for:
#
#   untraced   Asio's example built as shipped
#   detached   the same source with -DASIO_CUSTOM_HANDLER_TRACKING=
#              "cotrace/asio_tracking.hpp", no tracer attached
#   control    a second untraced server: the noise floor of the ratio
#
# Fresh servers every round, one at a time, in an order that rotates; server
# on CPU 0, load on the last CPU; a warm-up before counting. Ratios are per
# round (variant / untraced), median over rounds. Prints one line per example:
#   asio_cpu EXAMPLE rounds R event E untraced U detached D control C
#     detached_ratio X control_ratio Y      (U, D, C: E per request, medians)
# Raw: OUT_DIR/asio_cpu.tsv.
#
# Knobs: BENCH_ASIO_CPU_ROUNDS=21 BENCH_ASIO_CPU_CONNECTIONS=4
#   BENCH_ASIO_CPU_MESSAGES=20000 (echo, per connection)
#   BENCH_ASIO_CPU_REQUESTS=1500 (http, per client)
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
ROUNDS=${BENCH_ASIO_CPU_ROUNDS:-21}
CONNECTIONS=${BENCH_ASIO_CPU_CONNECTIONS:-4}
MESSAGES=${BENCH_ASIO_CPU_MESSAGES:-20000}
REQUESTS=${BENCH_ASIO_CPU_REQUESTS:-1500}
command -v perf >/dev/null || { echo "cpu.sh: perf not installed (Debian: linux-perf)" >&2; exit 1; }
asio_bench_need asio_shipped_http_server asio_shipped_http_server_untraced asio_shipped_echo_server asio_shipped_echo_server_untraced asio_http_load asio_echo_client

# Instructions when the PMU counts them, else CPU time.
if perf stat -x, -e instructions:u true 2>&1 >/dev/null | grep -q '^[0-9]'; then
    EVENTS=instructions:u,instructions:k
    UNIT=instructions
else
    EVENTS=task-clock
    UNIT=cpu_ns
fi

client_cpu=$(($(nproc) - 1))
shipped_docroot
server="" counter=""
cleanup() {
    [ -n "$counter" ] && kill -INT "$counter" 2>/dev/null && wait "$counter" 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    server="" counter=""
}
trap 'cleanup; rm -rf "$docroot"' EXIT

# start EXAMPLE VARIANT: sets $server and $port.
start() {
    local example=$1 variant=$2 bin i
    bin=$BIN/asio_shipped_${example}_server
    [ "$variant" = detached ] || bin=${bin}_untraced
    shipped_start "$example" "$bin" "$OUT/asio_cpu_server.out"
}


# measure EXAMPLE COUNT: the server's events per request over one load.
measure() {
    local out=$OUT/asio_cpu_perf.csv i
    rm -f "$out"
    perf stat -x, -e "$EVENTS" -p "$server" -o "$out" &
    counter=$!
    for i in $(seq 1 200); do [ -s "$out" ] && break; sleep 0.005; done  # perf writes its header when counting starts
    shipped_load "$1" "$2" >/dev/null
    kill -INT "$counter"
    wait "$counter" 2>/dev/null || true
    counter=""
    # task-clock is in ms (fractional): to ns; instructions: user + kernel.
    awk -F, -v n=$((CONNECTIONS * $2)) '
        $3 == "task-clock" || $3 ~ /^task-clock/ { t += $1 * 1e6 }
        $3 ~ /^instructions/ { t += $1 }
        END { if (t > 0) printf "%.1f\n", t / n }' "$out"
}

TSV=$OUT/asio_cpu.tsv
printf 'example\tround\tunit\tuntraced\tdetached\tcontrol\n' >"$TSV"
orders=("untraced detached control" "detached control untraced" "control untraced detached")
for example in http echo; do
    count=$MESSAGES
    [ "$example" = http ] && count=$REQUESTS
    for r in $(seq 1 "$ROUNDS"); do
        declare -A got=()
        for v in ${orders[$(((r - 1) % 3))]}; do
            start "$example" "$v"
            shipped_load "$example" $((count / 10 + 1)) >/dev/null  # warm-up: caches, the page cache, the allocator
            got[$v]=$(measure "$example" "$count")
            [ -n "${got[$v]}" ] || { echo "cpu.sh: perf counted nothing for $example $v ($OUT/asio_cpu_perf.csv)" >&2; exit 1; }
            cleanup
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$example" "$r" "$UNIT" "${got[untraced]}" "${got[detached]}" "${got[control]}" >>"$TSV"
        printf '%s round %2d: %s per request: untraced %10.1f  detached %10.1f  control %10.1f\n' \
            "$example" "$r" "$UNIT" "${got[untraced]}" "${got[detached]}" "${got[control]}"
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for example in http echo; do
    rows() { awk -v e="$example" -F'\t' '$1 == e' "$TSV"; }
    printf 'asio_cpu %s rounds %s event %s untraced %.1f detached %.1f control %.1f detached_ratio %.4f control_ratio %.4f\n' \
        "$example" "$ROUNDS" "$UNIT" "$(rows | cut -f4 | median)" "$(rows | cut -f5 | median)" "$(rows | cut -f6 | median)" \
        "$(rows | awk -F'\t' '{ printf "%.6f\n", $5 / $4 }' | median)" \
        "$(rows | awk -F'\t' '{ printf "%.6f\n", $6 / $4 }' | median)"
done
