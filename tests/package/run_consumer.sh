#!/usr/bin/env bash
# Packaging test: builds tests/package/consumer against cotrace and runs it.
#   run_consumer.sh MODE SOURCE_DIR WORK_DIR CMAKE CXX GENERATOR
# MODE find_package:     configure the cotrace source tree alone (collector,
#                        tests, examples and benchmarks off), `cmake --install`
#                        it into WORK_DIR/prefix, then build the consumer with
#                        find_package(cotrace CONFIG REQUIRED).
# MODE add_subdirectory: the consumer adds the source tree with add_subdirectory().
# Either way the consumer must build, print the expected results, and carry
# the cotrace probes (it is built with probes on).
set -euo pipefail

mode=$1 src=$2 work=$3 cmake=$4 cxx=$5 generator=$6
here=$(cd "$(dirname "$0")" && pwd)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work"
common=(-G "$generator" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release)

case "$mode" in
find_package)
    prefix=$work/prefix
    "$cmake" -S "$src" -B "$work/cotrace" "${common[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCOTRACE_BUILD_COLLECTOR=OFF -DCOTRACE_BUILD_TESTS=OFF \
        -DCOTRACE_BUILD_EXAMPLES=OFF -DCOTRACE_BUILD_BENCH=OFF
    "$cmake" --build "$work/cotrace"
    "$cmake" --install "$work/cotrace"

    # The installed tree is self-contained: real files, no links out of it.
    links=$(find "$prefix" -type l)
    [ -z "$links" ] || fail "symbolic links in the installed tree: $links"
    for f in include/cotrace/cotrace.hpp include/cotrace/detail/probe.hpp \
        include/cotrace/detail/cotrace_probes.h; do
        [ -f "$prefix/$f" ] || fail "not installed: $f"
    done
    cmp -s "$prefix/include/cotrace/detail/cotrace_probes.h" "$src/probes/cotrace_probes.h" ||
        fail "installed cotrace_probes.h differs from probes/cotrace_probes.h"
    config=$(find "$prefix" -name cotraceConfig.cmake)
    [ -n "$config" ] || fail "cotraceConfig.cmake not installed"

    # Copy the consumer away from the source tree so nothing can reach it.
    cp -r "$here/consumer" "$work/consumer-src"
    "$cmake" -S "$work/consumer-src" -B "$work/consumer" "${common[@]}" -DCONSUMER_MODE=find_package \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
    # The consumer compiled against the installed headers, not the source tree.
    grep -qF -- "$prefix/include" "$work/consumer/compile_commands.json" ||
        fail "consumer not compiled against $prefix/include"
    if grep -qF -- "$src/include" "$work/consumer/compile_commands.json"; then
        fail "consumer compiled against the source tree $src/include"
    fi
    ;;
add_subdirectory)
    "$cmake" -S "$here/consumer" -B "$work/consumer" "${common[@]}" -DCONSUMER_MODE=add_subdirectory \
        -DCOTRACE_SOURCE_DIR="$src"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac

"$cmake" --build "$work/consumer"
app=$work/consumer/app
[ -x "$app" ] || fail "no consumer executable at $app"

expected=$'sum_of_squares(4) = 30\nfan_out = 44'
actual=$("$app")
if [ "$actual" != "$expected" ]; then
    printf 'expected:\n%s\nactual:\n%s\n' "$expected" "$actual" >&2
    fail "consumer output differs"
fi

# Built with probes on: the collector must find them in the consumer.
if command -v readelf >/dev/null; then
    notes=$(readelf -n "$app")
    grep -q "Provider: cotrace" <<<"$notes" || fail "no cotrace probe notes in the consumer"
fi

echo "package $mode: ok"
