#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [STEP...]: the `make bench` entry point.
#
# Runs the benchmark steps in order and ends with one summary of every figure
# against its target (DESIGN.md section 8). Raw outputs go to BUILD_DIR/bench/.
#
# Steps (default: all, in this order):
#   variants                 the two builds of the detached workload really differ:
#                            USDT notes in the traced object only, nothing shared
#   detached_time            traced / untraced CPU time per round trip (Google Benchmark,
#                            repetitions interleaved at random; min and median)
#   detached_instructions    the same ratio in instructions (callgrind), which a noisy
#                            machine does not disturb
#   attached                 cost per event in the target, on one probe (cotrace::annotate
#                            in a loop) and on a chain of seven coroutines (14 probes a
#                            request): detached, under a bare uprobe with an empty BPF
#                            program, under bpftrace count(), under cotrace; rounds
#                            alternate the tracers; min per tracer
#   drain                    events/s the daemon assembles: offline (the assembler alone,
#                            bench_assembler) and live (one and two threads of coroutine
#                            chains under cotrace attach), with drops
#   stop                     time from Ctrl-C (and from the end of --duration) to cotrace's
#                            exit while two threads flood it with events
#   attach_latency           `cotrace attach` to a process of 2, 16 and 64 threads: time
#                            from the command's start of attaching to the first event
#                            collected, and how long each thread is stopped while its
#                            state at attach is read (median and max); median of rounds;
#                            BENCH_ATTACH_BASELINE=PATH measures another cotrace beside it
#   drain_offline            the assembler + jsonl alone (bench_assembler), best of 3 runs,
#                            against the 8 M events/s target
#   stacks                   `cotrace stacks` on a process with 100k hung requests (300k task
#                            frames) in a ~1 GiB heap: wall time, the scan alone, and
#                            cotrace's peak RSS (GNU time); best of BENCH_STACKS_ROUNDS
#   memory                   peak RSS of the assembler + jsonl (bench_memory) at 10k and
#                            100k live spans and for a long session (one connection, 2 M
#                            children), against the 64 MiB and 100 MiB targets
#
# Adding a step: write a function step_<name> below, append <name> to STEPS, and
# report its figures with `summary` (and `verdict` for a figure with a target).
#
# Knobs (environment):
#   BENCH_REPETITIONS=20  BENCH_MIN_TIME=0.1 (seconds per repetition)
#   BENCH_CALLGRIND_ITERS=5000 (round trips counted per scenario and variant)
#   BENCH_STRICT=1        exit 1 when a figure misses its target (default: report only)
set -euo pipefail

STEPS=(variants detached_time detached_instructions attached drain drain_offline memory stop asio attach_latency stacks in_flight)

DETACHED_TARGET=1.02  # traced / untraced, DESIGN.md section 8
ATTACHED_TARGET=1.2   # cotrace / bpftrace count(), per event, DESIGN.md section 8
STOP_TARGET_MS=100    # Ctrl-C / --duration to exit under a flood, DESIGN.md section 8
OFFLINE_TARGET=8000000  # events/s of the assembler + jsonl alone, DESIGN.md section 8
LIVE_SPANS_RSS_TARGET_KIB=$((64 * 1024))  # at 100k live spans
SESSION_RSS_TARGET_KIB=$((100 * 1024))    # a long session at any rate

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [STEP...]   (steps: ${STEPS[*]})" >&2
    exit 2
fi
BUILD=$1
shift
[ $# -gt 0 ] && STEPS=("$@")

BIN=$BUILD/bin
OUT=$BUILD/bench
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
MISSED=0
FAILED=0

# ---- helpers ------------------------------------------------------------------
say() { printf '%s\n' "$*"; }
summary() { printf '%s\n' "$*" >>"$SUMMARY"; }
# verdict LABEL VALUE TARGET: one summary line, "meets" when VALUE <= TARGET.
verdict() {
    local label=$1 value=$2 target=$3
    if awk -v v="$value" -v t="$target" 'BEGIN { exit !(v <= t) }'; then
        summary "$(printf '  %-44s %7.3fx  target <= %sx  meets' "$label" "$value" "$target")"
    else
        summary "$(printf '  %-44s %7.3fx  target <= %sx  MISSES' "$label" "$value" "$target")"
        MISSED=1
    fi
}
fail() {
    say "bench: $*" >&2
    summary "  FAILED: $*"
    FAILED=1
}
need() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || { fail "missing $f (build first: make build)"; return 1; }
    done
}

