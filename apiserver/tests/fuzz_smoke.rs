//! A seeded mutation fuzzer for the `decode_request` fuzz target, for
//! machines where cargo-fuzz (libFuzzer) cannot build: the same target function
//! (`apiserver/fuzz/src/lib.rs`, included below) on the seed inputs of
//! `apiserver/fuzz/seeds/decode_request` and on random mutations of them
//! (byte flips, dictionary tokens, deletions, duplications, splices).
//!
//! `FUZZ_SMOKE_SECS` (default 3) bounds the run; `FUZZ_SMOKE_SEED` replays one.
//! A panicking input is printed (escaped) before the test fails.
#![cfg(feature = "serve")]

#[path = "../fuzz/src/lib.rs"]
mod target;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Tokens spliced into inputs (a subset of `fuzz/decode_request.dict`).
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"-1e999",
    b"\"$patch\":\"delete\"",
    b"\"$patch\":\"replace\"",
    b"\"$retainKeys\":[",
    b"\"$setElementOrder/containers\":[",
    b"\"$deleteFromPrimitiveList/finalizers\":[",
    b"{\"op\":\"add\",\"path\":\"/metadata/labels/x\",\"value\":",
    b"{\"op\":\"move\",\"from\":\"/spec\",\"path\":\"/spec/containers/0\"}",
    b"\"/-\"",
    b"~1",
    b"---\n",
    b"- ",
    b": ",
    b"&a ",
    b"*a",
    b" in (",
    b" notin (",
    b"!=",
    b"==",
    b"!",
    b"\\,",
    "é€\u{1F600}".as_bytes(),
    b"\xff\xfe",
];

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/decode_request");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| std::fs::read(e.ok()?.path()).ok()).collect())
        .unwrap_or_default();
    out.push(serde_json::to_vec(target::fixed_pod()).unwrap_or_default());
    out.push(Vec::new());
    out
}

fn mutate(rng: &mut StdRng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if v.is_empty() { 0 } else { rng.gen_range(0..=v.len()) };
        match rng.gen_range(0..6) {
            0 if !v.is_empty() => {
                let i = rng.gen_range(0..v.len());
                v[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + rng.gen_range(1..=16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                let start = rng.gen_range(0..v.len());
                let end = (start + rng.gen_range(1..=64)).min(v.len());
                let chunk = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.gen_range(0..corpus.len())];
                let cut = if other.is_empty() { 0 } else { rng.gen_range(0..other.len()) };
                v.truncate(at);
                v.extend_from_slice(&other[cut..]);
            }
            _ => v.insert(at, rng.gen()),
        }
    }
    v.truncate(64 * 1024);
    v
}

fn run_one(input: &[u8]) {
    if std::panic::catch_unwind(AssertUnwindSafe(|| target::decode_request(input))).is_err() {
        panic!("decode_request panicked on input {:?}", String::from_utf8_lossy(input).escape_debug().to_string());
    }
}

#[test]
fn decode_request_survives_mutated_inputs() {
    let secs: f64 = std::env::var("FUZZ_SMOKE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let seed: u64 = std::env::var("FUZZ_SMOKE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    });
    eprintln!("fuzz_smoke: seed {seed} (FUZZ_SMOKE_SEED={seed} replays), {secs} s");
    let mut corpus = seeds();
    assert!(corpus.len() > 2, "no seed inputs found under fuzz/seeds/decode_request");
    for s in &corpus {
        run_one(s);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let base = &corpus[rng.gen_range(0..corpus.len())];
        let input = mutate(&mut rng, base, &corpus);
        run_one(&input);
        runs += 1;
        // Keep some mutants as new bases so mutations compound.
        if rng.gen_ratio(1, 64) && corpus.len() < 4096 {
            corpus.push(input);
        }
    }
    eprintln!("fuzz_smoke: {runs} inputs, no panic");
}
