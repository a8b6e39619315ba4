# Two entry points (see README): `make run` and `make test`.
SHELL := /bin/bash
DATA_DIR ?= $(CURDIR)/.data/n1
PORT ?= 2379

.PHONY: run test deps lint build bench

deps:
	bash scripts/test-deps.sh

build:
	cargo build --release -p capstan

# The main job: a single-member `capstan etcd` on a data dir.
run: build
	mkdir -p $(DATA_DIR)
	./target/release/capstan etcd --name n1 --data-dir $(DATA_DIR) \
		--listen-client-urls http://127.0.0.1:$(PORT) --advertise-client-urls http://127.0.0.1:$(PORT)

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs: setup, lint gate, and every test (e2e included).
test: deps lint
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo nextest run --workspace --no-fail-fast

bench: deps
	cargo build --release -p capstan
	./target/release/capstan bench etcd