# ---- step: variants -----------------------------------------------------------
# The traced and untraced workloads are one source built twice into two shared
# objects (bench/CMakeLists.txt). Check that the binary really holds two codes:
# probes only in the traced one, and nothing but the entry points exported, so
# the linker cannot have merged their inline functions.
step_variants() {
    local traced=$BIN/libcotrace_bench_traced.so untraced=$BIN/libcotrace_bench_untraced.so
    need "$traced" "$untraced" "$BIN/bench_detached" || return 0
    local tnotes unotes bnotes
    tnotes=$(readelf -n "$traced" | grep -c 'NT_STAPSDT' || true)
    unotes=$(readelf -n "$untraced" | grep -c 'NT_STAPSDT' || true)
    bnotes=$(readelf -n "$BIN/bench_detached" | grep -c 'NT_STAPSDT' || true)
    say "USDT probe sites: traced $tnotes, untraced $unotes, harness $bnotes"
    readelf -n "$traced" | awk '/Name:/ { n[$2]++ } END { for (k in n) printf "  %-16s %d\n", k, n[k] }' | sort
    [ "$tnotes" -gt 0 ] || fail "the traced workload has no USDT notes"
    [ "$unotes" -eq 0 ] || fail "the untraced workload has USDT notes"
    [ "$bnotes" -eq 0 ] || fail "the harness itself has USDT notes"

    local v exports others
    for v in traced untraced; do
        exports=$(nm -D --defined-only "$BIN/libcotrace_bench_$v.so" | awk '{ print $3 }')
        others=$(grep -v "^cotrace_bench_${v}_" <<<"$exports" || true)
        say "exported by libcotrace_bench_$v.so: $(tr '\n' ' ' <<<"$exports")"
        [ -z "$others" ] || fail "libcotrace_bench_$v.so exports more than its entry points: $others"
    done
    # The harness only calls the entry points: no library code of its own.
    if nm -C "$BIN/bench_detached" | grep -q 'cotrace::'; then
        fail "bench_detached holds cotrace code of its own"
    fi
    summary "Variants: traced object $tnotes USDT probe sites, untraced 0; entry points only exported"
}

# ---- step: detached_time ------------------------------------------------------
step_detached_time() {
    need "$BIN/bench_detached" || return 0
    local reps=${BENCH_REPETITIONS:-20} min_time=${BENCH_MIN_TIME:-0.1} color=true
    [ -t 1 ] || color=false
    "$BIN/bench_detached" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
        --benchmark_enable_random_interleaving=true --benchmark_color="$color" \
        --benchmark_out="$OUT/detached.json" --benchmark_out_format=json \
        --summary-out="$OUT/detached_time.tsv" || { fail "bench_detached failed"; return 0; }

    summary ""
    summary "Detached overhead, time (CPU time per round trip, $reps repetitions interleaved at random):"
    summary "$(printf '  %-20s %12s %12s %9s %12s %12s %9s' scenario 'traced min' 'untr. min' ratio 'traced med' 'untr. med' ratio)"
    local name reps_ tmin umin rmin tmed umed rmed
    while IFS=$'\t' read -r name reps_ tmin umin rmin tmed umed rmed; do
        summary "$(printf '  %-20s %9.1f ns %9.1f ns %8.3fx %9.1f ns %9.1f ns %8.3fx' \
            "$name" "$tmin" "$umin" "$rmin" "$tmed" "$umed" "$rmed")"
    done < <(tail -n +2 "$OUT/detached_time.tsv")
    while IFS=$'\t' read -r name reps_ tmin umin rmin tmed umed rmed; do
        verdict "time $name (min of $reps_)" "$rmin" "$DETACHED_TARGET"
    done < <(tail -n +2 "$OUT/detached_time.tsv")
}

