#!/usr/bin/env bash
# Opens `cotrace --format chrome` where users open it: Chrome DevTools' trace
# engine (check_trace_engine.mjs) and speedscope in Debian's headless Chromium
# (check_speedscope.mjs), for a recording of the demo (tests/golden/data) and
# for a live Asio session (real BPF, as root: cotrace run of asio_echo driven
# by asio_echo_client). Fails, never skips, when node, npm or chromium are
# missing (scripts/install-deps.sh installs them); installs the pinned npm
# packages (package-lock.json) into tests/viewers/node_modules on first use.
#
#   run_viewers.sh recording COTRACE RECORDING OUT_DIR
#   run_viewers.sh asio COTRACE ASIO_ECHO ASIO_ECHO_CLIENT OUT_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "run_viewers: $*" >&2; exit 1; }
for tool in node npm /usr/bin/chromium; do
    command -v "$tool" >/dev/null || die "no $tool (run scripts/install-deps.sh as root)"
done
if [ ! -d "$here/node_modules/@paulirish/trace_engine" ] || [ ! -d "$here/node_modules/speedscope" ] ||
   [ ! -d "$here/node_modules/playwright-core" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $here"
fi

mode=${1:-}
case $mode in
    recording)
        [ $# -eq 4 ] || die "usage: run_viewers.sh recording COTRACE RECORDING OUT_DIR"
        cotrace=$2 rec=$3 out=$4
        mkdir -p "$out"
        name=$(basename "$rec" .cotrace)
        engine_args=()
        "$cotrace" report "$rec" -f chrome -o "$out/$name.json"
        ;;
    asio)
        [ $# -eq 5 ] || die "usage: run_viewers.sh asio COTRACE ASIO_ECHO ASIO_ECHO_CLIENT OUT_DIR"
        cotrace=$2 echo_server=$3 client=$4 out=$5
        mkdir -p "$out"
        name=asio-echo
        engine_args=(--no-nesting)  # each operation outlives the handler that began it
        # The server prints its port once it listens: read that line, then drive it.
        exec 3< <("$cotrace" run -f chrome -o "$out/$name.json" -- "$echo_server" --threads 2 --port 0 --sessions 4)
        server=$!
        read -r -t 60 line <&3 || die "asio_echo did not start under cotrace run"
        port=$(echo "$line" | sed -n 's/.* port \([0-9]*\) ready$/\1/p')
        [ -n "$port" ] || die "unexpected line from asio_echo: $line"
        "$client" --port "$port" --connections 4 --messages 400 --size 64 >/dev/null
        cat <&3 >/dev/null
        wait "$server" || die "cotrace run of asio_echo failed"
        ;;
    *) die "usage: run_viewers.sh recording|asio ..." ;;
esac

node "$here/check_trace_engine.mjs" "$out/$name.json" "${engine_args[@]}"
node "$here/check_speedscope.mjs" "$out/$name.json" "$out/$name.png"
