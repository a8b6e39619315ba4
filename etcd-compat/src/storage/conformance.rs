//! One conformance suite every [`Engine`] implementation must pass.

use super::*;

fn scan_all(e: &dyn Engine, t: Table, start: &[u8], end: Option<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    e.scan(t, start, end, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })
    .unwrap();
    out
}

fn suite(e: &dyn Engine) {
    assert_eq!(e.get(Table::Kv, b"a").unwrap(), None);

    let mut b = WriteBatch::default();
    b.put(Table::Kv, b"b".to_vec(), b"2".to_vec());
    b.put(Table::Kv, b"a".to_vec(), b"1".to_vec());
    b.put(Table::Kv, b"c".to_vec(), b"3".to_vec());
    b.put(Table::Meta, b"a".to_vec(), b"meta".to_vec());
    e.commit(&b).unwrap();

    // Tables are independent namespaces.
    assert_eq!(e.get(Table::Kv, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(e.get(Table::Meta, b"a").unwrap(), Some(b"meta".to_vec()));
    assert_eq!(e.get(Table::Lease, b"a").unwrap(), None);

    // Ordered, half-open scans; stop early.
    let keys: Vec<_> = scan_all(e, Table::Kv, b"a", Some(b"c")).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(scan_all(e, Table::Kv, b"b", None).len(), 2);
    assert!(scan_all(e, Table::Kv, b"c", Some(b"a")).is_empty());
    let mut seen = 0;
    e.scan(Table::Kv, b"", None, &mut |_, _| {
        seen += 1;
        false
    })
    .unwrap();
    assert_eq!(seen, 1);

    let got = e.get_many(Table::Kv, &[b"c", b"zz", b"a"]).unwrap();
    assert_eq!(got, vec![Some(b"3".to_vec()), None, Some(b"1".to_vec())]);

    // Later changes in one batch win; deletes apply atomically with puts.
    let mut b = WriteBatch::default();
    b.put(Table::Kv, b"a".to_vec(), b"x".to_vec());
    b.put(Table::Kv, b"a".to_vec(), b"y".to_vec());
    b.delete(Table::Kv, b"b".to_vec());
    b.delete(Table::Kv, b"missing".to_vec());
    e.commit(&b).unwrap();
    assert_eq!(e.get(Table::Kv, b"a").unwrap(), Some(b"y".to_vec()));
    assert_eq!(e.get(Table::Kv, b"b").unwrap(), None);

    // Size grows with data and defragment never grows it.
    let before = e.size().unwrap();
    let mut b = WriteBatch::default();
    for i in 0..2000u32 {
        b.put(Table::Kv, i.to_be_bytes().to_vec(), vec![7u8; 512]);
    }
    e.commit(&b).unwrap();
    let grown = e.size().unwrap();
    assert!(grown.total > before.total, "{grown:?} vs {before:?}");
    assert!(grown.in_use <= grown.total);
    let mut b = WriteBatch::default();
    for i in 0..2000u32 {
        b.delete(Table::Kv, i.to_be_bytes().to_vec());
    }
    e.commit(&b).unwrap();
    e.defragment().unwrap();
    let after = e.size().unwrap();
    assert!(after.total <= grown.total, "{after:?} vs {grown:?}");
    assert_eq!(e.get(Table::Kv, b"a").unwrap(), Some(b"y".to_vec()));
}

#[test]
fn memory_engine_conforms() {
    suite(&MemoryEngine::new());
}

#[test]
fn redb_engine_conforms() {
    let dir = tempfile::tempdir().unwrap();
    suite(&RedbEngine::open(dir.path().join("db")).unwrap());
}

#[test]
fn redb_engine_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let e = RedbEngine::open(&path).unwrap();
        let mut b = WriteBatch::default();
        b.put(Table::Lease, b"k".to_vec(), b"v".to_vec());
        e.commit(&b).unwrap();
    }
    let e = RedbEngine::open(&path).unwrap();
    assert_eq!(e.get(Table::Lease, b"k").unwrap(), Some(b"v".to_vec()));
}
