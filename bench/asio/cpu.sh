#!/usr/bin/env bash
# bench/asio/cpu.sh BIN_DIR OUT_DIR: the cost of the Asio integration as the
# server's own CPU time per request, with a 95% confidence interval.
#
# Throughput on a shared 2-core VM moves by tens of percent with the other
# load on the machine; the CPU time the server process itself spends on a
# fixed load moves less, since it does not count the time it waited for a
# CPU. Four servers of one example run side by side, each alone in a network
# namespace of its own (so the echo example's fixed port is no obstacle):
#
#   untraced   Asio's example built as shipped
#   detached   the same source with -DASIO_CUSTOM_HANDLER_TRACKING=
#              "cotrace/asio_tracking.hpp", no tracer attached
#   control    a second untraced server: shows the method's own bias
#   attached   the flag, under `cotrace attach -f stats -o /dev/null`
#
# and take turns serving a small fixed load (C clients x N requests, or C
# connections x N echoes), one at a time, in an order that rotates every
# round, so that whatever else the machine does lands on all of them alike.
# Each turn reads the server's CPU time, user + kernel (the attached
# variant's uprobe traps included), from /proc/PID/task/*/schedstat before
# and after: the scheduler's run time in nanoseconds (/proc/PID/stat counts
# clock ticks, 10 ms, too coarse for a turn). Servers on CPU 0, the load and
# the tracer on the last CPU.
#
# An epoch starts the four servers afresh (a new memory layout for each; in
# a rotating order), warms them up, runs R rounds and stops them. Per epoch, each variant's
# ratio to the untraced server: its CPU time over the untraced one's, summed
# over the epoch's rounds. Over the epochs: the geometric mean and a 95%
# bootstrap interval (10 000 resamples of the epochs, percentile). The
# detached target (<= 1.005x) counts as shown only if the interval's upper
# end is <= 1.005 and the control's interval covers 1.0; refuted if the
# lower end is above 1.005 (and the control's covers 1.0); else undecided
# (always, with fewer than 8 epochs).
# The same for throughput (the untraced rate over the variant's). Prints:
#   asio_cpu EXAMPLE epochs E rounds R untraced_ns U
#     detached_ratio X LO HI control_ratio Y LO HI attached_ratio Z LO HI
#     VARIANT_user_share S... verdict V     (S: user time / CPU time, from /proc/PID/stat)
#   asio_rate EXAMPLE ...                       (the same for throughput)
# Raw: OUT_DIR/asio_cpu.tsv, one line per turn.
#
# Knobs: BENCH_ASIO_CPU_EPOCHS=12 BENCH_ASIO_CPU_ROUNDS=10 (per epoch)
#   BENCH_ASIO_CPU_CONNECTIONS=4 BENCH_ASIO_CPU_MESSAGES=2500 (echo, per
#   connection and turn) BENCH_ASIO_CPU_REQUESTS=250 (http, per client and turn)
#   BENCH_ASIO_CPU_EXAMPLES="http echo"
#   BENCH_ASIO_CPU_VARIANTS="untraced detached control attached" (untraced first)
set -euo pipefail

. "$(dirname "$0")/common.sh"
asio_bench_args "$@"
EPOCHS=${BENCH_ASIO_CPU_EPOCHS:-12}
ROUNDS=${BENCH_ASIO_CPU_ROUNDS:-10}
CONNECTIONS=${BENCH_ASIO_CPU_CONNECTIONS:-4}
MESSAGES=${BENCH_ASIO_CPU_MESSAGES:-2500}
REQUESTS=${BENCH_ASIO_CPU_REQUESTS:-250}
EXAMPLES=${BENCH_ASIO_CPU_EXAMPLES:-http echo}
read -r -a VARIANTS <<<"${BENCH_ASIO_CPU_VARIANTS:-untraced detached control attached}"
[ "${VARIANTS[0]}" = untraced ] || { echo "cpu.sh: BENCH_ASIO_CPU_VARIANTS must start with untraced" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "cpu.sh: needs root (network namespaces, cotrace attach): run it with sudo" >&2; exit 1; }
for tool in python3 unshare nsenter ip taskset; do
    command -v "$tool" >/dev/null || { echo "cpu.sh: $tool not installed (Debian: python3, util-linux, iproute2)" >&2; exit 1; }
