# fimbeat: `make run` (watch a demo tree, events to a local file) and `make test`.
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= Release
HOME_DIR ?= $(BUILD_DIR)/home
PYTHON ?= /usr/bin/python3
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

# Every Debian package the build, the tests and the benchmarks need.
DEB_PACKAGES := g++ cmake ninja-build pkg-config make python3 python3-pytest \
  libcurl4-openssl-dev libsimdjson-dev rapidjson-dev libssl-dev librocksdb-dev \
  libboost-program-options-dev doctest-dev libyaml-cpp-dev libre2-dev libspdlog-dev \
  libfmt-dev libb2-dev libxxhash-dev libmagic-dev libcpp-httplib-dev zlib1g-dev \
  libacl1-dev libselinux1-dev aide inotify-tools

.PHONY: deps build test unit integration run bench bench-scan  bench-latency bench-output clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	cmake --build $(BUILD_DIR) --parallel 2

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

integration: build
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) -m pytest -q integration-tests

test: unit integration

# Watches $(HOME_DIR)/demo (created here) and writes events under $(HOME_DIR)/data/events.
run: build
	@chmod go-w deploy/fimbeat.yml
	@deploy/make-demo-tree.sh $(HOME_DIR)/demo
	$(BUILD_DIR)/fimbeat run -e -c deploy/fimbeat.yml --path.home $(HOME_DIR)

bench: bench-scan bench-latency bench-output

# fimbeat's first and second scans beside aide --init and find | xargs sha256sum (issue: baseline).
bench-scan: build
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) integration-tests/bench/bench_scan.py

# Event latency beside inotifywait, storm throughput, RSS with 100,000 watched directories (issue: realtime).
bench-latency: build
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) integration-tests/bench/bench_latency.py

# Draining a 1,000,000-event backlog into a fast Elasticsearch-compatible endpoint: events/s,
# CPU µs per event, peak RSS against a 200,000 backlog (issue: Elasticsearch output, ≥ 50,000 events/s per core).
bench-output: build
	cmake --build $(BUILD_DIR) --parallel 2 --target bench_queue_fill
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat QUEUE_FILL_BIN=$(abspath $(BUILD_DIR))/bench_queue_fill \
	  $(PYTHON) integration-tests/bench/bench_output.py

clean:
	rm -rf $(BUILD_DIR)
