#!/usr/bin/env bash
# Runs every fuzzer for a bounded time on a corpus seeded from the project's
# own workloads, then keeps what it found.
#   fuzz/run.sh FUZZ_BUILD BUILD [SECONDS]
# FUZZ_BUILD holds the libFuzzer binaries (make fuzz), BUILD the normal build
# (its demo binary and recordings are the seeds). Per fuzzer, the working
# corpus is FUZZ_BUILD/corpus/NAME_fuzzer (seeds + fuzz/corpus/NAME + what
# earlier runs found); a crash is left as FUZZ_BUILD/crashes/NAME_fuzzer/
# crash-* and fails the run. Once fixed, copy it into fuzz/corpus/NAME/, so
# the replay tests (ctest -R '^fuzz[.]') keep it fixed.
set -euo pipefail
fuzz_build=${1:?usage: fuzz/run.sh FUZZ_BUILD BUILD [SECONDS]}
build=${2:?usage: fuzz/run.sh FUZZ_BUILD BUILD [SECONDS]}
seconds=${3:-60}
src=$(cd "$(dirname "$0")/.." && pwd)

seed() {  # seed NAME FILE...
    local dir=$fuzz_build/corpus/$1
    shift
    mkdir -p "$dir"
    for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/"; done
    local committed=$src/fuzz/corpus/$(basename "$dir" _fuzzer)
    if [ -d "$committed" ]; then cp -f "$committed"/* "$dir/"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pipeline=$build/bin/pipeline
[ -x "$pipeline" ] || { echo "fuzz: $pipeline is missing; build it first (make build)" >&2; exit 1; }

# ELF: the demo stripped (its notes, symbols and data) and its probe-bearing
# sections alone (small, so mutations reach the notes quickly).
strip -o "$tmp/pipeline.elf" "$pipeline"
objcopy -j .note.stapsdt -j .stapsdt.base -j .probes -j .rodata -j .symtab -j .strtab \
    "$pipeline" "$tmp/pipeline-notes.elf" 2>/dev/null
seed elf_object_fuzzer "$tmp/pipeline.elf" "$tmp/pipeline-notes.elf"

# USDT arguments: every distinct argument string of the demo's notes.
i=0
readelf -n "$pipeline" | sed -n 's/^ *Arguments: //p' | sort -u | while IFS= read -r args; do
    printf '%s' "$args" > "$tmp/usdt-$i.txt"
    i=$((i + 1))
done
seed usdt_arguments_fuzzer "$tmp"/usdt-*.txt

# DWARF of coroutine frames: a small program with task frames, built by
# GCC 12 as a user would (-O2 -g), its debug sections alone.
g++ -std=c++20 -O2 -g -I"$src/include" -o "$tmp/frames" "$src/fuzz/seeds/coroutine_frames.cpp"
objcopy --only-keep-debug -R .debug_line -R .debug_line_str -R .debug_loclists -R .debug_rnglists \
    -R .debug_aranges "$tmp/frames" "$tmp/frames.debug"
seed frame_debug_info_fuzzer "$tmp/frames.debug"

# Recordings of the demo (the golden data): for the reader and the assembler.
seed recording_fuzzer "$src"/tests/golden/data/*.cotrace
seed assembler_fuzzer "$src"/tests/golden/data/*.cotrace

status=0
for name in recording_fuzzer elf_object_fuzzer usdt_arguments_fuzzer frame_debug_info_fuzzer assembler_fuzzer; do
    crashes=$fuzz_build/crashes/$name
    mkdir -p "$crashes"
    echo "fuzz: $name for ${seconds}s" >&2
    if ! "$fuzz_build/bin/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -max_len=400000 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$fuzz_build/corpus/$name" > "$fuzz_build/$name.log" 2>&1; then
        echo "fuzz: $name FAILED; see $fuzz_build/$name.log and $crashes/" >&2
        grep -m3 -E 'ERROR|runtime error|invariant violated|==[0-9]+==' "$fuzz_build/$name.log" >&2 || true
        status=1
    else
        grep -E '^stat::number_of_executed_units' "$fuzz_build/$name.log" | sed "s/^/fuzz: $name /" >&2 || true
    fi
done
exit $status
