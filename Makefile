# cotrace: `make run` traces the demo live, `make test` runs every test.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build build-asan run test test-unit test-asan bench clean

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
	cd $(BUILD_ASAN) && ctest --output-on-failure -j1

bench: build
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