# ---- step: detached_instructions ----------------------------------------------
# callgrind counts only the measured round trips (bench_detached --loop toggles
# collection around them, after a warm-up), so the counts repeat exactly.
step_detached_instructions() {
    need "$BIN/bench_detached" || return 0
    if ! command -v valgrind >/dev/null; then
        fail "valgrind not installed: no instruction counts (apt-get install valgrind)"
        return 0
    fi
    local iters=${BENCH_CALLGRIND_ITERS:-5000}
    local tsv=$OUT/detached_instructions.tsv scenarios s v ir
    printf 'scenario\ttraced_per_round_trip\tuntraced_per_round_trip\tratio\n' >"$tsv"
    scenarios=$("$BIN/bench_detached" --benchmark_list_tests=true | sed -n 's|/traced$||p')
    for s in $scenarios; do
        local -A per=()
        for v in traced untraced; do
            ir=$(valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$OUT/callgrind.$s.$v" \
                "$BIN/bench_detached" --loop "$s" "$v" "$iters" 2>&1 >/dev/null |
                sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
            [ -n "$ir" ] || { fail "callgrind gave no count for $s/$v"; continue 2; }
            per[$v]=$(awk -v ir="$ir" -v n="$iters" 'BEGIN { printf "%.1f", ir / n }')
        done
        printf '%s\t%s\t%s\t%s\n' "$s" "${per[traced]}" "${per[untraced]}" \
            "$(awk -v t="${per[traced]}" -v u="${per[untraced]}" 'BEGIN { printf "%.4f", t / u }')" >>"$tsv"
        say "$s: traced ${per[traced]}, untraced ${per[untraced]} instructions per round trip"
    done

    summary ""
    summary "Detached overhead, instructions (callgrind, $iters round trips each, exact):"
    summary "$(printf '  %-20s %12s %12s %9s %12s' scenario traced untraced ratio 'extra')"
    local name t u r
    while IFS=$'\t' read -r name t u r; do
        summary "$(printf '  %-20s %12s %12s %8.3fx %+12.1f' "$name" "$t" "$u" "$r" \
            "$(awk -v t="$t" -v u="$u" 'BEGIN { print t - u }')")"
    done < <(tail -n +2 "$tsv")
    while IFS=$'\t' read -r name t u r; do
        verdict "instructions $name" "$r" "$DETACHED_TARGET"
    done < <(tail -n +2 "$tsv")
}

# ---- step: attached -----------------------------------------------------------
# One run of probe_loop under TRACER (detached|empty|count|cotrace); prints ns/event.
# With ATTACHED_PINNED=1 the target runs on CPU 0 and every tracer (bpftrace,
# or cotrace's daemon) on the last CPU, the same for all of them, so no tracer
# gets a core the others do not; otherwise the scheduler places them.
attached_once() {
    local tracer=$1 mode=$2 n=$3 threads=$4 loop_out=$OUT/loop.out trace_out=$OUT/tracer.out pid i
    local wait_flag=--wait-attached first=0 last=$(($(nproc) - 1))
    [ "$tracer" = detached ] && wait_flag=
    [ "${ATTACHED_PINNED:-0}" = 1 ] || { first=0-$last; last=0-$last; }
    pin "$first" "$BIN/probe_loop" "$mode" "$n" $wait_flag --threads "$threads" >"$loop_out" 2>&1 &
    local loop=$!
    # A busy machine can take seconds to start it; without its pid a tracer
    # would attach to the binary everywhere and never exit.
    for i in $(seq 1 6000); do grep -q '^pid ' "$loop_out" && break; sleep 0.01; done
    pid=$(awk '/^pid /{print $2}' "$loop_out")
    if [ -z "$pid" ]; then
        kill "$loop" 2>/dev/null; wait "$loop" 2>/dev/null
        return 0
    fi
    # bpftrace on every probe the loop fires, as cotrace attaches them all.
    local probe=event
    [ "$mode" = annotate ] || probe='*'
    case $tracer in
        detached) : ;;
        empty) pin "$last" bpftrace -p "$pid" -e "usdt:$BIN/probe_loop:cotrace:$probe { }" >"$trace_out" 2>&1 & ;;
        count) pin "$last" bpftrace -p "$pid" -e "usdt:$BIN/probe_loop:cotrace:$probe { @c = count(); }" >"$trace_out" 2>&1 & ;;
        cotrace) pin "$last" "$BIN/cotrace" attach -p "$pid" -f jsonl -o /dev/null >"$trace_out" 2>&1 & ;;
    esac
    local tracer_pid=$!
    wait "$loop"
    [ "$tracer" = detached ] || wait "$tracer_pid" || true
    # The figures named in $5 (space-separated), on one line in that order.
    awk -v want="$5" '/^ns_per_iteration/ { n = split(want, w, " "); line = "";
        for (k = 1; k <= n; k++) for (i = 1; i < NF; i++) if ($i == w[k]) line = line (k > 1 ? " " : "") $(i + 1);
        print line }' "$loop_out"
}

# pin CPU COMMAND...: COMMAND on that CPU (taskset), or unpinned without taskset.
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# median of the numbers on stdin, one a line
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The BPF programs' own time per run, from the kernel's statistics
# (kernel.bpf_stats_enabled): run_time_ns / run_cnt of the programs the
# tracer TRACER (count|cotrace) loaded for probe_loop MODE, over one second of
# the loop running under it. Independent of the uprobe trap and of how busy
# the machine is (it is CPU time inside the program). The tracer's programs
# are those loaded after it started (cotrace's are named handle_*; bpftool
# may lack the pid column). Prints ns per run.
bpf_program_ns() {
    local tracer=$1 mode=$2 loop_out=$OUT/stats_loop.out trace_out=$OUT/stats_tracer.out pid tpid i before after
    local last=$(($(nproc) - 1)) probe=event known
    [ "$mode" = annotate ] || probe='*'
    known=$(bpftool prog show -j 2>/dev/null | python3 -c 'import json, sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
    # taskset itself, not the pin function: $! must be the loop's pid, which is killed below.
    taskset -c 0 "$BIN/probe_loop" "$mode" 1000000000 --wait-attached >"$loop_out" 2>&1 &
    local loop=$!
    for i in $(seq 1 6000); do grep -q '^pid ' "$loop_out" && break; sleep 0.01; done
    pid=$(awk '/^pid /{print $2}' "$loop_out")
    [ -n "$pid" ] || { kill "$loop" 2>/dev/null; wait "$loop" 2>/dev/null; return 0; }
    case $tracer in
        count) taskset -c "$last" bpftrace -p "$pid" -e "usdt:$BIN/probe_loop:cotrace:$probe { @c = count(); }" >"$trace_out" 2>&1 & ;;
        cotrace) taskset -c "$last" "$BIN/cotrace" attach -p "$pid" -f jsonl -o /dev/null >"$trace_out" 2>&1 & ;;
    esac
    tpid=$!
    prog_stats() {  # total run_time_ns and run_cnt of the tracer's programs
        bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
known = set(sys.argv[1].split()); cotrace = sys.argv[2] == "cotrace"; t = n = 0
for p in json.load(sys.stdin):
    if str(p["id"]) in known or p.get("name", "").startswith("handle_") != cotrace:
        continue
    t += p.get("run_time_ns", 0); n += p.get("run_cnt", 0)
print(t, n)' "$known" "$tracer"
    }
    for i in $(seq 1 60); do  # until its programs run: attached, the loop going
        read -r _ n <<<"$(prog_stats)"
        [ "${n:-0}" -gt 0 ] && break
        sleep 0.1
    done
    sleep 0.5
    before=$(prog_stats)
    sleep 1
    after=$(prog_stats)
    kill "$loop" 2>/dev/null || true
    wait "$loop" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ");
        if (y[2] > x[2]) printf "%.1f\n", (y[1] - x[1]) / (y[2] - x[2]) }'
}

