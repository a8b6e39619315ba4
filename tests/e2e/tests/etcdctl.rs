#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real `etcdctl` (API v3) against a fresh Debian etcd 3.4 and a fresh
//! `capstan etcd`: the same commands must print the same thing, after
//! normalising only what two independent servers legitimately differ in
//! (see `capstan_e2e::etcdctl_diff`). One test per area, each with its own
//! pair of servers; a test reports every differing command at once.

use std::time::Duration;

use capstan_e2e::etcdctl_diff::{txn, Opts, Pair, Side};
use capstan_e2e::Flavor;

#[test]
fn kv_put_and_get() {
    let mut p = Pair::start("kv_put_and_get", &[]);
    p.setup(&["put", "foo", "bar"]);
    p.setup(&["put", "foo", "bar2"]);
    p.setup(&["put", "fop", "x"]);
    p.setup(&["put", "a1", "v3"]);
    p.setup(&["put", "a2", "v1"]);
    p.setup(&["put", "a3", "v2"]);
    p.setup(&["put", "a2", "v1b"]);
    p.setup(&["put", "b1", "z"]);
    p.setup(&["put", "c", ""]);
    p.check(&["put", "--prev-kv", "foo", "bar3"]);
    p.check(&["put", "--prev-kv", "-w", "json", "foo", "bar4"]);
    p.check(&["put", "-w", "json", "newkey", "v"]);
    p.check(&["put", "--prev-kv", "-w", "json", "fresh", "v"]);
    p.check(&["put", "--ignore-value", "fop"]);
    p.check(&["put", "--ignore-value", "missing"]);
    p.check(&["put", "--ignore-lease", "fop", "y"]);
    p.check_stdin(&["put", "fromstdin"], b"value from stdin");
    p.check(&["put", "", "v"]);
    // get: single keys and formats
    for args in [
        &["get", "foo"][..],
        &["get", "foo", "-w", "json"],
        &["get", "foo", "-w", "fields"],
        &["get", "foo", "-w", "table"],
        &["get", "foo", "--print-value-only"],
        &["get", "foo", "--hex"],
        &["get", "c", "-w", "json"],
        &["get", "nothing"],
        &["get", "nothing", "-w", "json"],
        &["get", ""],
        &["get", "foo", "--consistency=s"],
    ] {
        p.check(args);
    }
    // prefixes, ranges, limits, sorting
    for args in [
        &["get", "a", "--prefix"][..],
        &["get", "a", "--prefix", "-w", "json"],
        &["get", "a", "--prefix", "--limit", "2"],
        &["get", "a", "--prefix", "--limit=2", "-w", "json"],
        &["get", "a", "--prefix", "--limit=3", "-w", "json"],
        &["get", "a", "--prefix", "--limit=-1"],
        &["get", "a", "--prefix", "--sort-by=VALUE"],
        &["get", "a", "--prefix", "--sort-by=VALUE", "--order=DESCEND"],
        &["get", "a", "--prefix", "--sort-by=CREATE", "--order=DESCEND"],
        &["get", "a", "--prefix", "--sort-by=MODIFY", "--order=ASCEND", "--limit=2", "-w", "json"],
        &["get", "a", "--prefix", "--sort-by=VERSION", "--order=DESCEND", "-w", "json"],
        &["get", "a", "--prefix", "--sort-by=KEY", "--order=DESCEND", "--limit=1"],
        &["get", "a", "--prefix", "--order=DESCEND"],
        &["get", "a", "--prefix", "--order=ASCEND", "--keys-only"],
        &["get", "a", "--prefix", "--keys-only"],
        &["get", "a", "--prefix", "--keys-only", "-w", "json"],
        &["get", "a", "--prefix", "--keys-only", "--limit=1", "-w", "json"],
        &["get", "a", "--prefix", "--print-value-only", "--sort-by=VALUE"],
        &["get", "a", "--prefix", "--sort-by=BOGUS"],
        &["get", "a", "--prefix", "--order=SIDEWAYS"],
        &["get", "a", "c"],
        &["get", "a", "c", "-w", "json", "--limit=2"],
        &["get", "--from-key", "b"],
        &["get", "--from-key", "a", "--limit=3", "--keys-only"],
        &["get", "", "--prefix", "--keys-only"],
        &["get", "", "--from-key", "-w", "json", "--limit=2"],
        &["get", "z", "--prefix", "-w", "json"],
    ] {
        p.check(args);
    }
    // revisions
    for args in [
        &["get", "foo", "--rev=2"][..],
        &["get", "foo", "--rev=3", "-w", "json"],
        &["get", "a", "--prefix", "--rev=5", "--keys-only"],
        &["get", "a", "--prefix", "--rev=6", "-w", "json", "--sort-by=VALUE"],
        &["get", "foo", "--rev=1"],
        &["get", "foo", "--rev=1000"],
        &["get", "foo", "--rev=1000", "-w", "json"],
    ] {
        p.check(args);
    }
    // --count-only only exists in etcdctl 3.5.
    p.check35(&["get", "a", "--prefix", "--count-only", "-w", "json"]);
    p.check35(&["get", "a", "--prefix", "--count-only"]);
    p.check35(&["get", "a", "--prefix", "--count-only", "--rev=4", "-w", "json"]);
    p.check35(&["get", "", "--from-key", "--count-only", "--keys-only", "-w", "json"]);
    p.finish();
}

