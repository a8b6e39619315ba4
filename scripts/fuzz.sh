#!/usr/bin/env bash
# Fuzzes the API server's request decoding for SECONDS (default 60): the
# `decode_request` target of apiserver/fuzz (JSON/YAML decode, kind checks,
# every PATCH type, label and field selectors).
#
#   scripts/fuzz.sh [SECONDS]        # or: make fuzz FUZZ_SECONDS=300
#
# With cargo-fuzz (installed here if missing) the target runs under libFuzzer,
# `-s none`, on the stable toolchain, or on nightly if stable cannot build it.
# Where cargo-fuzz cannot build at all, the same target function runs under
# apiserver/tests/fuzz_smoke.rs (seeded mutations) for the same time.
# Crashes found by libFuzzer land in apiserver/fuzz/artifacts/decode_request/;
# reproduce one with `cd apiserver/fuzz && cargo fuzz run decode_request -s none <file>`.
set -euo pipefail

SECS="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/apiserver/fuzz"
TARGET=decode_request

fallback() {
  echo "fuzz: $1; running the same target under apiserver/tests/fuzz_smoke.rs for ${SECS}s instead" >&2
  cd "$ROOT"
  FUZZ_SMOKE_SECS="$SECS" cargo test -p capstan-apiserver --features serve --test fuzz_smoke -- --nocapture
  exit $?
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked || fallback "cargo-fuzz could not be installed"
fi

cd "$FUZZ_DIR"
# Pick a toolchain that builds the target: stable first (the repo's pinned
# toolchain), nightly if installed. A build failure falls back; a crash found
# while running does not (the run's exit status is returned).
TOOLCHAIN=""
if ! cargo fuzz build -s none "$TARGET" >&2; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo +nightly fuzz build -s none "$TARGET" >&2; then
    TOOLCHAIN="+nightly"
  else
    fallback "cargo fuzz could not build $TARGET (stable, and nightly if installed)"
  fi
fi

mkdir -p "corpus/$TARGET"
echo "fuzz: cargo $TOOLCHAIN fuzz run $TARGET for ${SECS}s" >&2
# shellcheck disable=SC2086  # TOOLCHAIN is empty or one word
exec cargo $TOOLCHAIN fuzz run -s none "$TARGET" "corpus/$TARGET" "seeds/$TARGET" -- \
  -max_total_time="$SECS" -dict=decode_request.dict -max_len=65536 -timeout=10 -rss_limit_mb=4096