step_attached() {
    need "$BIN/probe_loop" "$BIN/cotrace" || return 0
    command -v bpftrace >/dev/null || { fail "bpftrace not installed"; return 0; }
    [ "$(id -u)" -eq 0 ] || { fail "attached cost needs root (BPF)"; return 0; }
    local n=${BENCH_ATTACHED_EVENTS:-2000000} rounds=${BENCH_ATTACHED_ROUNDS:-9} r t v mode iters
    local ATTACHED_PINNED=1
    local tsv=$OUT/attached.tsv
    printf 'mode\tround\ttracer\tns_per_event\tcpu_ns_per_event\n' >"$tsv"
    for mode in annotate chain7; do
        iters=$n
        [ "$mode" = chain7 ] && iters=$((n / 14))
        local -A per=() cpu=()
        local ratios=""
        for r in $(seq 1 "$rounds"); do
            # The order rotates: no tracer always runs first, or after the same one.
            local order=(detached empty count cotrace)
            local k=$(((r - 1) % 4))
            order=("${order[@]:$k}" "${order[@]:0:$k}")
            local -A this=()
            for t in "${order[@]}"; do
                read -r v c <<<"$(attached_once "$t" "$mode" "$iters" 1 "ns_per_event cpu_ns_per_event")"
                # Once more on a machine busy enough that the tracer did not attach in time.
                [ -n "$v" ] || read -r v c <<<"$(attached_once "$t" "$mode" "$iters" 1 "ns_per_event cpu_ns_per_event")"
                [ -n "$v" ] || { fail "probe_loop $mode under $t gave no figure ($OUT/loop.out, $OUT/tracer.out)"; return 0; }
                say "$mode round $r: $t $v ns/event (CPU ${c:-?} ns/event)"
                printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$r" "$t" "$v" "${c:-}" >>"$tsv"
                per[$t]="${per[$t]:-} $v"
                cpu[$t]="${cpu[$t]:-} ${c:-}"
                this[$t]=$v
            done
            ratios="$ratios $(awk -v a="${this[cotrace]}" -v b="${this[count]}" 'BEGIN { print a / b }')"
            unset this
        done
        summary ""
        if [ "$mode" = annotate ]; then
            summary "Attached cost per event (cotrace::annotate loop, $iters events, median of $rounds rotating rounds;"
        else
            summary "Attached cost per event (chain of 7 coroutines, $iters requests of 14 events, median of $rounds rotating rounds;"
        fi
        summary "  target on CPU 0, every tracer on CPU $(($(nproc) - 1))):"
        local -A med=()
        for t in detached empty count cotrace; do
            med[$t]=$(tr ' ' '\n' <<<"${per[$t]}" | grep . | median)
            summary "$(printf '  %-36s %9.1f ns' "$(case $t in detached) echo 'detached (nop)';; empty) echo 'bare uprobe, empty BPF program';; count) echo 'bpftrace count()';; cotrace) echo 'cotrace attach (ring buffer + daemon)';; esac)" "${med[$t]}")"
        done
        # The target's own CPU time per event (probe_loop's process CPU
        # clock): what the probes cost it, whatever else the machine runs.
        local -A cmed=()
        for t in detached empty count cotrace; do
            cmed[$t]=$(tr ' ' '\n' <<<"${cpu[$t]}" | grep . | median || echo 0)
        done
        summary "$(printf '  %-36s %s / %s / %s / %s ns (detached / bare uprobe / count() / cotrace)' \
            'target CPU time per event (median)' "${cmed[detached]}" "${cmed[empty]}" "${cmed[count]}" "${cmed[cotrace]}")"
        local round_ratio
        round_ratio=$(tr ' ' '\n' <<<"$ratios" | grep . | median)
        summary "$(printf '  %-36s %9.3fx (min %s, max %s)' 'cotrace / count(), median per round' "$round_ratio" \
            "$(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | head -1)" "$(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | tail -1)")"
        if command -v bpftool >/dev/null && command -v taskset >/dev/null; then
            local was c_ns t_ns
            was=$(sysctl -n kernel.bpf_stats_enabled)
            sysctl -qw kernel.bpf_stats_enabled=1
            c_ns=$(bpf_program_ns count "$mode")
            t_ns=$(bpf_program_ns cotrace "$mode")
            sysctl -qw kernel.bpf_stats_enabled="$was"
            summary "$(printf '  %-36s %9s ns (bpftrace count()) vs %s ns (cotrace), per run' 'BPF program itself (bpf_stats)' "${c_ns:-?}" "${t_ns:-?}")"
        fi
        verdict "attached $mode: cotrace / bpftrace count()" \
            "$(awk -v a="${med[cotrace]}" -v b="${med[count]}" 'BEGIN { printf "%.3f", a / b }')" "$ATTACHED_TARGET"
        verdict "attached $mode, target CPU time: cotrace / count()" \
            "$(awk -v a="${cmed[cotrace]}" -v b="${cmed[count]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')" "$ATTACHED_TARGET"
        unset per med cpu cmed
    done
}

