# The two commands of the README:
#   make run   install what is missing, build (Release), start the local engine, run a worker
#   make test  install what is missing, build, start the local engine, run every test
BUILD_DIR ?= build
CONFIG ?= config/development.toml
JOBS ?= 2
# ccache: paths under the checkout are hashed relative to it, so a fresh clone elsewhere (CI)
# reuses the objects of earlier builds on the same machine.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all deps npm configure build run test engine engine-stop bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

npm:
	@scripts/install-npm.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release; fi

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

engine: deps
	@scripts/engine.sh start

engine-stop:
	@scripts/engine.sh stop

run: build engine
	@echo "Starting ciro-worker with $(CONFIG) (Ctrl-C stops it; token in data/api.token)"
	@exec $(BUILD_DIR)/src/app/ciro-worker --config $(CONFIG)

test: deps npm
	@scripts/test.sh $(BUILD_DIR)

bench: build engine
	@scripts/bench.sh $(BUILD_DIR)

fuzz: deps
	@scripts/fuzz.sh $${FUZZ_SECONDS:-60}

clean:
	rm -rf $(BUILD_DIR)
