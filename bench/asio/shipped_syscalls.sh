#!/usr/bin/env bash
# bench/asio/shipped_syscalls.sh BIN_DIR OUT_DIR: the system calls per
# request of Asio's shipped examples, untraced and detached, counted by the
# kernel (a bpftrace count of raw_syscalls:sys_enter by number, for the
# server's process only).
#
# What it is for: callgrind counts the server's user-space instructions
# exactly (shipped_instructions.sh), but this VM has no PMU, so the kernel's
# cannot be counted. If the detached build asks the kernel for the same
# calls per request as the untraced one, the kernel's work is the same, and
# the whole process's cost is the user-space difference over the whole.
#
# As in shipped_instructions.sh, server and client share CPU 0 (every read
# waits for the other side, so the calls repeat), and each server runs
# twice, for N1 and for N2 requests: the difference over N2 - N1 is per
# request, start-up and shutdown cancelled out.
# Each build runs ROUNDS times, alternating. Prints per round:
#   asio_shipped_syscalls EXAMPLE BUILD round R TOTAL name=COUNT ...
# and per example "same" or "differ" (below), then the call made a varying
# number of times (its number), the largest difference of its mean count a
# request between the builds and its largest spread over one build's rounds.
# Knobs: BENCH_ASIO_SC_N1=300 BENCH_ASIO_SC_N2=1500 BENCH_ASIO_SC_ROUNDS=3
#        BENCH_ASIO_SC_EXAMPLES="http echo"
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
N1=${BENCH_ASIO_SC_N1:-300}
N2=${BENCH_ASIO_SC_N2:-1500}
EXAMPLES=${BENCH_ASIO_SC_EXAMPLES:-http echo}
ROUNDS=${BENCH_ASIO_SC_ROUNDS:-3}
command -v bpftrace >/dev/null || { echo "shipped_syscalls.sh: bpftrace not installed" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "shipped_syscalls.sh: needs root (bpftrace)" >&2; exit 1; }
asio_bench_need asio_shipped_http_server asio_shipped_http_server_untraced asio_shipped_echo_server \
    asio_shipped_echo_server_untraced asio_http_load asio_echo_client
# bpftrace finds tracepoints in tracefs: mounted for the run if it is not.
mounted_tracefs=
if [ ! -d /sys/kernel/tracing/events ]; then
    mount -t tracefs tracefs /sys/kernel/tracing || { echo "shipped_syscalls.sh: cannot mount tracefs" >&2; exit 1; }
    mounted_tracefs=1
fi
shipped_docroot
trap 'rm -rf "$docroot"; [ -z "$mounted_tracefs" ] || umount /sys/kernel/tracing' EXIT
client_cpu=0
CONNECTIONS=1