#[test]
fn kv_delete() {
    let mut p = Pair::start("kv_delete", &[]);
    for (k, v) in
        [("a1", "1"), ("a2", "2"), ("a3", "3"), ("b1", "4"), ("b2", "5"), ("c1", "6"), ("d1", "7"), ("e1", "8")]
    {
        p.setup(&["put", k, v]);
    }
    for args in [
        &["del", "nothing"][..],
        &["del", "nothing", "-w", "json"],
        &["del", "a1"],
        &["del", "a1"],
        &["del", "a", "--prefix", "--prev-kv"],
        &["get", "a", "--prefix"],
        &["del", "b1", "--prev-kv", "-w", "json"],
        &["del", "b", "c2", "-w", "json"],
        &["get", "", "--prefix", "--keys-only"],
        &["del", "--from-key", "d", "--prev-kv"],
        &["get", "", "--from-key", "-w", "json"],
        &["del", "", "--prefix"],
        &["del", ""],
        &["get", "a1", "--rev=2", "-w", "json"],
    ] {
        p.check(args);
    }
    p.finish();
}

#[test]
fn kv_txn() {
    let mut p = Pair::start("kv_txn", &[]);
    p.setup(&["put", "foo", "bar"]);
    p.setup(&["put", "k1", "v1"]);
    p.setup(&["put", "k2", "v2"]);
    let cases: Vec<Vec<u8>> = vec![
        txn(&["value(\"foo\") = \"bar\""], &["put foo baz", "get foo"], &["put foo nope"]),
        txn(&["value(\"foo\") = \"bar\""], &["put foo baz"], &["put foo nope", "get foo"]),
        txn(&["ver(\"foo\") > \"1\"", "create(\"k1\") = \"3\""], &["get k --prefix"], &["del k1"]),
        txn(&["mod(\"k2\") < \"100\""], &["del k --prefix --prev-kv", "put k3 v3"], &[]),
        txn(&["value(\"missing\") = \"\""], &["put m 1"], &["put m 2"]),
        txn(&["create(\"missing\") = \"0\""], &["put m2 1"], &[]),
        txn(&["lease(\"foo\") = \"0\""], &["get foo --keys-only"], &[]),
        txn(&["value(\"foo\") != \"x\""], &[], &[]),
        txn(&[], &["get foo", "get m"], &[]),
        txn(&[], &[], &[]),
        // Range compares (etcdctl: key range_end).
        txn(&["ver(\"k\" \"l\") = \"1\""], &["put ok yes"], &["put ok no"]),
    ];
    for t in &cases {
        p.check_stdin(&["txn"], t);
        p.check_stdin(&["txn", "-w", "json"], t);
    }
    // Errors: duplicate keys, a put into a deleted range, syntax.
    p.check_stdin(&["txn"], &txn(&[], &["put a 1", "put a 2"], &[]));
    p.check_stdin(&["txn"], &txn(&[], &["del a --prefix", "put a1 2"], &[]));
    p.check_stdin(&["txn", "-w", "json"], &txn(&[], &["put a 1"], &["put b 1", "put b 2"]));
    p.check_stdin(&["txn"], &txn(&["value(\"foo\") ~ \"x\""], &[], &[]));
    p.check_stdin(&["txn"], &txn(&["bogus"], &[], &[]));
    p.check_stdin(&["txn"], &txn(&[], &["frob a"], &[]));
    p.check(&["get", "", "--prefix", "-w", "json"]);
    p.finish();
}

