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

# Instructions callgrind attributes to cotrace's headers in one profile.
in_cotrace() {
    callgrind_annotate --threshold=100 "$1" 2>/dev/null |
        awk '/^ *[0-9,]+ .*include\/cotrace\// { gsub(",", "", $1); s += $1 } END { print s + 0 }'
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Asio's shipped examples (cpp11/http/server, cpp17 coroutine echo_server).
#   shipped_docroot             $docroot: a directory with a 2 KiB index.html
#   shipped_start EXAMPLE BINARY LOG
#                               BINARY (http or echo) on CPU 0, waited for
#                               until it listens: sets $server and $port
#   shipped_load EXAMPLE COUNT  $CONNECTIONS clients of COUNT requests (http)
#                               or echoes each, on $client_cpu: prints the
#                               client's rate (requests or messages per s)

shipped_docroot() {
    docroot=$(mktemp -d)
    head -c 2048 /dev/zero | tr '\0' 'x' >"$docroot/index.html"
}

shipped_start() {
    local example=$1 bin=$2 log=$3 i
    if [ "$example" = http ]; then
        port=$(free_port)
        taskset -c 0 "$bin" 127.0.0.1 "$port" "$docroot" >"$log" 2>&1 &  # execs: $! is the server
    else
        port=55555  # hard-coded in the example
        taskset -c 0 "$bin" >"$log" 2>&1 &
    fi
    server=$!
    for i in $(seq 1 2000); do listening "$port" && break; sleep 0.005; done
    listening "$port" || { echo "$asio_bench_script: $bin does not listen on $port" >&2; exit 1; }
}

shipped_load() {
    local line
    if [ "$1" = http ]; then
        line=$(pin "$client_cpu" "$BIN/asio_http_load" --port "$port" --clients "$CONNECTIONS" --requests "$2")
        awk '{ for (i = 1; i < NF; i++) if ($i == "requests_per_s") print $(i + 1) }' <<<"$line"
    else
        line=$(pin "$client_cpu" "$BIN/asio_echo_client" --port "$port" --connections "$CONNECTIONS" \
            --messages "$2" --timeout-s 300)
        awk '{ for (i = 1; i < NF; i++) if ($i == "messages_per_s") print $(i + 1) }' <<<"$line"
    fi
}
