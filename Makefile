# The README's two commands, and a few helpers around the CMake build.
#   make run   install what is missing, build, start the daemon (demo data, store var/oms) and
#              the simulated venue (scripts/run.sh); Ctrl-C stops both
#   make test  install what is missing, build, run every test
# CMake does the real work; this file only sequences it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# more flags for omsd (make run RUN_ARGS=...); SIM_ARGS in the environment for oms-venue-sim
RUN_ARGS   ?=

.PHONY: deps build run test test-asan bench format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@OMSD_ARGS="$(RUN_ARGS)" bash scripts/run.sh $(BUILD)/bin

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOMS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@bash scripts/bench-all.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD)
