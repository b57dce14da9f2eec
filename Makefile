# Gatehouse: the two commands a newcomer needs are `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build deps test-deps web run test test-asan fuzz unit store-test e2e bench clean

all: build

deps:
	@bash scripts/deps.sh

test-deps:
	@bash scripts/deps.sh --test

# The dashboard (TypeScript, Vite): npm packages and the build into web/dist.
web:
	@bash scripts/web.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps web $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p data
	$(BUILD)/gatehouse serve --db sqlite:./data/gatehouse.db --listen 127.0.0.1:8080

test: test-deps web $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	bash scripts/test.sh $(BUILD)

# The unit, store conformance and end-to-end suites against an AddressSanitizer and
# UndefinedBehaviorSanitizer build (any report fails the run). Slow: see the README.
ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan: test-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGATEHOUSE_JEMALLOC=OFF \
	  -DCMAKE_CXX_FLAGS="$(ASAN_FLAGS)" -DCMAKE_EXE_LINKER_FLAGS="$(ASAN_FLAGS)"
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 bash scripts/test.sh build-asan

# libFuzzer (clang) builds of every harness in fuzz/, each run for FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
fuzz: test-deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) bash scripts/fuzz.sh

bench: test-deps
	bash bench/run.sh

clean:
	rm -rf $(BUILD)