#[test]
fn watch() {
    let mut p = Pair::start("watch", &[]);
    p.setup(&["put", "foo", "v1"]); // rev 2
    p.setup(&["put", "foo", "v2"]); // rev 3
    p.setup(&["put", "fop", "x"]); // rev 4
    p.setup(&["del", "foo"]); // rev 5
    p.setup(&["put", "bar", "y"]); // rev 6
    let put = |k: &'static str, v: &'static str| {
        move |s: &Side| {
            let _ = s.run(&["put", k, v], None);
        }
    };
    // History replayed from --rev, then live events.
    p.watch(&["foo", "--rev=1"], &put("foo", "live1"));
    p.watch(&["foo", "--rev=1", "--prev-kv"], &put("foo", "live2"));
    p.watch(&["--prefix", "fo", "--rev=2", "--prev-kv"], &put("fox", "z"));
    p.watch(&["a", "c", "--rev=1"], &put("b", "in-range"));
    p.watch(&["--prefix", "", "--rev=6"], &put("zzz", "1"));
    // History only: JSON shows headers, types and compact revisions.
    p.watch(&["foo", "--rev=2", "-w", "json"], &|_| {});
    p.watch(&["foo", "--rev=2", "--prev-kv", "-w", "json"], &|_| {});
    // A revision in the future waits for it.
    p.watch(&["later", "--rev=13"], &|s: &Side| {
        for v in ["1", "2", "3"] {
            let _ = s.run(&["put", "later", v], None);
        }
    });
    // Compacted revisions cancel the watch.
    p.setup(&["compaction", "5"]);
    p.watch(&["foo", "--rev=2"], &|_| {});
    p.watch(&["foo", "--rev=2", "-w", "json"], &|_| {});
    p.watch(&["foo", "--rev=5", "--prev-kv"], &|_| {});
    p.finish();
}

#[test]
fn lease() {
    let mut p = Pair::start("lease", &[]);
    p.lease_grant("L1", 100);
    p.lease_grant("L2", 200);
    p.check(&["lease", "list"]);
    p.check(&["lease", "list", "-w", "json"]);
    p.check(&["put", "k1", "v", "--lease={L1}"]);
    p.check(&["put", "k2", "v", "--lease={L1}"]);
    p.check(&["put", "k3", "v", "--lease={L2}"]);
    p.check(&["get", "k", "--prefix", "-w", "json"]);
    p.check(&["lease", "timetolive", "{L1}"]);
    p.check(&["lease", "timetolive", "{L1}", "--keys"]);
    p.check(&["lease", "timetolive", "{L1}", "--keys", "-w", "json"]);
    p.check(&["lease", "timetolive", "{L2}", "-w", "json"]);
    p.check(&["lease", "keep-alive", "--once", "{L1}"]);
    p.check(&["lease", "keep-alive", "--once", "{L2}", "-w", "json"]);
    // Moving a key to another lease, and detaching it.
    p.check(&["put", "k2", "v2", "--lease={L2}"]);
    p.check(&["put", "k3", "v3"]);
    p.check(&["lease", "timetolive", "{L2}", "--keys"]);
    p.check(&["lease", "revoke", "{L1}"]);
    p.check(&["get", "k", "--prefix"]);
    p.check(&["lease", "timetolive", "{L1}"]);
    p.check(&["lease", "timetolive", "{L1}", "-w", "json"]);
    p.check(&["lease", "revoke", "{L1}"]);
    p.check(&["lease", "keep-alive", "--once", "{L1}"]);
    p.check(&["lease", "list"]);
    // TTLs: the minimum is raised, too large is refused, zero and junk.
    p.lease_grant("L3", 1);
    p.check(&["lease", "grant", "9000000001"]);
    p.lease_grant("L0", 0);
    p.check(&["lease", "grant", "abc"]);
    p.check(&["lease", "revoke", "zz"]);
    // Expiry deletes the attached keys.
    p.check(&["put", "exp", "v", "--lease={L3}"]);
    p.check(&["lease", "timetolive", "{L3}", "--keys"]);
    std::thread::sleep(Duration::from_secs(5));
    p.check(&["get", "exp"]);
    p.check(&["lease", "timetolive", "{L3}"]);
    p.check(&["lease", "list"]);
    p.finish();
}

