# Gatehouse: the two commands a newcomer needs are `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build deps test-deps web run test unit store-test e2e bench clean

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

bench: test-deps
	bash bench/run.sh

clean:
	rm -rf $(BUILD)
