# The two commands of the README: `make run` and `make test`. Everything they need is built or
# installed by them; nothing relies on a hand-installed tool beyond the Rust toolchain.
CARGO ?= cargo
# Cargo's target folder: CARGO_TARGET_DIR when set (the binaries and the installed plugins go
# there), else target/.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
RELEASE_DIR := $(TARGET_DIR)/release
PLUGINS_DIR := $(TARGET_DIR)/plugins
# The first-party plugins the node runs with (crate names).
PLUGINS := ferrobeam-codecs ferrobeam-message ferrobeam-meta mydev ferrobeam-process ferrobeam-lua

.PHONY: run build build-deps plugins test npm-packages bench load targets layouts profile soak fuzz fmt lint

## Build the node and the first-party devices (release) and run the node on :8734.
run: plugins
	$(RELEASE_DIR)/ferrobeam serve --config devices.toml --plugins-dir $(PLUGINS_DIR)

## Build the node and the first-party device libraries, and install the libraries (atomically:
## write a temporary file, then rename) into the plugins folder named by devices.toml.
build: build-deps
	$(CARGO) build --release -p ferrobeam $(addprefix -p ,$(PLUGINS))

## What the build needs beyond Rust, make and a C compiler: the Perl modules OpenSSL's
## Configure uses (the node links an OpenSSL compiled from source; docs/operations.md).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
build-deps:
	@perl -MIPC::Cmd -MFile::Compare -MTime::Local -e 1 2>/dev/null || \
		{ echo "installing perl (OpenSSL's build needs it)"; \
		  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq perl; }

plugins: build
	@mkdir -p $(PLUGINS_DIR)
	@for p in $(PLUGINS); do \
		lib=lib$$(echo $$p | tr - _).so; \
		cp $(RELEASE_DIR)/$$lib $(PLUGINS_DIR)/.$$lib.tmp && mv -f $(PLUGINS_DIR)/.$$lib.tmp $(PLUGINS_DIR)/$$lib; \
	done
	@echo "installed $(PLUGINS) into $(PLUGINS_DIR)"

## Run every test: unit, doc, vector and end-to-end tests (which start real nodes), then the npm
## client tests (tests/npm: wao, hbsig and aoconnect against a real node, and the status page in
## headless Chromium). Installs what is missing: Perl for OpenSSL's build, Node.js, Debian's
## chromium, the pinned npm packages, and PostgreSQL's server binaries (the tests start their
## own servers in temp folders).
NPM_DIR := tests/npm