#[test]
fn maintenance() {
    let mut p = Pair::start("maintenance", &[]);
    for i in 1..=4 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        p.setup(&["put", &k, &v]);
    }
    p.check(&["compaction", "3"]);
    p.check(&["compaction", "3"]);
    p.check(&["compaction", "2"]);
    p.check(&["compaction", "99"]);
    p.check(&["compaction", "--physical", "4"]);
    p.check(&["compaction", "--physical=true", "5"]);
    p.check(&["get", "k1", "--rev=3"]);
    p.check(&["get", "k1", "--rev=5", "-w", "json"]);
    p.check(&["get", "k", "--prefix", "-w", "json"]);
    p.check(&["defrag"]);
    p.check(&["defrag", "-w", "json"]);
    p.check(&["get", "k", "--prefix"]);
    // endpoint status: ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER,
    // RAFT TERM, RAFT INDEX, RAFT APPLIED INDEX, ERRORS.
    p.check_opts(&["endpoint", "status"], &Opts { csv_mask: vec![2, 3, 6, 7, 8], ..Default::default() });
    p.check(&["endpoint", "status", "-w", "json"]);
    p.check(&["endpoint", "status", "-w", "table"]);
    p.check_opts(&["endpoint", "health"], &Opts::default());
    p.check(&["endpoint", "health", "-w", "json"]);
    p.check(&["endpoint", "health", "-w", "table"]);
    p.check_opts(&["endpoint", "hashkv"], &Opts { csv_mask: vec![1], ..Default::default() });
    p.check(&["endpoint", "hashkv", "-w", "json"]);
    p.check(&["snapshot", "save", "{DIR}/snap.db"]);
    for side in [&p.etcd, &p.capstan] {
        let path = side.dir.path().join("snap.db");
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            p.failures.push(format!("[maintenance] {}: snapshot file {} missing or empty", side.label, path.display()));
        }
    }
    p.check(&["alarm", "list"]);
    p.check(&["alarm", "disarm"]);
    p.check(&["put", "after", "ok"]);
    p.finish();
}

#[test]
fn alarm_nospace() {
    let quota = "--quota-backend-bytes=1048576";
    // Against etcd 3.5: 3.4's Alarm response has no header, 3.5's (and ours) has.
    let mut p = Pair::start_against("alarm_nospace", &[quota], Flavor::Etcd35);
    p.check(&["alarm", "list", "-w", "json"]);
    let value = vec![b'x'; 200 * 1024];
    // Fill each side until the quota trips (the exact point depends on the
    // storage engine), then compare the refusal and the alarm handling.
    let mut last = Vec::new();
    for side in [&p.etcd, &p.capstan] {
        let mut out = None;
        for i in 0..40 {
            let k = format!("big{i:02}");
            let o = side.run(&["put", &k], Some(&value));
            if !o.ok() {
                out = Some(o);
                break;
            }
        }
        last.push(out);
    }
    let capstan_refusal = last.pop().flatten();
    let etcd_refusal = last.pop().flatten().expect("etcd never refused a put over its 1 MiB quota");
    match capstan_refusal {
        Some(c) => p.compare("put big* (until the quota trips)", &etcd_refusal, &c, &Opts::default()),
        None => p.failures.push("[alarm_nospace] capstan accepted 40 puts of 200 KiB with a 1 MiB quota".into()),
    }
    // From here on the revisions differ by the number of puts each engine took.
    let rev_free = Opts { mask_revision: true, ..Default::default() };
    p.check(&["alarm", "list"]);
    p.check_opts(&["alarm", "list", "-w", "json"], &rev_free);
    p.check(&["put", "small", "v"]);
    p.check_stdin(&["txn"], &txn(&[], &["put small v"], &[]));
    p.check(&["lease", "grant", "100"]);
    p.check(&["get", "small"]);
    p.check(&["del", "nothing"]);
    p.check_opts(&["endpoint", "status"], &Opts { csv_mask: vec![2, 3, 6, 7, 8], ..Default::default() });
    p.check_opts(&["endpoint", "status", "-w", "json"], &rev_free);
    // Recovery: delete, compact, defrag, disarm.
    p.check_opts(&["del", "big", "--prefix"], &Opts { ignore_stdout: true, ..Default::default() });
    for side in [&mut p.etcd, &mut p.capstan] {
        let o = side.run(&["get", "small", "-w", "json"], None);
        let rev = serde_json::from_str::<serde_json::Value>(o.stdout.trim())
            .ok()
            .and_then(|v| v["header"]["revision"].as_i64())
            .unwrap_or(1);
        side.vars.insert("REV".into(), rev.to_string());
    }
    p.check(&["compaction", "--physical", "{REV}"]);
    for side in [&mut p.etcd, &mut p.capstan] {
        side.vars.remove("REV");
    }
    p.check(&["defrag"]);
    p.check(&["alarm", "disarm"]);
    p.check(&["alarm", "list"]);
    p.check(&["put", "small", "v"]);
    p.check(&["get", "small"]);
    p.finish();
}

