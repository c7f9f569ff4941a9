#!/usr/bin/env bash
# bench/asio/shipped_instructions.sh BIN_DIR OUT_DIR: the user-space
# instructions per request of Asio's shipped examples (built by
# tests/e2e_asio), counted exactly by callgrind, untraced / detached /
# compiled out (the flag with COTRACE_ENABLED=0 is not built for these: the
# compiled-out figure comes from examples/asio_echo, bench/asio/instructions.sh).
#
#   http: cpp11/http/server, one client, one connection per request
#   echo: cpp17/coroutines_ts/echo_server, one connection
#
# Each server runs under callgrind twice (a fresh one for a load of N1, then
# for N2 requests); the difference of the totals over N2 - N1 is the
# instructions per request, start-up and shutdown cancelled out. Server and
# client share CPU 0, so the client runs only once the server blocks and the
# reactor takes the same path every request (the totals repeat). Also the
# instructions callgrind attributes to cotrace's headers (the hooks).
# Prints one line per example:
#   asio_shipped_instructions EXAMPLE untraced U detached D ratio X hooks H
# Knobs: BENCH_ASIO_SCG_N1=300 BENCH_ASIO_SCG_N2=1500 BENCH_ASIO_SCG_EXAMPLES="http echo"
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
N1=${BENCH_ASIO_SCG_N1:-300}
N2=${BENCH_ASIO_SCG_N2:-1500}
EXAMPLES=${BENCH_ASIO_SCG_EXAMPLES:-http echo}
command -v valgrind >/dev/null || { echo "shipped_instructions.sh: valgrind not installed" >&2; exit 1; }
asio_bench_need asio_shipped_http_server asio_shipped_http_server_untraced asio_shipped_echo_server \
    asio_shipped_echo_server_untraced asio_http_load asio_echo_client
shipped_docroot
trap 'rm -rf "$docroot"' EXIT

# total EXAMPLE BINARY N: instructions the server executed serving N requests
# (and starting, and stopping). Runs in a subshell: its EXIT trap ends the server.
total() {
    local example=$1 bin=$2 n=$3 name port i log
    name=$(basename "$bin").$n
    log=$OUT/asio_scg.$name.log
    server=
    trap '[ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }' EXIT
    if [ "$example" = http ]; then
        port=$(free_port)
        taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/asio_scg.$name.out" \
            "$bin" 127.0.0.1 "$port" "$docroot" >"$log" 2>&1 &
    else
        port=55555  # hard-coded in the example
        taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/asio_scg.$name.out" "$bin" >"$log" 2>&1 &
    fi
    server=$!
    for i in $(seq 1 12000); do  # valgrind starts slowly, more so on a busy machine
        listening "$port" && break
        kill -0 "$server" 2>/dev/null || { echo "shipped_instructions.sh: $bin exited: $(cat "$log")" >&2; exit 1; }
        sleep 0.01
    done
    listening "$port" || { echo "shipped_instructions.sh: $bin does not listen on $port" >&2; exit 1; }
    if [ "$example" = http ]; then
        taskset -c 0 "$BIN/asio_http_load" --port "$port" --clients 1 --requests "$n" >/dev/null
    else
        taskset -c 0 "$BIN/asio_echo_client" --port "$port" --connections 1 --messages "$n" --timeout-s 300 >/dev/null
    fi || { echo "shipped_instructions.sh: the client failed against $bin" >&2; exit 1; }
    kill -TERM "$server"  # both examples stop their io_context on SIGTERM
    wait "$server" || true
    server=
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log"
}

for example in $EXAMPLES; do
    declare -A per=()
    for v in untraced detached; do
        bin=$BIN/asio_shipped_${example}_server
        [ "$v" = untraced ] && bin=${bin}_untraced
        i1=$(total "$example" "$bin" "$N1")
        i2=$(total "$example" "$bin" "$N2")
        [ -n "$i1" ] && [ -n "$i2" ] || { echo "shipped_instructions.sh: callgrind gave no count for $bin" >&2; exit 1; }
        per[$v]=$(awk -v a="$i1" -v b="$i2" -v n=$((N2 - N1)) 'BEGIN { printf "%.1f", (b - a) / n }')
        echo "$example $v: $i1 instructions for $N1 requests, $i2 for $N2: ${per[$v]} per request"
    done
    h1=$(in_cotrace "$OUT/asio_scg.asio_shipped_${example}_server.$N1.out")
    h2=$(in_cotrace "$OUT/asio_scg.asio_shipped_${example}_server.$N2.out")
    printf 'asio_shipped_instructions %s untraced %s detached %s ratio %.4f hooks %.1f\n' "$example" "${per[untraced]}" \
        "${per[detached]}" "$(awk -v d="${per[detached]}" -v u="${per[untraced]}" 'BEGIN { print d / u }')" \
        "$(awk -v a="$h1" -v b="$h2" -v n=$((N2 - N1)) 'BEGIN { print (b - a) / n }')"
    unset per
done
