# cotrace: `make run` traces the demo live, `make test` runs every test.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
# Not run in the sanitizer build: a 200k-message Asio session measured for
# peak RSS and output while open; under ASan (its shadow memory and
# quarantine, 10x slower) those figures mean nothing. It runs in the normal build.
ASAN_EXCLUDE ?= ALongSessionTracedFromItsStartReachesTheOutputInPartsWhileOpen
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build build-asan run test test-unit test-asan bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@MAKEFLAGS=--no-print-directory cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DCOTRACE_SANITIZE=ON \
		-DCOTRACE_BUILD_BENCH=OFF -DCOTRACE_BUILD_EXAMPLES=ON >/dev/null
	@MAKEFLAGS=--no-print-directory cmake --build $(BUILD_ASAN) -j$(JOBS)

# The demo workload traced live until it has served its requests: the build
# shows only its progress, then come the traces.
run: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@MAKEFLAGS= scripts/quiet-build.sh $(BUILD) $(JOBS) cotrace_cli pipeline
	@$(BUILD)/bin/cotrace run -- $(BUILD)/bin/pipeline --requests 20 --clients 2 --quiet

# Every test: the normal build (unit + e2e with real BPF, as root), then the
# ASan/UBSan build of the daemon and the tests.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j1
	cd $(BUILD_ASAN) && ctest --output-on-failure -j1 -E "$(ASAN_EXCLUDE)"

# Every libFuzzer harness (fuzz/) for FUZZ_SECONDS each, built with clang in
# $(BUILD_FUZZ), seeded from the demo's binary (built in $(BUILD)), its notes
# and the golden recordings.
fuzz: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pipeline
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOTRACE_BUILD_FUZZ=ON -DCOTRACE_BUILD_TESTS=OFF \
		-DCOTRACE_BUILD_EXAMPLES=OFF -DCOTRACE_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD_FUZZ) -j$(JOBS) --target cotrace_fuzzers
	fuzz/run.sh $(BUILD_FUZZ) $(BUILD) $(FUZZ_SECONDS)

bench: build
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