#[test]
fn cluster() {
    let mut p = Pair::start("cluster", &[]);
    p.check(&["member", "list"]);
    p.check(&["member", "list", "-w", "json"]);
    p.check(&["member", "list", "-w", "table"]);
    p.finish();
}

#[test]
fn auth() {
    let mut p = Pair::start("auth", &[]);
    for args in [
        &["put", "foo", "0"][..],
        &["put", "pre/a", "1"],
        &["user", "add", "root", "--new-user-password=rootpw"],
        &["role", "add", "r1"],
        &["role", "add", "r1"],
        &["role", "grant-permission", "r1", "readwrite", "foo"],
        &["role", "grant-permission", "r1", "read", "--prefix", "pre/"],
        &["role", "grant-permission", "r1", "write", "w1", "w3"],
        &["user", "add", "alice", "--new-user-password=apw"],
        &["user", "add", "alice", "--new-user-password=apw"],
        &["user", "grant-role", "alice", "r1"],
        &["user", "grant-role", "alice", "nosuchrole"],
        &["user", "list"],
        &["role", "list"],
        &["role", "get", "r1"],
        &["user", "get", "alice"],
        &["user", "get", "alice", "--detail"],
        &["auth", "enable"],
        &["get", "foo"],
        &["--user", "alice:apw", "get", "foo"],
        &["--user", "alice:apw", "put", "foo", "1"],
        &["--user", "alice:apw", "put", "bar", "1"],
        &["--user", "alice:wrong", "get", "foo"],
        &["--user", "nobody:x", "get", "foo"],
        &["--user", "alice:apw", "get", "pre/", "--prefix"],
        &["--user", "alice:apw", "get", "pre", "--prefix"],
        &["--user", "alice:apw", "put", "pre/a", "2"],
        &["--user", "alice:apw", "put", "w2", "x"],
        &["--user", "alice:apw", "get", "w2"],
        &["--user", "alice:apw", "del", "foo"],
        &["--user", "alice:apw", "user", "list"],
        &["--user", "alice:apw", "compaction", "2"],
        &["--user", "alice:apw", "auth", "disable"],
        // Maintenance and cluster RPCs as a plain user and without credentials.
        &["--user", "alice:apw", "member", "list"],
        &["--user", "alice:apw", "alarm", "list"],
        &["--user", "alice:apw", "defrag"],
        &["--user", "alice:apw", "endpoint", "hashkv", "-w", "json"],
        &["--user", "alice:apw", "snapshot", "save", "{DIR}/alice.db"],
        &["--user", "root:rootpw", "defrag"],
        &["member", "list"],
        &["alarm", "list"],
        &["defrag"],
        &["compaction", "3"],
        &["--user", "root:rootpw", "user", "list"],
        &["--user", "root:rootpw", "role", "list"],
        &["--user", "root:rootpw", "user", "get", "root"],
        &["--user", "root:rootpw", "get", "", "--prefix"],
        &["--user", "root:rootpw", "role", "revoke-permission", "r1", "foo"],
        &["--user", "alice:apw", "get", "foo"],
        &["--user", "root:rootpw", "user", "revoke-role", "alice", "r1"],
        &["--user", "alice:apw", "get", "pre/a"],
        &["--user", "root:rootpw", "user", "passwd", "alice", "--new-user-password=apw2"],
        &["--user", "alice:apw", "get", "pre/a"],
        &["--user", "root:rootpw", "auth", "disable"],
        &["get", "foo"],
        &["user", "delete", "alice"],
        &["role", "delete", "r1"],
        &["user", "list"],
        &["auth", "disable"],
    ] {
        p.check(args);
    }
    p.finish();
}

