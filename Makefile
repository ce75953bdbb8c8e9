# The two commands of the README: `make run` and `make test`. Everything they need is built or
# installed by them; nothing relies on a hand-installed tool beyond the Rust toolchain.
CARGO ?= cargo
RELEASE_DIR := target/release
PLUGINS_DIR := target/plugins
# The first-party plugins the node runs with (crate names).
PLUGINS := ferrobeam-codecs ferrobeam-message ferrobeam-meta mydev

.PHONY: run build plugins test bench fmt lint

## Build the node and the first-party devices (release) and run the node on :8734.
run: plugins
	$(RELEASE_DIR)/ferrobeam serve --config devices.toml

## Build the node and the first-party device libraries, and install the libraries (atomically:
## write a temporary file, then rename) into the plugins folder named by devices.toml.
build:
	$(CARGO) build --release -p ferrobeam $(addprefix -p ,$(PLUGINS))

plugins: build
	@mkdir -p $(PLUGINS_DIR)
	@for p in $(PLUGINS); do \
		lib=lib$$(echo $$p | tr - _).so; \
		cp $(RELEASE_DIR)/$$lib $(PLUGINS_DIR)/.$$lib.tmp && mv -f $(PLUGINS_DIR)/.$$lib.tmp $(PLUGINS_DIR)/$$lib; \
	done
	@echo "installed $(PLUGINS) into $(PLUGINS_DIR)"

## Run every test: unit, doc, vector and end-to-end tests (which start real nodes).
test:
	$(CARGO) build --workspace
	$(CARGO) test --workspace

## Criterion benchmarks (the ABI bench loads the release message@1.0 library).
bench:
	$(CARGO) build --release -p ferrobeam-message
	$(CARGO) bench -p ferrobeam

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