# ---- step: drain --------------------------------------------------------------
step_drain() {
    # The offline rate (assembler + jsonl alone) is the drain_offline step's.
    need "$BIN/probe_loop" "$BIN/cotrace" || return 0
    local live drops t
    summary ""
    summary "Daemon drain rate, live:"
    if [ "$(id -u)" -ne 0 ]; then
        summary "  (needs root: not measured)"
        return 0
    fi
    # One producer thread: as fast as one thread can fire probes, leaving
    # the daemon a core. Two: both cores busy producing, so the daemon
    # competes with the target for CPU; where drops start.
    for t in 1 2; do
        live=$(attached_once cotrace chain $((600000 / t)) "$t" events_per_s)
        drops=$(sed -n 's/.* \([0-9]*\) drops.*/\1/p' "$OUT/tracer.out")
        summary "$(printf '  %-48s %12.0f events/s, %s drops' "$t producer thread(s) of chains, cotrace attach" "$live" "${drops:-?}")"
        if [ "$t" = 1 ] && [ "${drops:-1}" != 0 ]; then fail "drops with one producer thread: ${drops:-unknown}"; fi
    done
}

# ---- step: stop ---------------------------------------------------------------
# Two threads of 7-coroutine chains flood cotrace (more than it can take on 2
# cores); after 2 s it is asked to stop. Measured: from SIGINT to exit, and from
# the end of --duration 2 (the moment cotrace -v logs that it stops, in
# CLOCK_REALTIME) to exit; best and worst of BENCH_STOP_ROUNDS rounds, with the
# phases -v logs (the drain, the probes detached, done).
stop_once() {
    local how=$1 loop_out=$OUT/stop_loop.out trace_err=$OUT/stop_tracer.err pid i t0 t1 stopped_at
    "$BIN/probe_loop" chain7 1000000000 --threads 2 >"$loop_out" 2>&1 &
    local loop=$!
    for i in $(seq 1 500); do grep -q '^pid ' "$loop_out" && break; sleep 0.01; done
    pid=$(awk '/^pid /{print $2}' "$loop_out")
    local -a extra=()
    [ "$how" = duration ] && extra=(--duration 2)
    "$BIN/cotrace" -v attach -p "$pid" -f jsonl -o /dev/null "${extra[@]}" 2>"$trace_err" &
    local tracer=$!
    for i in $(seq 1 1000); do grep -q 'attached .* probe links' "$trace_err" && break; sleep 0.005; done
    if [ "$how" = sigint ]; then
        sleep 2
        t0=$(date +%s%N)
        kill -INT "$tracer"
    fi
    wait "$tracer" || true
    t1=$(date +%s%N)
    stopped_at=$(sed -n 's/.*stopping at \([0-9]*\) ns.*/\1/p' "$trace_err")
    if [ "$how" = duration ]; then
        t0=${stopped_at:-$t1}
    else
        awk -v a="$t0" -v b="${stopped_at:-$t0}" 'BEGIN { printf "stop seen %.1f ms after SIGINT\n", (b - a) / 1e6 }' >>"$trace_err"
    fi
    # The target ran on while traced and after: it must still be there.
    kill -0 "$loop" 2>/dev/null || echo "stop: the target did not survive the session" >&2
    kill "$loop" 2>/dev/null || true
    wait "$loop" 2>/dev/null || true
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}