/// A Put of `size` value bytes over raw gRPC (no client-side size limit):
/// returns the status code and message, or "ok".
fn raw_put(side: &Side, size: usize) -> (String, String) {
    use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
    use etcd_compat::proto::etcdserverpb::PutRequest;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ch = side.member.channel().await.expect("channel");
        let mut kv = KvClient::new(ch).max_encoding_message_size(usize::MAX).max_decoding_message_size(usize::MAX);
        let req = PutRequest { key: b"raw".to_vec(), value: vec![b'r'; size], ..Default::default() };
        match kv.put(req).await {
            Ok(_) => ("ok".to_string(), String::new()),
            Err(s) => (format!("{:?}", s.code()), s.message().to_string()),
        }
    })
}

#[test]
fn bad_input_does_not_crash() {
    let mut p = Pair::start("bad_input", &[]);
    // 2 MiB: etcdctl refuses to send it (its 2 MiB gRPC send limit).
    let v2m = vec![b'a'; 2 * 1024 * 1024];
    p.check_stdin(&["put", "big"], &v2m);
    // 1.6 MiB: over --max-request-bytes (1.5 MiB), refused by the server.
    let v16 = vec![b'b'; 1_677_722];
    p.check_stdin(&["put", "big"], &v16);
    let t = [b"\n".as_slice(), b"put big ", &v16, b"\n\n\n"].concat();
    p.check_stdin(&["txn"], &t);
    // 1.4 MiB fits.
    let v14 = vec![b'c'; 1_468_006];
    p.check_stdin(&["put", "big"], &v14);
    p.check_opts(&["get", "big", "--print-value-only"], &Opts::default());
    p.check(&["get", "big", "--keys-only", "-w", "json"]);
    // Too many ops (etcd's default --max-txn-ops is 128), and exactly 128.
    let ops: Vec<String> = (0..200).map(|i| format!("put t{i} v")).collect();
    let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
    p.check_stdin(&["txn"], &txn(&[], &ops, &[]));
    p.check_stdin(&["txn"], &txn(&[], &ops[..128], &[]));
    p.check_stdin(&["txn"], &txn(&[], &ops[..129], &[]));
    let cmps: Vec<String> = (0..129).map(|i| format!("value(\"t{i}\") = \"v\"")).collect();
    let cmps: Vec<&str> = cmps.iter().map(String::as_str).collect();
    p.check_stdin(&["txn"], &txn(&cmps, &[], &[]));
    p.check_stdin(&["txn"], &txn(&cmps[..128], &["get t0"], &[]));
    // Limits and revisions out of range.
    p.check(&["get", "--limit", "-1", "t1"]);
    p.check(&["get", "--limit=-1", "t1", "--prefix", "--keys-only"]);
    p.check(&["get", "t1", "--rev=-5"]);
    p.check(&["get", "t1", "--rev=999999"]);
    p.check(&["compaction", "-1"]);
    p.check(&["compaction", "--", "-1"]);
    p.check(&["compaction", "0"]);
    // Unknown leases.
    p.check(&["lease", "keep-alive", "1234"]);
    p.check(&["lease", "keep-alive", "--once", "1234"]);
    p.check(&["put", "k", "v", "--lease=1234"]);
    p.check(&["put", "k", "v", "--lease=zz"]);
    p.check(&["lease", "timetolive", "1234", "--keys"]);
    p.check(&["lease", "revoke", "1234"]);
    p.check_stdin(&["txn"], &txn(&[], &["put k v --lease=1234"], &[]));
    // Empty keys and odd bytes.
    p.check(&["put", "", "v"]);
    p.check(&["del", ""]);
    p.check_stdin(&["txn"], &txn(&[], &["put \"\" v"], &[]));
    p.check(&["put", "k\u{1}\u{ff}", "v\u{7f}"]);
    p.check(&["get", "k", "--prefix", "-w", "json"]);
    p.check(&["get", "k", "--prefix", "--hex"]);
    // Past etcdctl's own 2 MiB send limit: straight over gRPC, the server's
    // receive limit (--max-request-bytes + 512 KiB) answers.
    for size in [2 * 1024 * 1024, 3 * 1024 * 1024, 2 * 1024 * 1024 - 4096] {
        let e = raw_put(&p.etcd, size);
        let c = raw_put(&p.capstan, size);
        if e != c {
            p.failures.push(format!("[bad_input] gRPC Put of a {size}-byte value: etcd {e:?}, capstan {c:?}"));
        }
    }
    p.assert_alive();
    p.check(&["put", "still", "alive"]);
    p.check(&["get", "still"]);
    p.finish();
}
