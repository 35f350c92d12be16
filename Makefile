# The README's two commands:
#   make demo   installs what is missing, builds Release, runs the main job
#   make test   installs what is missing, builds with sanitizers, runs ctest
# Both work on a fresh Debian 12 machine as root (or with sudo).
# Also: make bench builds Release with the benchmarks and runs them;
# make format / format-check / tidy: the C++ style (.clang-format,
# .clang-tidy).

JOBS     ?= $(shell nproc)
BUILD    ?= build/release
TESTBLD  ?= build/test
FUZZBLD  ?= build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_OUT ?= $(FUZZBLD)/runs
OUT      ?= out
BENCH_DOC ?= docs/bench.md
MARSC    := $(BUILD)/tools/marsc/marsc

.PHONY: all deps build build-test build-fuzz demo test fuzz bench package \
        format format-check tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMARS_BUILD_TESTS=OFF
	cmake --build $(BUILD) -j $(JOBS)

# Debug with AddressSanitizer and UndefinedBehaviorSanitizer: the tests feed
# the tools hostile files, and the sanitizers turn silent corruption into
# failures. -Werror (MARS_WERROR): the tree builds without a warning.
TEST_CONFIG := -DCMAKE_BUILD_TYPE=Debug \
  -DMARS_SANITIZE=address,undefined -DMARS_BUILD_TESTS=ON -DMARS_WERROR=ON \
  -DMARS_FUZZ_BUILD_DIR=$(abspath $(FUZZBLD))
build-test: deps
	cmake -S . -B $(TESTBLD) $(TEST_CONFIG)
	cmake --build $(TESTBLD) -j $(JOBS)

# The libFuzzer targets of test/fuzz (clang, ASan+UBSan, no tests, no
# LibTorch). make test builds them too: its fuzz_<name> ctests run each for
# 30 s beside the other tests.
build-fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZBLD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DMARS_FUZZ=ON -DMARS_SANITIZE=address,undefined -DMARS_WERROR=ON \
	  -DMARS_BUILD_TESTS=OFF -DMARS_WITH_TRAIN=OFF
	cmake --build $(FUZZBLD) -j $(JOBS) --target mars_fuzz_targets

# format-check first: it takes seconds, the tests twenty minutes.
test: format-check build-test build-fuzz
	cd $(TESTBLD) && ctest --output-on-failure -j $(JOBS)

# The C++ style: .clang-format (clang-format 14) on every tracked *.cpp/*.h
# outside third_party/ (scripts/format.sh). format rewrites the files,
# format-check only lists the ones that differ and fails.
format: deps
	bash scripts/format.sh

format-check: deps
	bash scripts/format.sh --check

# clang-tidy (.clang-tidy) on the test build's compile_commands.json
# (configured, not built): a report of warnings by check, not part of
# make test. scripts/tidy.sh DIR PATH... checks one folder.
tidy: deps
	cmake -S . -B $(TESTBLD) $(TEST_CONFIG)
	bash scripts/tidy.sh $(TESTBLD)

# Each fuzz target for FUZZ_SECONDS on a copy of its seed corpus; prints the
# executions per target and the folder holding any crash input
# ($(FUZZ_OUT)/<target>/crashes/). Fails when any target found something.
fuzz: build-fuzz
	bash test/fuzz/run_all.sh $(FUZZBLD) $(FUZZ_SECONDS) $(FUZZ_OUT)

# A Debian package of the Release build (cmake/Install.cmake): marsc,
# marsc-train, the libraries, headers and find_package(marsc) under /usr;
# install it with `apt-get install ./$(BUILD)/marsc_*.deb`.
package: build
	cd $(BUILD) && cpack -G DEB

# The main job: train, compile, run on the default data (examples/demo.sh).
demo: build
	bash examples/demo.sh $(MARSC) $(OUT)

# The benchmarks of test/bench/README.md, one after another (each prints
# its ratios against a reference measured in the same run; none fails);
# test/bench/run_all.sh also writes their outputs to docs/bench.md (or
# BENCH_DOC), the source of every speed figure in the README.
# bench_train_step and bench_simulator need LibTorch, like marsc train.
# bench_vs_onnxruntime.sh installs onnxruntime-node with npm into
# ~/.cache/marsc-bench when missing (the only step here that needs the npm
# registry; without it, it says so and falls back to bench_simulator).
bench: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMARS_BUILD_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS) --target marsc bench_compile \
	  bench_macro_kernels bench_simulator bench_train_step
	bash test/bench/run_all.sh $(BUILD) $(OUT) $(abspath $(BENCH_DOC))

clean:
	rm -rf build $(OUT)
