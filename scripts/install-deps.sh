#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking cotrace needs.
# Idempotent and fast when everything is present: it only calls apt when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config binutils
  clang llvm                      # BPF programs are compiled with clang -target bpf
  clang-15                        # a workload built with clang (the library needs clang >= 15)
  libclang-rt-14-dev              # libFuzzer and clang's sanitizer runtimes (make fuzz)
  libbpf-dev bpftool              # libbpf + skeleton generation
  libelf-dev zlib1g-dev           # libbpf's link dependencies; ELF note/symbol reading
  libdw-dev                       # DWARF: where suspended frames wait (cotrace stacks)
  libunwind-dev                   # unwinding the target's threads at attach (libunwind-ptrace)
  systemtap-sdt-dev               # <sys/sdt.h>: the USDT probes
  libspdlog-dev libfmt-dev        # diagnostics
  libcli11-dev nlohmann-json3-dev # arguments, JSON
  libgtest-dev libgmock-dev libbenchmark-dev
  bpftrace                        # the independent oracle in e2e tests and the benchmark baseline
  graphviz                        # renders --format dot in tests
  tmux                            # drives `cotrace top` on a terminal in e2e tests
  valgrind                        # instruction counts in benchmarks
  python3                         # free ports and confidence intervals in the Asio benchmarks (bench/asio)
  libasio-dev                     # Asio integration
  libcurl4-openssl-dev            # --otlp-endpoint: OTLP/HTTP export
  libasio-doc                     # Asio's shipped examples, built and traced in e2e tests
  libboost-dev                    # Boost.Asio spelling of the Asio hooks, checked in tests
  chromium                        # headless, loads --format chrome into speedscope in tests
)
# node and npm run the npm-packaged checkers (tests/viewers, tests/otlp); a
# node installed some other way (with its own npm) is used as it is (Debian's
# npm conflicts with other Node.js builds).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
