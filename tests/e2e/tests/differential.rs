//! Differential test: the same seeded random operation sequence against a fresh
//! Debian etcd 3.4 and a fresh `capstan etcd`; every answer must match.
//!
//! `DIFF_SEED` replays a seed (the default is random and always printed),
//! `DIFF_OPS` changes the op count (default 10,000). `DIFF_SUBJECT=etcd34`
//! runs etcd against itself, to check the harness has no false positives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use capstan_e2e::diff::{self, Settings};
use capstan_e2e::{etcd34_bin, Flavor, Member};

const DEFAULT_OPS: usize = 10_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// Starts a fresh member; retries, as two free-port picks can collide.
fn start(flavor: Flavor) -> Member {
    let mut last = None;
    for _ in 0..3 {
        match Member::start(flavor, &[]) {
            Ok(m) => return m,
            Err(e) => {
                println!("differential: starting {flavor:?} failed ({e:#}); retrying");
                last = Some(e);
            }
        }
    }
    panic!("cannot start {flavor:?}: {last:?}");
}

#[test]
fn etcd34_and_capstan_answer_a_random_sequence_identically() {
    assert!(etcd34_bin().exists(), "{} missing: run scripts/test-deps.sh", etcd34_bin().display());
    let seed = env_u64("DIFF_SEED").unwrap_or_else(|| {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        d.as_secs() ^ u64::from(d.subsec_nanos()).rotate_left(32)
    });
    let ops = env_u64("DIFF_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    let subject_flavor = match std::env::var("DIFF_SUBJECT").as_deref() {
        Ok("etcd34") => Flavor::Etcd34,
        _ => Flavor::Capstan,
    };
    println!("differential: seed={seed} ops={ops} (replay with DIFF_SEED={seed})");

    let reference = start(Flavor::Etcd34);
    let subject = start(subject_flavor);
    let settings =
        Settings { seed, ops, reference: "etcd-3.4".into(), subject: format!("{subject_flavor:?}").to_lowercase() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let result = rt.block_on(async {
        let a = reference.channel().await.expect("channel to etcd");
        let b = subject.channel().await.expect("channel to subject");
        diff::run(&settings, a, b).await
    });
    match result {
        Ok(r) => {
            println!(
                "differential: seed={seed}: {} ops, {} answers compared ({} of them errors), 0 differences, \
                 final revision {}, {:.1?}",
                r.ops, r.compared, r.errors, r.final_revision, r.elapsed
            );
            println!("differential: op mix {:?}", r.by_kind);
            println!(
                "differential: watches compared {} events and {} compacted-start cancels",
                r.watch_events, r.watch_cancels
            );
            println!("differential: errors {:#?}", r.by_error);
            if let Some((why, n)) = &r.watch_skipped {
                println!("differential: WATCH OPS SKIPPED ({n}): {why}");
            }
        }
        Err(diff) => panic!("{diff}"),
    }
}
