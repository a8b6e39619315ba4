//! The snapshot file format: a dump of every engine table, then etcd's
//! sha256 trailer.
//!
//! ```text
//! magic "capstan-snapshot" (16 bytes) | format version (u32 BE)
//! { TABLE name-len(u8) name | ENTRY key-len(u32 BE) key value-len(u32 BE) value }*
//! END entry-count(u64 BE) | zero padding to a multiple of 512 bytes
//! sha256 of everything above (32 bytes; appended by the Snapshot stream, as etcd does)
//! ```
//!
//! The padding matters: `etcdctl snapshot save` only accepts a download whose
//! length is 32 more than a multiple of 512 (bbolt pages plus the sha256).
//!
//! It is not a bbolt file: `etcdctl snapshot status` cannot read it, but
//! `capstan etcd --restore-snapshot` can.

use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::storage::Table;

pub const MAGIC: &[u8; 16] = b"capstan-snapshot";
pub const FORMAT_VERSION: u32 = 1;
/// Length of the sha256 trailer etcd appends after the database bytes.
pub const CHECKSUM_LEN: usize = 32;
/// The dump is padded to a multiple of this (what etcdctl checks for).
pub const ALIGN: u64 = 512;

const TAG_END: u8 = 0;
const TAG_TABLE: u8 = 1;
const TAG_ENTRY: u8 = 2;

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Restore(format!("snapshot file is corrupt: {what}"))
}

/// Writes the format incrementally; the caller passes tables then entries.
pub struct Encoder<W: Write> {
    out: W,
    entries: u64,
    written: u64,
}

impl<W: Write> Encoder<W> {
    pub fn new(mut out: W) -> Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_be_bytes())?;
        Ok(Self { out, entries: 0, written: (MAGIC.len() + 4) as u64 })
    }

    /// Starts the section of `table`; entries that follow belong to it.
    pub fn table(&mut self, table: Table) -> Result<()> {
        let name = table.name().as_bytes();
        let len = u8::try_from(name.len()).map_err(|_| Error::Io("table name too long".into()))?;
        self.out.write_all(&[TAG_TABLE, len])?;
        self.out.write_all(name)?;
        self.written += 2 + name.len() as u64;
        Ok(())
    }

    pub fn entry(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let klen = u32::try_from(key.len()).map_err(|_| Error::Io("key too long for a snapshot".into()))?;
        let vlen = u32::try_from(value.len()).map_err(|_| Error::Io("value too long for a snapshot".into()))?;
        self.out.write_all(&[TAG_ENTRY])?;
        self.out.write_all(&klen.to_be_bytes())?;
        self.out.write_all(key)?;
        self.out.write_all(&vlen.to_be_bytes())?;
        self.out.write_all(value)?;
        self.entries += 1;
        self.written += 9 + key.len() as u64 + value.len() as u64;
        Ok(())
    }

    /// Writes the end marker and the padding; returns the writer and the
    /// bytes written (a multiple of [`ALIGN`]).
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.out.write_all(&[TAG_END])?;
        self.out.write_all(&self.entries.to_be_bytes())?;
        let end = self.written + 9;
        let pad = (ALIGN - end % ALIGN) % ALIGN;
        self.out.write_all(&vec![0u8; pad as usize])?;
        self.out.flush()?;
        Ok((self.out, end + pad))
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => corrupt("unexpected end of data"),
        _ => Error::from(e),
    })
}

fn read_u32(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn read_bytes(r: &mut impl Read, len: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; len];
    read_exact(r, &mut v)?;
    Ok(v)
}