step_stop() {
    need "$BIN/probe_loop" "$BIN/cotrace" || return 0
    [ "$(id -u)" -eq 0 ] || { fail "stopping under flood needs root (BPF)"; return 0; }
    local rounds=${BENCH_STOP_ROUNDS:-5} how r v drops phases
    summary ""
    summary "Time to stop under a flood (2 producer threads of 7-coroutine chains, $rounds rounds, load average $(cut -d' ' -f1 /proc/loadavg)):"
    for how in sigint duration; do
        local best="" worst=""
        for r in $(seq 1 "$rounds"); do
            v=$(stop_once "$how")
            drops=$(sed -n 's/.* \([0-9]*\) drops.*/\1/p' "$OUT/stop_tracer.err")
            phases=$(sed -n 's/.*stopping: \([0-9]*\) events taken after the stop in \([0-9.]*\) ms.*/drain \2 ms (\1 events)/p;
                             s/.*stopping: probes detached \([0-9.]*\) ms.*/detached \1 ms/p;
                             s/.*stopping: done \([0-9.]*\) ms.*/done \1 ms/p;
                             s/^stop seen \(.*\)/seen \1/p' "$OUT/stop_tracer.err" | paste -sd, -)
            say "$how round $r: ${v} ms to exit (${drops:-?} drops; after the stop: ${phases:-?})"
            if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$v; fi
            if [ -z "$worst" ] || awk -v a="$v" -v b="$worst" 'BEGIN { exit !(a > b) }'; then worst=$v; fi
        done
        summary "$(printf '  %-44s %7.1f ms best, %7.1f ms worst  target <= %s ms  %s' \
            "$( [ "$how" = sigint ] && echo 'SIGINT to exit' || echo 'end of --duration 2 to exit')" "$best" "$worst" "$STOP_TARGET_MS" \
            "$(awk -v v="$worst" -v t="$STOP_TARGET_MS" 'BEGIN { print (v <= t) ? "meets" : "MISSES" }')")"
        awk -v v="$worst" -v t="$STOP_TARGET_MS" 'BEGIN { exit !(v <= t) }' || MISSED=1
    done
    # After the last round: no uprobe_multi link left in the kernel (another
    # tracer running on the machine would count too).
    if command -v bpftool >/dev/null; then
        summary "  uprobe_multi links left after the sessions: $(bpftool link list 2>/dev/null | grep -c uprobe_multi || true)"
    fi
}

# ---- step: in_flight ----------------------------------------------------------
# What in-flight snapshots cost the assembler (bench_in_flight): with 1k and
# 10k requests hung, a --stuck check every 100k events and a `top` snapshot
# every 1M events, beside plain assembly in the same run (report only).
step_in_flight() {
    need "$BIN/bench_in_flight" || return 0
    local hung out
    summary ""
    summary "In-flight snapshots (bench_in_flight 4000000 HUNG, best of 3, side by side):"
    for hung in 1000 10000; do
        out=$("$BIN/bench_in_flight" 4000000 "$hung")
        summary "$(echo "$out" | awk -v h="$hung" '
            /^none/ { none = $3 }
            /^stuck/ { sr = $5; su = $7 }
            /^top/ { tr = $5; tu = $7 }
            END { printf "  %6d hung: %.2f M events/s; --stuck check %.0f us (x%.3f); top snapshot %.0f us (x%.3f)", h, none / 1e6, su, sr, tu, tr }')"
    done
}

# ---- step: drain_offline ------------------------------------------------------
step_drain_offline() {
    need "$BIN/bench_assembler" || return 0
    local best=0 r i
    for i in 1 2 3; do
        r=$("$BIN/bench_assembler" 4000000 | awk '/events_per_s/ { print $2 }')
        best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
    done
    summary ""
    summary "Offline drain (assembler + jsonl, best of 3):"
    if awk -v v="$best" -v t="$OFFLINE_TARGET" 'BEGIN { exit !(v >= t) }'; then
        summary "$(printf '  %-48s %12.0f events/s  target >= %s  meets' 'bench_assembler' "$best" "$OFFLINE_TARGET")"
    else
        summary "$(printf '  %-48s %12.0f events/s  target >= %s  MISSES' 'bench_assembler' "$best" "$OFFLINE_TARGET")"
        MISSED=1
    fi
}

# ---- step: memory -------------------------------------------------------------
# memory_once LABEL TARGET_KIB MODE N: one bench_memory run, one summary line.
memory_once() {
    local label=$1 target=$2 kib
    kib=$("$BIN/bench_memory" "$3" "$4" | tee "$OUT/memory.$3.$4.out" | awk '/peak_rss_kib/ { print $2 }')
    [ -n "$kib" ] || { fail "bench_memory $3 $4 gave no figure"; return 0; }
    if [ "$target" = - ]; then
        summary "$(printf '  %-48s %8.1f MiB' "$label" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')")"
    elif [ "$kib" -le "$target" ]; then
        summary "$(printf '  %-48s %8.1f MiB  target <= %d MiB  meets' "$label" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" $((target / 1024)))"
    else
        summary "$(printf '  %-48s %8.1f MiB  target <= %d MiB  MISSES' "$label" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" $((target / 1024)))"
        MISSED=1
    fi
}
step_memory() {
    need "$BIN/bench_memory" || return 0
    summary ""
    summary "Peak RSS of the assembler + jsonl (default bounds):"
    memory_once "10k live spans" - live 10000
    memory_once "100k live spans (100k requests in flight)" "$LIVE_SPANS_RSS_TARGET_KIB" live 100000
    memory_once "long session: one root, 2 M children" "$SESSION_RSS_TARGET_KIB" session 2000000
}

