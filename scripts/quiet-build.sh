#!/usr/bin/env bash
# Builds a configured build tree showing only its progress on one line; the
# full log is printed when the build fails. Usage: quiet-build.sh BUILD_DIR JOBS [TARGET...]
set -uo pipefail
build=$1 jobs=$2
shift 2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Progress lines look like "[ 42%] Building CXX object ..." (CMake's Makefiles).
cmake --build "$build" -j"$jobs" "${targets[@]}" 2>&1 | tee "$log" |
  while IFS= read -r line; do
    case $line in
      \[*%\]*) [ -t 2 ] && printf '\rbuilding %s' "${line:1:4}" >&2 ;;
    esac
  done
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  [ -t 2 ] && printf '\r' >&2
  cat "$log" >&2
  echo "build failed (see above)" >&2
  exit "$status"
fi
if [ -t 2 ]; then printf '\rbuilt %s          \n' "$build" >&2; else echo "built $build" >&2; fi
