#!/usr/bin/env bash
# bench/asio/throughput.sh BIN_DIR OUT_DIR: the detached cost of the Asio
# handler-tracking flag on a real server's throughput.
#
# Two builds of examples/asio_echo.cpp run side by side: asio_echo (built with
# -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp", no tracer
# attached) and asio_echo_untraced (no flag), plus a second instance of the
# untraced one as a control. Each round starts the three servers afresh
# (where a process lands in memory moves its speed by a percent or two, the
# same way for the whole life of the process: new processes every round
# average that out), warms each up, then drives them with the same load from
# asio_echo_client (C connections x M request/echo round trips over
# loopback), in an order (of start and of load) that rotates from round to
# round, and records
# messages/s. The servers run one io_context thread each, all pinned to CPU 0
# (only the one under load is busy); the client is pinned to the last CPU.
#
# Prints per-round figures and, last, one line:
#   asio_throughput rounds R connections C messages N traced_median T
#     untraced_median U ratio_median X ratio_best Y control_median Z
# ratio = untraced messages/s / traced messages/s of one round, the untraced
# figure being the mean of the two untraced servers (the traced build's time
# per message relative to the untraced one); ratio_median is the median over
# the rounds, ratio_best compares the best round of each build (first
# untraced server). control = the ratio between the two untraced servers:
# how far from 1 identical builds land on this machine now, the noise floor.
# Raw figures: OUT_DIR/asio_throughput.tsv.
#
# Knobs (environment): BENCH_ASIO_ROUNDS=60 BENCH_ASIO_CONNECTIONS=8
#   BENCH_ASIO_MESSAGES=2000 (per connection and round) BENCH_ASIO_SIZE=64
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
ROUNDS=${BENCH_ASIO_ROUNDS:-60}
CONNECTIONS=${BENCH_ASIO_CONNECTIONS:-8}
MESSAGES=${BENCH_ASIO_MESSAGES:-2000}
SIZE=${BENCH_ASIO_SIZE:-64}
asio_bench_need asio_echo asio_echo_untraced asio_echo_client

last_cpu=$(($(nproc) - 1))
server_cpu=0
client_cpu=$last_cpu
declare -A pid=() port=()
trap 'stop_servers' EXIT

start_server() {  # variant binary
    local v=$1 bin=$2 log=$OUT/asio_server.$1.out i
    rm -f "$log"
    # taskset execs the server: $! is the server itself, which stop_servers ends.
    if command -v taskset >/dev/null; then
        taskset -c "$server_cpu" "$bin" --forever --threads 1 >"$log" 2>&1 &
    else
        "$bin" --forever --threads 1 >"$log" 2>&1 &
    fi
    pid[$v]=$!
    for i in $(seq 1 3000); do
        [ -f "$log" ] && grep -q ' ready$' "$log" && break
        kill -0 "${pid[$v]}" 2>/dev/null || { echo "throughput.sh: $bin exited: $(cat "$log")" >&2; exit 1; }
        sleep 0.01
    done
    port[$v]=$(awk '/ ready$/ { print $5 }' "$log")
    [ -n "${port[$v]}" ] || { echo "throughput.sh: $bin did not print its port" >&2; exit 1; }
}

# One load run against a variant; prints messages/s.
drive() {
    local v=$1 line
    line=$(pin "$client_cpu" "$BIN/asio_echo_client" --port "${port[$v]}" --connections "$CONNECTIONS" \
        --messages "$MESSAGES" --size "$SIZE" --timeout-s 120) ||
        { echo "throughput.sh: the client failed against $v" >&2; exit 1; }
    awk '{ for (i = 1; i < NF; i++) if ($i == "messages_per_s") print $(i + 1) }' <<<"$line"
}

stop_servers() {
    local v
    for v in "${!pid[@]}"; do kill "${pid[$v]}" 2>/dev/null || true; done
    for v in "${!pid[@]}"; do wait "${pid[$v]}" 2>/dev/null || true; done
    pid=()
}

# Fresh servers, started in the order given, each warmed up (page faults, TCP
# paths) by a short load, not counted.
start_servers() {
    local v
    for v in "$@"; do
        case $v in
            traced) start_server traced "$BIN/asio_echo" ;;
            *) start_server "$v" "$BIN/asio_echo_untraced" ;;
        esac
    done
    for v in "$@"; do
        pin "$client_cpu" "$BIN/asio_echo_client" --port "${port[$v]}" --connections "$CONNECTIONS" \
            --messages 200 --size "$SIZE" --timeout-s 60 >/dev/null ||
            { echo "throughput.sh: the warm-up failed against $v" >&2; exit 1; }
    done
}

TSV=$OUT/asio_throughput.tsv
printf 'round\ttraced_msgs_per_s\tuntraced_msgs_per_s\tcontrol_msgs_per_s\tratio\tcontrol_ratio\n' >"$TSV"
orders=("traced untraced control" "untraced control traced" "control traced untraced"
        "traced control untraced" "control untraced traced" "untraced traced control")
for r in $(seq 1 "$ROUNDS"); do
    order=${orders[$(((r - 1) % 6))]}
    start_servers $order
    declare -A got=()
    for v in $order; do got[$v]=$(drive "$v"); done
    stop_servers
    t=${got[traced]} u=${got[untraced]} c=${got[control]}
    ratio=$(awk -v t="$t" -v u="$u" -v c="$c" 'BEGIN { printf "%.4f", (u + c) / 2 / t }')
    cratio=$(awk -v c="$c" -v u="$u" 'BEGIN { printf "%.4f", u / c }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$u" "$c" "$ratio" "$cratio" >>"$TSV"
    printf 'round %2d: traced %10.1f  untraced %10.1f  control %10.1f msgs/s  ratio %s  control %s\n' \
        "$r" "$t" "$u" "$c" "$ratio" "$cratio"
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { tail -n +2 "$TSV" | cut -f"$1"; }
t_best=$(column 2 | sort -g | tail -1)
u_best=$(column 3 | sort -g | tail -1)
printf 'asio_throughput rounds %s connections %s messages %s traced_median %.1f untraced_median %.1f ratio_median %.4f ratio_best %.4f control_median %.4f\n' \
    "$ROUNDS" "$CONNECTIONS" "$((CONNECTIONS * MESSAGES))" "$(column 2 | median)" "$(column 3 | median)" \
    "$(column 5 | median)" "$(awk -v t="$t_best" -v u="$u_best" 'BEGIN { print u / t }')" "$(column 6 | median)"