# counts EXAMPLE BINARY N FILE: "number count" lines for the server's calls
# serving N requests (and starting and stopping) into FILE. The counter says
# it is in place once it has seen a call of a marker process (bpftrace
# prints "Attaching" before it attaches), and ends itself when the server
# exits (a background job ignores SIGINT until bpftrace has set its handler).
# Runs in a subshell: its EXIT trap ends what it started.
counts() {
    local example=$1 bin=$2 n=$3 file=$4 i
    server= counter= marker=
    trap 'for p in $server $counter $marker; do kill "$p" 2>/dev/null; done; wait' EXIT
    shipped_start "$example" "$bin" "$OUT/asio_sc.log"
    bash -c 'while :; do sleep 0.01; done' &
    marker=$!
    bpftrace -e "tracepoint:raw_syscalls:sys_enter /pid == $server/ { @calls[args->id] = count(); }
        tracepoint:raw_syscalls:sys_enter /pid == $marker && @ready == 0/ { @ready = 1; printf(\"ready\\n\"); }
        tracepoint:sched:sched_process_exit /pid == $server/ { exit(); }
        END { clear(@ready); }" >"$file.raw" 2>&1 &
    counter=$!
    for i in $(seq 1 3000); do
        grep -q '^ready' "$file.raw" && break
        kill -0 "$counter" 2>/dev/null || break
        sleep 0.01
    done
    grep -q '^ready' "$file.raw" || { echo "shipped_syscalls.sh: bpftrace did not attach: $(cat "$file.raw")" >&2; exit 1; }
    kill "$marker"
    wait "$marker" 2>/dev/null || true
    marker=
    shipped_load "$example" "$n" >/dev/null || { echo "shipped_syscalls.sh: the client failed against $bin" >&2; exit 1; }
    kill -TERM "$server"  # both examples stop their io_context on SIGTERM
    wait "$server" || true
    server=
    wait "$counter" || true  # it ends with the server
    counter=
    sed -n 's/^@calls\[\([0-9]*\)\]: \([0-9]*\)$/\1 \2/p' "$file.raw" >"$file"
}

# The name of system call NUMBER on this machine (x86-64 numbers), else the number.
syscall_name() {
    awk -v n="$1" '$1 == "#define" && $2 ~ /^__NR_/ && $3 == n { sub("__NR_", "", $2); print $2; found = 1; exit }
        END { if (!found) print n }' /usr/include/x86_64-linux-gnu/asm/unistd_64.h 2>/dev/null || echo "$1"
}

# per_request EXAMPLE BUILD ROUND: the calls per request of one round, "number count" lines.
per_request() {
    local base=$OUT/asio_sc.$1.$2.$3
    awk -v n=$((N2 - N1)) 'FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
        END { for (k in b) { d = (b[k] - a[k]) / n; if (d != 0) printf "%s %.3f\n", k, d } }' \
        "$base.$N1" "$base.$N2" | sort -n >"$base"
}

for example in $EXAMPLES; do
    for round in $(seq 1 "$ROUNDS"); do
        for v in untraced detached; do
            bin=$BIN/asio_shipped_${example}_server
            [ "$v" = untraced ] && bin=${bin}_untraced
            (counts "$example" "$bin" "$N1" "$OUT/asio_sc.$example.$v.$round.$N1")
            (counts "$example" "$bin" "$N2" "$OUT/asio_sc.$example.$v.$round.$N2")
            per_request "$example" "$v" "$round"
            line="asio_shipped_syscalls $example $v round $round"
            line="$line $(awk '{ s += $2 } END { printf "%.3f", s }' "$OUT/asio_sc.$example.$v.$round")"
            while read -r number count; do line="$line $(syscall_name "$number")=$count"; done \
                <"$OUT/asio_sc.$example.$v.$round"
            echo "$line"
        done
    done
    # The builds make the same calls if each makes every call the other does
    # and, of the calls made a whole number of times a request in every
    # round (accept, sendto, epoll_wait, ...), as many. A call made a
    # fraction of the time (recvfrom, 1.6 a message: a speculative read that
    # finds the next request there or not) depends on which process the
    # scheduler runs first, so it is reported: the largest difference in its
    # mean between the builds, and its spread within one build.
    for v in untraced detached; do
        for round in $(seq 1 "$ROUNDS"); do sed "s/^/$v /" "$OUT/asio_sc.$example.$v.$round"; done
    done | awk -v R="$ROUNDS" '
        function whole(x) { return x - int(x + 0.5) < 0.0005 && int(x + 0.5) - x < 0.0005 }
        { v = $1; k = $2; sum[v, k] += $3; n[v, k]++; calls[k] = 1; if (!whole($3)) varies[k] = 1
          if (!((v, k) in lo) || $3 < lo[v, k]) lo[v, k] = $3
          if (!((v, k) in hi) || $3 > hi[v, k]) hi[v, k] = $3 }
        END { same = 1; worst = 0; which = "-"; spread = 0
              for (k in calls) {
                  if (n["untraced", k] != R || n["detached", k] != R) { same = 0; continue }
                  d = sum["detached", k] / R - sum["untraced", k] / R; if (d < 0) d = -d
                  if (!(k in varies)) { if (d > 0.0005) same = 0; continue }
                  if (d >= worst) { worst = d; which = k }
                  for (i = 0; i < 2; i++) { v = i ? "detached" : "untraced"
                      if (hi[v, k] - lo[v, k] > spread) spread = hi[v, k] - lo[v, k] } }
              printf "%s varying %s difference %.3f spread %.3f\n", (same ? "same" : "differ"), which, worst, spread }' \
        >"$OUT/asio_sc.$example.verdict"
    echo "asio_shipped_syscalls $example $(cat "$OUT/asio_sc.$example.verdict")"
done