# ---- step: asio ---------------------------------------------------------------
# The detached cost of the Asio handler-tracking flag (include/cotrace/asio_tracking.hpp)
# on a real server: examples/asio_echo built with
# -DASIO_CUSTOM_HANDLER_TRACKING="cotrace/asio_tracking.hpp", no tracer attached,
# against the same source built without the flag (asio_echo_untraced) and a
# second untraced instance as a control, driven side by side by
# asio_echo_client over loopback, fresh servers every round, rotating order
# (bench/asio/throughput.sh; knobs BENCH_ASIO_*). Target: untraced msgs/s /
# traced msgs/s <= 1.005 (median of the per-round ratios). Then, where valgrind
# is installed, the instructions cotrace's hooks execute per echoed message
# (bench/asio/instructions.sh), which repeat exactly; no target; and where
# tests/e2e_asio built Asio's shipped examples, their user-space instructions
# per request detached / untraced (bench/asio/shipped_instructions.sh), which
# repeat too (server and client share a CPU), and, as root with bpftrace,
# whether the detached build makes the same system calls per request as the
# untraced one (bench/asio/shipped_syscalls.sh): if so the kernel's work is
# the same, and the user-space ratio scaled by the user share of CPU time is
# the whole process's. The CPU-time comparison with
# confidence intervals and the attached variant, minutes long, is
# bench/asio/cpu.sh, run on its own.
step_asio() {
    local target=1.005 dir line example
    dir=$(dirname "${BASH_SOURCE[0]}")/asio
    need "$BIN/asio_echo" "$BIN/asio_echo_untraced" "$BIN/asio_echo_client" || return 0
    "$dir/throughput.sh" "$BIN" "$OUT" | tee "$OUT/asio_throughput.txt" || { fail "bench/asio/throughput.sh failed"; return 0; }
    line=$(grep '^asio_throughput ' "$OUT/asio_throughput.txt" || true)
    [ -n "$line" ] || { fail "bench/asio/throughput.sh printed no result"; return 0; }
    asio_field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$line"; }
    summary ""
    summary "Asio integration, detached (asio_echo with the flag vs without; $(asio_field rounds) rounds of fresh servers,"
    summary "  $(asio_field connections) connections, $(asio_field messages) echoed messages per round and server, loopback):"
    summary "$(printf '  %-44s %12.1f msgs/s' 'with the flag, no tracer (median)' "$(asio_field traced_median)")"
    summary "$(printf '  %-44s %12.1f msgs/s' 'without the flag (median)' "$(asio_field untraced_median)")"
    summary "$(printf '  %-44s %12s (best round of each)' 'ratio of the best rounds' "$(asio_field ratio_best)x")"
    summary "$(printf '  %-44s %12s (two untraced servers: the noise floor)' 'control ratio (median)' "$(asio_field control_median)x")"
    verdict "asio: untraced / traced msgs/s (median)" "$(asio_field ratio_median)" "$target"
    if command -v valgrind >/dev/null; then
        if "$dir/instructions.sh" "$BIN" "$OUT" | tee "$OUT/asio_instructions.txt"; then
            line=$(grep '^asio_instructions ' "$OUT/asio_instructions.txt" || true)
            summary "$(printf '  %-44s %12s instructions per echoed message (exact)' \
                "detached cost in cotrace's hooks (callgrind)" "$(asio_field hooks)")"
        else
            fail "bench/asio/instructions.sh failed"
        fi
        if [ -x "$BIN/asio_shipped_http_server" ] && [ -x "$BIN/asio_shipped_echo_server" ]; then
            if "$dir/shipped_instructions.sh" "$BIN" "$OUT" | tee "$OUT/asio_shipped_instructions.txt"; then
                for example in http echo; do
                    line=$(grep "^asio_shipped_instructions $example " "$OUT/asio_shipped_instructions.txt" || true)
                    summary "$(printf '  %-44s %12s user-space instructions per request, detached / untraced (%s in the hooks)' \
                        "Asio's shipped $example example (callgrind)" "$(asio_field ratio)x" "$(asio_field hooks)")"
                done
            else
                fail "bench/asio/shipped_instructions.sh failed"
            fi
        fi
    fi
    if [ -x "$BIN/asio_shipped_http_server" ] && [ -x "$BIN/asio_shipped_echo_server" ] &&
        [ "$(id -u)" = 0 ] && command -v bpftrace >/dev/null; then
        if "$dir/shipped_syscalls.sh" "$BIN" "$OUT" | tee "$OUT/asio_shipped_syscalls.txt"; then
            for example in http echo; do
                line=$(grep "^asio_shipped_syscalls $example \(same\|differ\) " \
                    "$OUT/asio_shipped_syscalls.txt" || true)
                summary "$(printf '  %-44s %12s system calls per request as the untraced build (bpftrace); speculative reads differ by %s a request (spread %s)' \
                    "Asio's shipped $example example, detached" "$(awk '{ print $3 }' <<<"$line")" \
                    "$(asio_field difference)" "$(asio_field spread)")"
            done
        else
            fail "bench/asio/shipped_syscalls.sh failed"
        fi
    fi
}

# ---- step: attach_latency -------------------------------------------------------
# cotrace -v reports both figures itself ("first event collected X ms after
# attaching began", "N threads ... stopped at attach: median X ms, max Y ms").
# Each round attaches to a fresh target for a fraction of a second. With
# BENCH_ATTACH_BASELINE=PATH (another build's cotrace), each round measures
# that binary too, on its own fresh target, the two in turn: a before/after
# in one run, under the same load.
attach_latency_round() {  # COTRACE THREADS OUT: appends "first median max unwound"
    local pid log first median max unwound
    rm -f "$OUT/attach_target.out"
    "$BIN/attach_threads" --threads "$2" >"$OUT/attach_target.out" &
    pid=$!
    until grep -q ready "$OUT/attach_target.out" 2>/dev/null; do sleep 0.01; done
    log=$("$1" -v attach -p "$pid" --duration 0.3 -f stats -o /dev/null 2>&1 || true)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    first=$(sed -n 's/.*first event collected \([0-9.]*\) ms.*/\1/p' <<<"$log")
    median=$(sed -n 's/.*stopped at attach: median \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\1/p' <<<"$log")
    max=$(sed -n 's/.*stopped at attach: median \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\2/p' <<<"$log")
    # Stacks unwound after the threads went again (a cotrace that reads
    # them while holding the threads reports none: 0).
    unwound=$(sed -n 's/.*stacks unwound in \([0-9.]*\) ms after.*/\1/p' <<<"$log")
    [ -n "$first" ] && [ -n "$median" ] || { fail "attach_latency: no figures from $1: $log"; return 1; }
    echo "$first $median $max ${unwound:-0}" >>"$3"
}