done
asio_bench_need cotrace asio_shipped_http_server asio_shipped_http_server_untraced asio_shipped_echo_server \
    asio_shipped_echo_server_untraced asio_http_load asio_echo_client

client_cpu=$(($(nproc) - 1))
shipped_docroot
declare -A srv=() tracer=()
stop_all() {
    local v
    # SIGTERM: a background job of a script ignores SIGINT.
    for v in "${!tracer[@]}"; do kill -TERM "${tracer[$v]}" 2>/dev/null && wait "${tracer[$v]}" 2>/dev/null || true; done
    for v in "${!srv[@]}"; do kill "${srv[$v]}" 2>/dev/null && wait "${srv[$v]}" 2>/dev/null || true; done
    srv=() tracer=()
}
trap 'stop_all; rm -rf "$docroot"' EXIT

port_of() { [ "$1" = http ] && echo 8080 || echo 55555; }  # the echo example's is hard-coded

# start EXAMPLE VARIANT: its server, alone in a new network namespace, on CPU 0.
start() {
    local example=$1 v=$2 bin port i err=$OUT/asio_cpu_cotrace.$2.err
    bin=$BIN/asio_shipped_${example}_server
    case $v in untraced | control) bin=${bin}_untraced ;; esac
    port=$(port_of "$example")
    # sh and taskset exec: $! is the server.
    if [ "$example" = http ]; then
        unshare -n sh -c 'ip link set lo up && exec taskset -c 0 "$@"' sh "$bin" 127.0.0.1 "$port" "$docroot" \
            >"$OUT/asio_cpu_server.$v.out" 2>&1 &
    else
        unshare -n sh -c 'ip link set lo up && exec taskset -c 0 "$@"' sh "$bin" >"$OUT/asio_cpu_server.$v.out" 2>&1 &
    fi
    srv[$v]=$!
    for i in $(seq 1 2000); do listening_in "${srv[$v]}" "$port" && break; sleep 0.005; done
    listening_in "${srv[$v]}" "$port" || { echo "cpu.sh: $bin does not listen on $port" >&2; exit 1; }
    if [ "$v" = attached ]; then
        pin "$client_cpu" "$BIN/cotrace" -v attach -p "${srv[$v]}" -f stats -o /dev/null 2>"$err" &
        tracer[$v]=$!
        for i in $(seq 1 2000); do grep -q 'attached .* probe links' "$err" && break; sleep 0.005; done
        grep -q 'attached .* probe links' "$err" || { echo "cpu.sh: cotrace did not attach: $(cat "$err")" >&2; exit 1; }
    fi
}

# listening_in PID PORT: something listens on PORT in PID's network namespace.
listening_in() {
    awk -v p="$(printf ':%04X' "$2")" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        "/proc/$1/net/tcp" 2>/dev/null
}

# load EXAMPLE VARIANT COUNT: the client in the server's namespace; prints its rate.
load() {
    local line pid=${srv[$2]}
    if [ "$1" = http ]; then
        line=$(nsenter -t "$pid" -n taskset -c "$client_cpu" "$BIN/asio_http_load" --port 8080 \
            --clients "$CONNECTIONS" --requests "$3")
        awk '{ for (i = 1; i < NF; i++) if ($i == "requests_per_s") print $(i + 1) }' <<<"$line"
    else
        line=$(nsenter -t "$pid" -n taskset -c "$client_cpu" "$BIN/asio_echo_client" --port 55555 \
            --connections "$CONNECTIONS" --messages "$3" --timeout-s 300)
        awk '{ for (i = 1; i < NF; i++) if ($i == "messages_per_s") print $(i + 1) }' <<<"$line"
    fi
}

