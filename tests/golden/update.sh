#!/bin/sh
# Regenerates the golden files of tests/golden: what `ctest -R golden`
# compares byte for byte.
#
#   tests/golden/update.sh [--record] [BUILD_DIR]
#
# Without --record: rewrites tests/golden/expected/ from the committed
# recordings tests/golden/data/NAME.cotrace, with this build's
#   NO_COLOR=1 cotrace report data/NAME.cotrace -f FORMAT -o expected/NAME.FORMAT
# for FORMAT in jsonl tree dot stats chrome, and expected/NAME.summary: the
# summary line cotrace prints on stderr. Run it after a deliberate change to
# an output format, then review `git diff tests/golden` before committing.
#
# With --record (as root, with BPF): first records tests/golden/data/ anew
# from the demo workload (for a change to the recording format, the probe
# protocol or examples/pipeline.cpp), then rewrites expected/ from them:
#   pipeline-6         pipeline -n 6 -q --threads 2
#   pipeline-6-fail3   pipeline -n 6 -q --threads 2 --fail-every 3
# (requests 2 and 5 fail). Recordings keep the pids, tids, times and source
# paths of the session that made them, so expected/ stays stable until the
# next --record.
#
# BUILD_DIR (default: build, beside tests/) holds bin/cotrace and bin/pipeline;
# build them first (cmake --build BUILD_DIR --target cotrace_cli pipeline).
# The list of recordings and formats is also in support/golden.cpp.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
record=0
build=""
for arg in "$@"; do
    case $arg in
        --record) record=1 ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "update.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) build=$arg ;;
    esac
done
build=${build:-$root/build}
cotrace=$build/bin/cotrace
pipeline=$build/bin/pipeline
[ -x "$cotrace" ] || { echo "update.sh: no $cotrace (build the cotrace_cli target first)" >&2; exit 1; }

formats="jsonl tree dot stats chrome"
recordings="pipeline-6 pipeline-6-fail3"

workload() {
    case $1 in
        pipeline-6) echo "-n 6 -q --threads 2" ;;
        pipeline-6-fail3) echo "-n 6 -q --threads 2 --fail-every 3" ;;
    esac
}

mkdir -p "$here/data" "$here/expected"
if [ $record = 1 ]; then
    [ -x "$pipeline" ] || { echo "update.sh: no $pipeline (build the pipeline target first)" >&2; exit 1; }
    for name in $recordings; do
        # shellcheck disable=SC2046 # the workload's arguments, split
        "$cotrace" run --save "$here/data/$name.cotrace" -f jsonl -o /dev/null -- \
            "$pipeline" $(workload "$name") >/dev/null
        echo "recorded data/$name.cotrace ($(wc -c <"$here/data/$name.cotrace") bytes)"
    done
fi

rm -f "$here"/expected/*
for name in $recordings; do
    rec=$here/data/$name.cotrace
    [ -f "$rec" ] || { echo "update.sh: no $rec (record it with --record)" >&2; exit 1; }
    for format in $formats; do
        NO_COLOR=1 COLUMNS= "$cotrace" report "$rec" -f "$format" -o "$here/expected/$name.$format" \
            2>"$here/expected/$name.summary"
    done
    echo "wrote expected/$name.{$(echo "$formats" | tr ' ' ','),summary}: $(cat "$here/expected/$name.summary")"
done