step_attach_latency() {
    need "$BIN/attach_threads" "$BIN/cotrace" || return 0
    if [ "$(id -u)" -ne 0 ]; then
        fail "attach_latency needs root (real BPF)"
        return 0
    fi
    local rounds=${BENCH_ATTACH_ROUNDS:-5} baseline=${BENCH_ATTACH_BASELINE:-} n r v
    local variants=(this)
    if [ -n "$baseline" ]; then
        [ -x "$baseline" ] || { fail "attach_latency: BENCH_ATTACH_BASELINE=$baseline is not an executable"; return 0; }
        variants=(baseline this)
    fi
    summary ""
    summary "Attach latency (median of $rounds rounds; ms)${baseline:+, baseline $baseline}:"
    summary "$(printf '  %-10s %-9s %22s %22s %22s %16s' threads cotrace 'attach->first event' 'stopped/thread median' 'stopped/thread max' 'unwound after')"
    for n in 2 16 64; do
        for v in "${variants[@]}"; do : >"$OUT/attach_latency_${v}_$n.txt"; done
        for r in $(seq "$rounds"); do
            attach_latency_round "$BIN/cotrace" "$n" "$OUT/attach_latency_this_$n.txt" || return 0
            [ -z "$baseline" ] || attach_latency_round "$baseline" "$n" "$OUT/attach_latency_baseline_$n.txt" || return 0
        done
        for v in "${variants[@]}"; do
            summary "$(awk -v n="$n" -v v="$v" '{ f[NR] = $1; m[NR] = $2; x[NR] = $3; u[NR] = $4 }
                function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                             return a[int((k + 1) / 2)] }
                END { printf "  %-10s %-9s %22.3f %22.3f %22.3f %16.3f", n, v, med(f, NR), med(m, NR), med(x, NR), med(u, NR) }' "$OUT/attach_latency_${v}_$n.txt")"
        done
    done
}

step_stacks() {
    need "$BIN/stacks_heap" "$BIN/cotrace" || return 0
    if [ "$(id -u)" -ne 0 ]; then
        fail "stacks needs root (reads another process's memory)"
        return 0
    fi
    local rounds=${BENCH_STACKS_ROUNDS:-3} requests=100000 mib=1024 pid r
    rm -f "$OUT/stacks_target.out"  # the wait below must not see a previous run's "ready"
    "$BIN/stacks_heap" "$requests" "$mib" >"$OUT/stacks_target.out" &
    pid=$!
    until grep -q ready "$OUT/stacks_target.out" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { fail "stacks: the target died: $(cat "$OUT/stacks_target.out")"; return 0; }
        sleep 0.05
    done
    : >"$OUT/stacks_rounds.txt"
    for r in $(seq "$rounds"); do
        /usr/bin/time -f '%e %M' -o "$OUT/stacks_time.txt" "$BIN/cotrace" stacks -p "$pid" --format json \
            >"$OUT/stacks.json" || { fail "stacks: cotrace failed"; break; }
        # wall s, peak KiB, scan s, frames, requests, bytes scanned
        echo "$(cat "$OUT/stacks_time.txt") $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]));
print(j["scan_ns"] / 1e9, j["frames"], len(j["requests"]), j["bytes_scanned"])' "$OUT/stacks.json")" \
            >>"$OUT/stacks_rounds.txt"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    summary ""
    summary "cotrace stacks, $requests hung requests in a ${mib} MiB heap (best of $rounds):"
    summary "$(sort -n "$OUT/stacks_rounds.txt" | head -1 | awk '{ printf "  wall %.2f s, scan %.2f s (%.0f MiB at %.0f MiB/s), peak RSS %.1f MiB, %d frames, %d requests", $1, $3, $6 / 1048576, $6 / 1048576 / $3, $2 / 1024, $4, $5 }')"
}

# ---- run ----------------------------------------------------------------------
for step in "${STEPS[@]}"; do
    if ! declare -F "step_$step" >/dev/null; then
        say "bench: unknown step '$step'" >&2
        exit 2
    fi
    say ""
    say "==== $step"
    "step_$step"
done

say ""
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
say "==== summary ($(nproc) cores, kernel $(uname -r), $("${cxx:-c++}" --version | head -1))"
cat "$SUMMARY"
say ""
say "Raw results: $OUT/"
[ "$FAILED" -eq 0 ] || exit 1
[ "$MISSED" -eq 0 ] || [ "${BENCH_STRICT:-0}" != 1 ] || exit 1
exit 0
