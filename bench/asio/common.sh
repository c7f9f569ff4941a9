# Shared by the Asio benchmark scripts (sourced, not run): their arguments,
# the binaries they need, and the loopback helpers.
#
#   asio_bench_args "$@"        BIN_DIR OUT_DIR -> $BIN, $OUT (created)
#   asio_bench_need FILE...     each must be an executable in $BIN
#   pin CPU CMD...              CMD on CPU (taskset), or plain CMD without it
#   listening PORT              something listens on 127.0.0.1:PORT
#   free_port                   a port nothing uses now

asio_bench_script=$(basename "$0")

asio_bench_args() {
    if [ $# -ne 2 ]; then
        echo "usage: $asio_bench_script BIN_DIR OUT_DIR" >&2
        exit 2
    fi
    BIN=$1
    OUT=$2
    mkdir -p "$OUT"
}

asio_bench_need() {
    local f
    for f in "$@"; do
        [ -x "$BIN/$f" ] || { echo "$asio_bench_script: missing $BIN/$f (build it first)" >&2; exit 1; }
    done
}

pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

listening() {  # (from /proc/net/tcp: state 0A is LISTEN)
    awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' /proc/net/tcp
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