test: build-deps
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "installing Node.js (for the npm client tests)"; \
		  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ echo "installing PostgreSQL (for the several-nodes tests: tests/it/multinode.rs)"; \
		  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	@command -v chromium >/dev/null || \
		{ echo "installing chromium (for the status page test)"; \
		  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	$(CARGO) build --workspace
	FERROBEAM_REQUIRE_PG=1 $(CARGO) test --workspace
	@# device-api's unit tests again under AddressSanitizer (through RUSTC_BOOTSTRAP, as `make
	@# fuzz` does): a message's clone copies, and its drop forgets, entries that own no memory,
	@# unsafe blocks whose mistake would be a double free or a leak, which this run (with its
	@# leak checker) reports as a failure.
	RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" $(CARGO) test -p ferrobeam-device-api --lib \
		--target $(shell rustc -vV | sed -n 's/^host: //p')
	@$(MAKE) --no-print-directory npm-packages
	cd $(NPM_DIR) && node --test --test-concurrency=1 test/

## The npm clients the tests and `make targets` run, pinned by tests/npm/package-lock.json:
## (re)installed when missing or when the lockfile changed. The lockfile lists every platform's
## optional packages, which `npm ci` requires. Should an npm version still refuse it, `npm
## install --no-save` installs the same pinned versions and leaves the lockfile as it is.
npm-packages:
	@if [ ! -f $(NPM_DIR)/node_modules/.package-lock.json ] || \
	    [ $(NPM_DIR)/package-lock.json -nt $(NPM_DIR)/node_modules/.package-lock.json ]; then \
		cd $(NPM_DIR) && (npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund); \
	fi

## Criterion benchmarks (the ABI bench loads the release message@1.0 library).
bench:
	$(CARGO) build --release -p ferrobeam-message
	$(CARGO) bench -p ferrobeam

## The load command: the release node and a bare hyper server under the same wrk load, one table.
load: plugins
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(CARGO) build --release -p ferrobeam-load
	$(RELEASE_DIR)/ferrobeam-load

## Every performance target measured in one run, each against its baseline of the same run
## (bench/targets.sh): one table of verdicts at the end, each step's output in target/targets.
targets: plugins
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@command -v openssl >/dev/null || (apt-get update -qq && apt-get install -y -qq openssl)
	@command -v node >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	@$(MAKE) --no-print-directory npm-packages
	$(CARGO) build --release --workspace
	CARGO="$(CARGO)" ./bench/targets.sh

## Whether the working tree's codec round trip takes less CPU time than BASE's (a commit),
## over LAYOUTS link layouts of each (bench/layouts.sh): REQUEST 0-4 (26, 08, 07, 13, 22).
## `make layouts BASE=HEAD~1 REQUEST=3`.
REQUEST ?= 1
LAYOUTS ?= 6
ROUNDS ?= 10
layouts:
	@test -n "$(BASE)" || { echo "usage: make layouts BASE=<commit> [REQUEST=0-4]"; exit 2; }
	./bench/layouts.sh $(BASE) $(REQUEST) $(LAYOUTS) $(ROUNDS)

## Where one codec round trip's time goes beside where its instructions go, function by function
## (bench/profile.sh: callgrind and `perf record -e task-clock` of the same binary): REQUEST 0-4.
## `make profile REQUEST=2`. Installs valgrind and perf when missing.
TOP ?= 25
profile:
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	@command -v perf >/dev/null || (apt-get update -qq && apt-get install -y -qq linux-perf)
	./bench/profile.sh $(REQUEST) $(TOP)

## The soak run: ten minutes of mixed load with a reload every minute (docs/reliability.md).
## SOAK_SECS=60 make soak for a short one.
SOAK_SECS ?= 600
soak: plugins
	$(CARGO) build --release --workspace
	FERROBEAM_SOAK_SECS=$(SOAK_SECS) $(CARGO) bench -p ferrobeam-tests --bench soak

## Fuzzing (docs/reliability.md): seeds the corpora from ../shared/vectors, then runs every
## target for FUZZ_SECS seconds (default 60). cargo-fuzz is installed into target/tools when
## missing. libFuzzer's instrumentation needs `-Z` flags: the stable toolchain accepts them with
## RUSTC_BOOTSTRAP=1 (this machine has no other toolchain).
FUZZ_SECS ?= 60
## address (AddressSanitizer, cargo-fuzz's default) or none (about 5x faster; safe Rust's bugs are
## panics, which libFuzzer catches either way).
FUZZ_SANITIZER ?= address
FUZZ_TARGETS := path_parse flat_deserialize structured_decode ans104_decode json_decode httpsig_decode httpsig_verify \
	structured_paths httpsig_forms httpsig_roundtrip httpsig_joins
CARGO_FUZZ := target/tools/bin/cargo-fuzz
fuzz:
	@[ -x $(CARGO_FUZZ) ] || $(CARGO) install cargo-fuzz --locked --root target/tools
	python3 fuzz/seed.py
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZ_SECS) s)"; \
		(cd fuzz && RUSTC_BOOTSTRAP=1 ../$(CARGO_FUZZ) fuzz run --fuzz-dir libfuzzer -O -s $(FUZZ_SANITIZER) $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) || exit 1; \
	done

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
