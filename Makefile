# fimbeat: `make run` (watch a demo tree, events to a local file) and `make test`.
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= Release
HOME_DIR ?= $(BUILD_DIR)/home
PYTHON ?= /usr/bin/python3
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

# The Debian packages fimbeat is built from (compilers, tools and the -dev packages of its libraries).
BUILD_PACKAGES := g++ cmake ninja-build pkg-config make \
  libcurl4-openssl-dev libsimdjson-dev rapidjson-dev libssl-dev librocksdb-dev \
  doctest-dev libyaml-cpp-dev libre2-dev libspdlog-dev \
  libfmt-dev libb2-dev libxxhash-dev libmagic-dev libcpp-httplib-dev zlib1g-dev \
  libacl1-dev libselinux1-dev libelf-dev duktape-dev libgit2-dev librpm-dev
# What the tests and the benchmarks need besides: their runner, the tools fimbeat is compared with,
# and what the package, service, deploy, keystore and TLS tests check with (openssl makes their certificates;
# rpm builds and installs the RPM package verification tests' package).
TEST_PACKAGES := python3 python3-pytest python3-yaml python3-jsonschema aide inotify-tools \
  dpkg-dev file lintian systemd man-db python3-cryptography openssl rpm
# What `make fuzz` needs besides: clang 16 and its libFuzzer (Debian's clang 14 cannot compile fimbeat's C++23).
FUZZ_PACKAGES := clang-16 libclang-rt-16-dev
# Seconds each fuzz target runs; the inputs that reach new code are merged into tests/fuzz/corpus/.
FUZZ_SECONDS ?= 120
FUZZ_TARGETS := elf_parser go_line_table
FUZZ_DIR := build-fuzz
# What `make package` needs besides the build packages: CPack finds the binaries with file(1), and
# dpkg-shlibdeps computes their dependencies.
PACKAGE_PACKAGES := dpkg-dev file

.PHONY: deps test-deps configure build package test unit integration fuzz run bench bench-scan bench-latency bench-output bench-packages clean

# Installs what is missing of $(1), saying what before apt-get runs.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing these Debian packages with apt-get:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))

configure: deps
	cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

# The binary only.
build: configure
	cmake --build $(BUILD_DIR) --parallel 2 --target fimbeat

# build/fimbeat_<version>_amd64.deb (see docs/operations.md).
package: configure
	$(call install_missing,$(PACKAGE_PACKAGES))
	cmake --build $(BUILD_DIR) --parallel 2 --target fimbeat fim_package_files
	cd $(BUILD_DIR) && cpack -G DEB

unit: test-deps configure
	cmake --build $(BUILD_DIR) --parallel 2
	ctest --test-dir $(BUILD_DIR) --output-on-failure

integration: build test-deps
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) -m pytest -q integration-tests

test: unit integration

# libFuzzer (with AddressSanitizer and UBSan) on file_parsers' ELF parser and the Go line table reader,
# FUZZ_SECONDS each, from the kept corpus and fresh seeds (build-fuzz/fuzz_seeds). A crash stops here,
# its input left in $(FUZZ_DIR)/. Then the smallest set of inputs covering all that was reached, less
# those over 3000 bytes (the corpus stays a few hundred KB), replaces tests/fuzz/corpus/<target>
# (seed-* and regression-* files stay), which the unit tests replay in every build.
fuzz: deps
	$(call install_missing,$(FUZZ_PACKAGES))
	CC=clang-16 CXX=clang++-16 cmake -S . -B $(FUZZ_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIM_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_DIR) --parallel 2 --target fuzz_seeds $(addprefix fuzz_,$(FUZZ_TARGETS))
	rm -rf $(FUZZ_DIR)/seeds $(FUZZ_DIR)/found $(FUZZ_DIR)/kept && $(FUZZ_DIR)/fuzz_seeds $(FUZZ_DIR)/seeds
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/found/$$t $(FUZZ_DIR)/kept/$$t; \
	  $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 $(FUZZ_DIR)/found/$$t tests/fuzz/corpus/$$t $(FUZZ_DIR)/seeds/$$t; \
	  $(FUZZ_DIR)/fuzz_$$t -set_cover_merge=1 -max_len=8192 $(FUZZ_DIR)/kept/$$t tests/fuzz/corpus/$$t \
	    $(FUZZ_DIR)/seeds/$$t $(FUZZ_DIR)/found/$$t; \
	  find tests/fuzz/corpus/$$t -type f ! -name 'seed-*' ! -name 'regression-*' -delete; \
	  find $(FUZZ_DIR)/kept/$$t -type f -size -3001c -exec cp {} tests/fuzz/corpus/$$t/ \; ; \
	done
	du -sh tests/fuzz/corpus/*

# Watches $(HOME_DIR)/demo (created here) and writes events under $(HOME_DIR)/data/events.
# -c is absolute: as in Beats, a relative one is read from path.config (path.home by default).
run: build
	@chmod go-w deploy/fimbeat.yml
	@deploy/make-demo-tree.sh $(HOME_DIR)/demo
	$(BUILD_DIR)/fimbeat run -e -c $(CURDIR)/deploy/fimbeat.yml --path.home $(HOME_DIR)

# Every benchmark; each writes its section of bench/RESULTS.md.
bench: bench-scan bench-latency bench-output bench-packages

bench-scan: build test-deps
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) bench/bench_scan.py

bench-packages: build test-deps
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) bench/bench_packages.py

bench-latency: build test-deps
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat $(PYTHON) bench/bench_latency.py

bench-output: build test-deps
	cmake --build $(BUILD_DIR) --parallel 2 --target bench_queue_fill
	FIMBEAT_BIN=$(abspath $(BUILD_DIR))/fimbeat QUEUE_FILL_BIN=$(abspath $(BUILD_DIR))/bench_queue_fill \
	  $(PYTHON) bench/bench_output.py

clean:
	rm -rf $(BUILD_DIR)
