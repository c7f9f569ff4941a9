#!/usr/bin/env bash
# tests/layout/check_include_graph.sh DAEMON_DIR: fails when a stage of the
# daemon includes a stage it must not (DESIGN.md §2: data flows one way).
#
#   model   the neutral model and the assembler: includes no other stage
#   target  reading the process and its ELF objects: model
#   record  recordings: model
#   sinks   output formats: model
#   collect BPF and the live target: target, model
#   cli     wires everything
# error.hpp, loose in daemon/, is shared by every stage.
set -euo pipefail
dir=${1:?usage: $0 DAEMON_DIR}
declare -A allowed=(
    [model]="model"
    [target]="target model"
    [record]="record model"
    [sinks]="sinks model"
    [collect]="collect target model"
    [cli]="cli collect target model record sinks"
)
status=0
stages=0
for stage in "${!allowed[@]}"; do
    [ -d "$dir/$stage" ] || { echo "missing stage folder daemon/$stage" >&2; status=1; continue; }
    stages=$((stages + 1))
    while IFS= read -r line; do
        file=${line%%:*}
        included=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
        case $included in
            */*) ;;
            *) continue ;;  # error.hpp, cotrace_probes.h, generated skeletons
        esac
        target_stage=${included%%/*}
        if ! grep -qw -- "$target_stage" <<<"${allowed[$stage]}"; then
            echo "${file#"$dir"/} includes $included: $stage must not depend on $target_stage" >&2
            status=1
        fi
    done < <(grep -H '#include "' "$dir/$stage"/*.[ch]pp)
done
loose=$(find "$dir" -maxdepth 1 -name '*.[ch]pp' | wc -l)
if [ "$loose" -gt 3 ]; then
    echo "$loose sources loose in daemon/ (at most 3: put them in their stage)" >&2
    status=1
fi
[ "$status" -eq 0 ] && echo "include graph of $stages stages runs one way; $loose loose sources"
exit $status
