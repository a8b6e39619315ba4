# Two entry points (see README): `make run` and `make test`.
SHELL := /bin/bash
DATA_DIR ?= $(CURDIR)/.data/up
HTTPS_PORT ?= 6443
ETCD_PORT ?= 2379

.PHONY: run test deps lint build bench

deps:
	bash scripts/test-deps.sh

build:
	cargo build --release -p capstan

# The main job: an all-in-one cluster (embedded etcd-compat + API server).
# Then: KUBECONFIG=$(DATA_DIR)/kubeconfig kubectl get namespaces
run: build
	./target/release/capstan up --data-dir $(DATA_DIR) --https-port $(HTTPS_PORT) --etcd-client-port $(ETCD_PORT)

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs: setup, lint gate, and every test (e2e included).
# The e2e tests run a copy of `capstan` built here first: building it from
# inside a test (the fallback) would compete for the CPU with the timing
# checks of the tests already running.
E2E_BIN := $(CURDIR)/target/e2e/capstan
test: deps lint
	cargo build -p capstan
	mkdir -p $(dir $(E2E_BIN)) && cp target/debug/capstan $(E2E_BIN).new && mv -f $(E2E_BIN).new $(E2E_BIN)
	PATH="$(CURDIR)/.tools/bin:$$PATH" CAPSTAN_BIN=$(E2E_BIN) cargo nextest run --workspace --no-fail-fast

bench: deps
	cargo build --release -p capstan
	./target/release/capstan bench etcd

# Fuzz the API server's request decoding (apiserver/fuzz, target decode_request).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# Regenerate the committed CRD YAML (crds/yaml/ and charts/capstan/crds/) from crds/src.
# `cargo run -p capstan-crds --bin crdgen -- --check` only reports stale files.
.PHONY: crdgen
crdgen:
	cargo run -p capstan-crds --bin crdgen