# The server's run time so far, ns, all its threads; then its user and
# kernel time in clock ticks (only their share is used: over a whole run the
# ticks are many).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%d\n", s }'; }
ticks() { cat /proc/"$1"/task/*/stat | sed 's/.*) //' | awk '{ u += $12; k += $13 } END { printf "%d %d\n", u, k }'; }

TSV=$OUT/asio_cpu.tsv
printf 'example\tepoch\tround\tvariant\tposition\trequests\tcpu_ns\trate_per_s\tuser_ticks\tkernel_ticks\n' >"$TSV"
n=${#VARIANTS[@]}
for example in $EXAMPLES; do
    count=$MESSAGES
    [ "$example" = http ] && count=$REQUESTS
    for e in $(seq 1 "$EPOCHS"); do
        # Started and warmed up (caches, the page cache, the allocator) in an order that rotates too.
        for k in $(seq 0 $((n - 1))); do start "$example" "${VARIANTS[$(((k + e) % n))]}"; done
        for k in $(seq 0 $((n - 1))); do load "$example" "${VARIANTS[$(((k + e) % n))]}" "$count" >/dev/null; done
        declare -A sum=()
        for r in $(seq 1 "$ROUNDS"); do
            for k in $(seq 0 $((n - 1))); do
                v=${VARIANTS[$(((k + r + e) % n))]}
                read -r u0 k0 < <(ticks "${srv[$v]}")
                before=$(cpu_ns "${srv[$v]}")
                rate=$(load "$example" "$v" "$count")
                after=$(cpu_ns "${srv[$v]}")
                read -r u1 k1 < <(ticks "${srv[$v]}")
                [ -n "$rate" ] || { echo "cpu.sh: the $example client printed no rate against $v" >&2; exit 1; }
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$example" "$e" "$r" "$v" "$k" $((CONNECTIONS * count)) \
                    $((after - before)) "$rate" $((u1 - u0)) $((k1 - k0)) >>"$TSV"
                sum[$v]=$((${sum[$v]:-0} + after - before))
            done
        done
        line="$example epoch $(printf %2d "$e"), CPU ns per request:"
        for v in "${VARIANTS[@]}"; do line+=$(printf '  %s %.1f' "$v" "$(awk -v s="${sum[$v]}" -v c=$((ROUNDS * CONNECTIONS * count)) 'BEGIN { print s / c }')"); done
        echo "$line"
        unset sum
        stop_all
    done
done

python3 - "$TSV" "$ROUNDS" <<'EOF'
import csv, math, random, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rounds = sys.argv[2]
rng = random.Random(1)

def interval(per_epoch):
    """Geometric mean of per-epoch ratios and a 95% percentile bootstrap interval over epochs."""
    logs = [math.log(x) for x in per_epoch]
    n = len(logs)
    means = sorted(sum(rng.choice(logs) for _ in range(n)) / n for _ in range(10000))
    return math.exp(sum(logs) / n), math.exp(means[249]), math.exp(means[9749])

for example in dict.fromkeys(r["example"] for r in rows):
    # epoch -> variant -> [cpu ns, seconds of load, requests]
    epochs = {}
    for r in rows:
        if r["example"] != example:
            continue
        t = epochs.setdefault(r["epoch"], {}).setdefault(r["variant"], [0.0, 0.0, 0])
        t[0] += float(r["cpu_ns"])
        t[1] += float(r["requests"]) / float(r["rate_per_s"])
        t[2] += int(r["requests"])
    variants = [v for v in ("detached", "control", "attached") if all(v in d for d in epochs.values())]
    for kind, field in (("asio_cpu", 0), ("asio_rate", 1)):
        # The untraced server's median over epochs: CPU ns per request, or requests per second.
        per = sorted(d["untraced"][field] / d["untraced"][2] for d in epochs.values())[len(epochs) // 2]
        unit, median = ("untraced_ns", per) if field == 0 else ("untraced_per_s", 1 / per)
        out = [kind, example, "epochs", str(len(epochs)), "rounds", rounds, unit, "%.1f" % median]
        got = {}
        for v in variants:
            got[v] = interval([d[v][field] / d["untraced"][field] for d in epochs.values()])
            out += [v + "_ratio"] + ["%.4f" % x for x in got[v]]
        if field == 0:
            for v in ["untraced"] + variants:
                u = sum(float(r["user_ticks"]) for r in rows if r["example"] == example and r["variant"] == v)
                k = sum(float(r["kernel_ticks"]) for r in rows if r["example"] == example and r["variant"] == v)
                out += [v + "_user_share", "%.3f" % (u / (u + k) if u + k else 0)]
        if "detached" in got and "control" in got:
            _, clo, chi = got["control"]
            _, dlo, dhi = got["detached"]
            if len(epochs) < 8:
                verdict = "undecided(too_few_epochs)"  # a bootstrap of a handful says nothing
            elif not clo <= 1.0 <= chi:
                verdict = "undecided(control_biased)"
            elif dhi <= 1.005:
                verdict = "shown"
            elif dlo > 1.005:
                verdict = "refuted"
            else:
                verdict = "undecided"
            out += ["verdict", verdict]
        print(" ".join(out))
EOF