/// Reads one dump from `r`, calling `visit` for every entry in file order.
/// Returns the number of entries. Stops at the end marker: the caller checks
/// what follows with [`check_padding`].
pub fn decode(r: &mut impl Read, visit: &mut dyn FnMut(Table, Vec<u8>, Vec<u8>) -> Result<()>) -> Result<u64> {
    let mut magic = [0u8; 16];
    read_exact(r, &mut magic)?;
    if &magic != MAGIC {
        return Err(Error::Restore(
            "not a capstan snapshot (bad magic; bbolt snapshots from etcd are not supported)".into(),
        ));
    }
    let version = read_u32(r)?;
    if version != FORMAT_VERSION {
        return Err(Error::Restore(format!("unsupported snapshot format version {version}")));
    }
    let mut table = None;
    let mut entries = 0u64;
    loop {
        let mut tag = [0u8; 1];
        read_exact(r, &mut tag)?;
        match tag[0] {
            TAG_TABLE => {
                let mut len = [0u8; 1];
                read_exact(r, &mut len)?;
                let name = read_bytes(r, len[0] as usize)?;
                let found = Table::ALL.into_iter().find(|t| t.name().as_bytes() == name.as_slice());
                table =
                    Some(found.ok_or_else(|| corrupt(format!("unknown table {:?}", String::from_utf8_lossy(&name))))?);
            }
            TAG_ENTRY => {
                let t = table.ok_or_else(|| corrupt("entry before any table"))?;
                let klen = read_u32(r)? as usize;
                let key = read_bytes(r, klen)?;
                let vlen = read_u32(r)? as usize;
                let value = read_bytes(r, vlen)?;
                visit(t, key, value)?;
                entries += 1;
            }
            TAG_END => {
                let mut b = [0u8; 8];
                read_exact(r, &mut b)?;
                let count = u64::from_be_bytes(b);
                if count != entries {
                    return Err(corrupt(format!("{entries} entries, end marker says {count}")));
                }
                return Ok(entries);
            }
            t => return Err(corrupt(format!("unknown record tag {t}"))),
        }
    }
}

/// Checks that `r` holds only the zero padding after the end marker.
pub fn check_padding(r: &mut impl Read) -> Result<()> {
    let mut rest = Vec::new();
    r.take(ALIGN).read_to_end(&mut rest)?;
    if rest.len() as u64 >= ALIGN || rest.iter().any(|&b| b != 0) {
        return Err(corrupt("unexpected data after the end marker"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut enc = Encoder::new(Vec::new()).unwrap();
        enc.table(Table::Kv).unwrap();
        enc.entry(b"k1", b"v1").unwrap();
        enc.entry(b"k2", b"").unwrap();
        enc.table(Table::Alarm).unwrap();
        enc.entry(b"a", b"1").unwrap();
        let (buf, n) = enc.finish().unwrap();
        assert_eq!(n as usize, buf.len());
        assert_eq!(n % ALIGN, 0);
        let mut got = Vec::new();
        let mut r = buf.as_slice();
        let count = decode(&mut r, &mut |t, k, v| {
            got.push((t, k, v));
            Ok(())
        })
        .unwrap();
        check_padding(&mut r).unwrap();
        assert_eq!(count, 3);
        assert_eq!(got[0], (Table::Kv, b"k1".to_vec(), b"v1".to_vec()));
        assert_eq!(got[1], (Table::Kv, b"k2".to_vec(), vec![]));
        assert_eq!(got[2], (Table::Alarm, b"a".to_vec(), b"1".to_vec()));
    }

    #[test]
    fn rejects_truncation_and_garbage() {
        let mut enc = Encoder::new(Vec::new()).unwrap();
        enc.table(Table::Kv).unwrap();
        enc.entry(b"k", b"v").unwrap();
        let (mut buf, _) = enc.finish().unwrap();
        let mut r = buf.as_slice();
        decode(&mut r, &mut |_, _, _| Ok(())).unwrap();
        let padding = r.len();
        for cut in [3, 20, buf.len() - padding - 1] {
            let err = decode(&mut &buf[..cut], &mut |_, _, _| Ok(())).unwrap_err();
            assert!(matches!(err, Error::Restore(_)), "{err}");
        }
        let last = buf.len() - 1;
        buf[last] = 1;
        let mut r = buf.as_slice();
        decode(&mut r, &mut |_, _, _| Ok(())).unwrap();
        assert!(check_padding(&mut r).is_err());
        let err = decode(&mut &b"SQLite format 3\0xxxxxxxx"[..], &mut |_, _, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("not a capstan snapshot"), "{err}");
    }
}
