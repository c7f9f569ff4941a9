#!/usr/bin/env bash
# bench/asio/instructions.sh BIN_DIR OUT_DIR: the detached cost of the Asio
# handler-tracking flag in instructions, which a busy machine does not disturb.
#
# Runs each build of examples/asio_echo.cpp (asio_echo: built with
# -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp", no tracer
# attached; asio_echo_untraced: no flag) under callgrind, one io_context
# thread, and drives it twice with asio_echo_client (C connections x M1, then
# a fresh server with C x M2 round trips). The difference of the two totals
# over the difference of the message counts is the server's user-space
# instructions per echoed message, start-up and shutdown cancelled out. One
# connection by default: each message then takes the same path through the
# reactor and the count repeats to a few instructions; with several, how
# readiness events batch changes from run to run.
#
# The path through the reactor depends on timing (a speculative read finds
# the next request already there, or waits in epoll): with the client on
# another CPU it raced the server under valgrind and the totals moved by up
# to 10% between runs. So the server and the client share CPU 0: the client
# runs only once the server blocks, every speculative read waits, and the
# totals repeat to a fraction of an instruction per message. The traced
# build's instructions in cotrace's headers (callgrind attributes inlined
# code to its source file) are reported too, per message: the cost of the
# hooks themselves, the same whatever the path.
#
# Prints one line per variant, then:
#   asio_instructions traced T untraced U ratio X hooks H
# Knobs (environment): BENCH_ASIO_CG_CONNECTIONS=1 BENCH_ASIO_CG_MESSAGES1=1000
#   BENCH_ASIO_CG_MESSAGES2=6000 (per connection)
#   BENCH_ASIO_CG_VARIANTS="asio_echo asio_echo_untraced" (add asio_echo_compiled_out:
#   the flag with COTRACE_ENABLED=0, i.e. what Asio's tracking mode costs by itself)
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
C=${BENCH_ASIO_CG_CONNECTIONS:-1}
M1=${BENCH_ASIO_CG_MESSAGES1:-1000}
M2=${BENCH_ASIO_CG_MESSAGES2:-6000}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not installed" >&2; exit 1; }


# Instructions the server executed while serving C x M round trips (and
# starting, and stopping). Runs in a subshell ($(total ...)): its own EXIT
# trap ends the server whatever happens.
total() {
    local bin=$1 m=$2 log=$OUT/asio_callgrind.$(basename "$1").$2.log i port
    server=  # not local: the EXIT trap reads it (the subshell keeps it to itself)
    trap '[ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }' EXIT
    rm -f "$log"
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/asio_callgrind.$(basename "$bin").$m.out" \
        "$bin" --forever --threads 1 >"$log" 2>&1 &
    server=$!
    for i in $(seq 1 12000); do  # valgrind starts slowly, more so on a busy machine
        [ -f "$log" ] && grep -q ' ready$' "$log" && break
        kill -0 "$server" 2>/dev/null || { echo "instructions.sh: $bin exited: $(cat "$log")" >&2; exit 1; }
        sleep 0.01
    done
    port=$(awk '/ ready$/ { print $5 }' "$log")
    [ -n "$port" ] || { echo "instructions.sh: $bin did not print its port" >&2; exit 1; }
    pin 0 "$BIN/asio_echo_client" --port "$port" --connections "$C" --messages "$m" --timeout-s 300 >/dev/null ||
        { echo "instructions.sh: the client failed against $bin" >&2; exit 1; }
    kill -TERM "$server"
    wait "$server" || true
    server=
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log"
}

declare -A per=()
for v in ${BENCH_ASIO_CG_VARIANTS:-asio_echo asio_echo_untraced}; do
    i1=$(total "$BIN/$v" "$M1")
    i2=$(total "$BIN/$v" "$M2")
    [ -n "$i1" ] && [ -n "$i2" ] || { echo "instructions.sh: callgrind gave no count for $v" >&2; exit 1; }
    per[$v]=$(awk -v a="$i1" -v b="$i2" -v n=$((C * (M2 - M1))) 'BEGIN { printf "%.1f", (b - a) / n }')
    echo "$v: $i1 instructions for $((C * M1)) messages, $i2 for $((C * M2)): ${per[$v]} per message"
done
h1=$(in_cotrace "$OUT/asio_callgrind.asio_echo.$M1.out")
h2=$(in_cotrace "$OUT/asio_callgrind.asio_echo.$M2.out")
hooks=$(awk -v a="$h1" -v b="$h2" -v n=$((C * (M2 - M1))) 'BEGIN { printf "%.1f", (b - a) / n }')
echo "asio_echo: $h1 and $h2 instructions in cotrace's headers: $hooks per message"
printf 'asio_instructions traced %s untraced %s ratio %.4f hooks %s\n' "${per[asio_echo]:-0}" \
    "${per[asio_echo_untraced]:-0}" \
    "$(awk -v t="${per[asio_echo]:-0}" -v u="${per[asio_echo_untraced]:-1}" 'BEGIN { print t / u }')" "$hooks"
