//! A client-connection filter for one etcd client quirk: etcdctl 3.4 dials
//! members found with `--cluster` through grpc-go's passthrough resolver,
//! which sends the whole client URL (`http://host:port`) as the HTTP/2
//! `:authority`. etcd's server ignores it; the h2 server behind tonic rejects
//! the stream as malformed. This filter reads the connection's HTTP/2 frames
//! until the first request's headers: if their authority is well formed, the
//! connection is handed through untouched from then on; if it carries a
//! scheme, every header block on that connection gets the authority's
//! `scheme://` replaced by a same-length userinfo (`aaaaaa@`), so the HPACK
//! dynamic tables on both sides keep the same sizes and stay in step.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const PREFACE_LEN: usize = 24;
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The largest frame we re-emit merged (h2's default SETTINGS_MAX_FRAME_SIZE).
const MAX_FRAME: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading frames until the first request's headers.
    Inspect,
    /// Rewriting every header block on this connection.
    Rewrite,
    /// Untouched from here on.
    Direct,
}

pub struct AuthorityFix<S> {
    inner: S,
    mode: Mode,
    preface_done: bool,
    /// Bytes read from `inner`, not yet looked at.
    inbuf: Vec<u8>,
    /// Bytes ready for the reader.
    out: Vec<u8>,
    out_pos: usize,
    /// A HEADERS frame waiting for its CONTINUATION frames.
    pending: Vec<Vec<u8>>,
    eof: bool,
}

impl<S> AuthorityFix<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            mode: Mode::Inspect,
            preface_done: false,
            inbuf: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            pending: Vec::new(),
            eof: false,
        }
    }

    /// Moves every complete frame in `inbuf` to `out`, rewritten if needed.
    fn process(&mut self) {
        loop {
            if self.mode == Mode::Direct {
                self.out.append(&mut self.inbuf);
                return;
            }
            if !self.preface_done {
                let seen = self.inbuf.len().min(PREFACE_LEN);
                if self.inbuf[..seen] != PREFACE[..seen] {
                    // Not HTTP/2 with prior knowledge: let the server answer it.
                    self.mode = Mode::Direct;
                    continue;
                }
                if seen < PREFACE_LEN {
                    return;
                }
                self.out.extend(self.inbuf.drain(..PREFACE_LEN));
                self.preface_done = true;
                continue;
            }
            if self.inbuf.len() < FRAME_HEADER {
                return;
            }
            let len = u32::from_be_bytes([0, self.inbuf[0], self.inbuf[1], self.inbuf[2]]) as usize;
            if self.inbuf.len() < FRAME_HEADER + len {
                return;
            }
            let frame: Vec<u8> = self.inbuf.drain(..FRAME_HEADER + len).collect();
            self.frame(frame);
        }
    }

    fn frame(&mut self, frame: Vec<u8>) {
        let (kind, flags) = (frame[3], frame[4]);
        let in_block = !self.pending.is_empty();
        if kind == HEADERS || (kind == CONTINUATION && in_block) {
            self.pending.push(frame);
            if flags & END_HEADERS != 0 {
                let frames = std::mem::take(&mut self.pending);
                self.header_block(frames);
            }
        } else {
            self.out.extend_from_slice(&frame);
        }
    }

    /// One complete header block (a HEADERS frame and its CONTINUATIONs).
    fn header_block(&mut self, frames: Vec<Vec<u8>>) {
        let first = &frames[0];
        let flags = first[4];
        let payload = &first[FRAME_HEADER..];
        let pad = if flags & PADDED != 0 { payload.first().copied().unwrap_or(0) as usize } else { 0 };
        let start = usize::from(flags & PADDED != 0);
        let prio = if flags & PRIORITY != 0 { 5 } else { 0 };
        let end = payload.len().saturating_sub(pad);
        if start + prio > end {
            frames.iter().for_each(|f| self.out.extend_from_slice(f));
            return;
        }
        let mut block = payload[start + prio..end].to_vec();
        for f in &frames[1..] {
            block.extend_from_slice(&f[FRAME_HEADER..]);
        }
        match rewrite_block(&block) {
            Some(new) if prio + new.len() <= MAX_FRAME => {
                self.mode = Mode::Rewrite;
                let len = prio + new.len();
                let len_bytes = (len as u32).to_be_bytes();
                self.out.extend_from_slice(&len_bytes[1..]);
                self.out.push(HEADERS);
                self.out.push((flags & !PADDED) | END_HEADERS);
                self.out.extend_from_slice(&first[5..9]);
                self.out.extend_from_slice(&payload[start..start + prio]);
                self.out.extend_from_slice(&new);
            }
            _ => {
                frames.iter().for_each(|f| self.out.extend_from_slice(f));
                if self.mode == Mode::Inspect {
                    self.mode = Mode::Direct;
                }
            }
        }
    }
}

fn read_int(b: &[u8], i: &mut usize, prefix: u8) -> Option<usize> {
    let mask = ((1u16 << prefix) - 1) as u8;
    let mut v = (*b.get(*i)? & mask) as usize;
    *i += 1;
    if v < mask as usize {
        return Some(v);
    }
    let mut shift = 0;
    loop {
        let byte = *b.get(*i)?;
        *i += 1;
        v = v.checked_add(((byte & 0x7f) as usize).checked_shl(shift)?)?;
        shift += 7;
        if byte & 0x80 == 0 || shift > 28 {
            return (byte & 0x80 == 0).then_some(v);
        }
    }
}

/// A string literal: its decoded octets; `i` moves past it.
fn read_str(b: &[u8], i: &mut usize) -> Option<Vec<u8>> {
    let huffman = *b.get(*i)? & 0x80 != 0;
    let len = read_int(b, i, 7)?;
    let raw = b.get(*i..i.checked_add(len)?)?;
    *i += len;
    if huffman {
        loona_hpack::huffman::HuffmanDecoder::new().decode(raw).ok()
    } else {
        Some(raw.to_vec())
    }
}

fn write_int(out: &mut Vec<u8>, first_bits: u8, prefix: u8, mut v: usize) {
    let mask = ((1u16 << prefix) - 1) as usize;
    if v < mask {
        out.push(first_bits | v as u8);
        return;
    }
    out.push(first_bits | mask as u8);
    v -= mask;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// `scheme://rest` → `aaaaaa@rest`, same length; `None` if there is no scheme.
fn fix_authority(v: &[u8]) -> Option<Vec<u8>> {
    let p = v.windows(3).position(|w| w == b"://")?;
    let mut out = vec![b'a'; p + 2];
    out.push(b'@');
    out.extend_from_slice(&v[p + 3..]);
    Some(out)
}

/// Rewrites a header block if a literal `:authority` carries a scheme;
/// `None` when nothing needs to change (or the block does not parse).
fn rewrite_block(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let first = b[i];
        let prefix = if first & 0x80 != 0 {
            read_int(b, &mut i, 7)?;
            out.extend_from_slice(&b[start..i]);
            continue;
        } else if first & 0xc0 == 0x40 {
            6
        } else if first & 0xe0 == 0x20 {
            read_int(b, &mut i, 5)?;
            out.extend_from_slice(&b[start..i]);
            continue;
        } else {
            4
        };
        let name_index = read_int(b, &mut i, prefix)?;
        let is_authority = if name_index == 0 { read_str(b, &mut i)? == b":authority" } else { name_index == 1 };
        let name_end = i;
        let value = read_str(b, &mut i)?;
        match is_authority.then(|| fix_authority(&value)).flatten() {
            Some(fixed) => {
                changed = true;
                out.extend_from_slice(&b[start..name_end]);
                write_int(&mut out, 0, 7, fixed.len());
                out.extend_from_slice(&fixed);
            }
            None => out.extend_from_slice(&b[start..i]),
        }
    }
    changed.then_some(out)
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthorityFix<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.out_pos < this.out.len() {
                let n = (this.out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.mode == Mode::Direct && this.inbuf.is_empty() && this.pending.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.eof {
                // Whatever is left is not a whole frame; hand it on as is.
                for f in this.pending.drain(..) {
                    this.out.extend_from_slice(&f);
                }
                this.out.append(&mut this.inbuf);
                if this.out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let mut tmp = [0u8; 16 * 1024];
            let mut rb = ReadBuf::new(&mut tmp);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    if rb.filled().is_empty() {
                        this.eof = true;
                    } else {
                        this.inbuf.extend_from_slice(rb.filled());
                        this.process();
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthorityFix<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected for AuthorityFix<tokio::net::TcpStream> {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "https://www.example.com", Huffman coded (RFC 7541, C.6.1).
    const HUFFMAN_URL: [u8; 17] =
        [0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8, 0xe9, 0xae, 0x82, 0xae, 0x43, 0xd3];

    fn literal_authority(value: &[u8], huffman: bool) -> Vec<u8> {
        // Literal with incremental indexing, name = static index 1 (:authority).
        let mut b = vec![0x41];
        if huffman {
            assert_eq!(value, b"https://www.example.com");
            write_int(&mut b, 0x80, 7, HUFFMAN_URL.len());
            b.extend_from_slice(&HUFFMAN_URL);
        } else {
            write_int(&mut b, 0, 7, value.len());
            b.extend_from_slice(value);
        }
        b
    }

    #[test]
    fn scheme_in_authority_is_replaced_keeping_the_length() {
        assert_eq!(fix_authority(b"http://127.0.0.1:2379").unwrap(), b"aaaaaa@127.0.0.1:2379");
        assert_eq!(fix_authority(b"127.0.0.1:2379"), None);
        let parsed = http::uri::Authority::try_from(&b"aaaaaa@127.0.0.1:2379"[..]).unwrap();
        assert_eq!(parsed.host(), "127.0.0.1");
    }

    #[test]
    fn header_blocks_are_rewritten_only_when_needed() {
        // :method GET (indexed 2), then the authority literal, then :path "/x" (literal, not indexed).
        let decoded = loona_hpack::huffman::HuffmanDecoder::new().decode(&HUFFMAN_URL).unwrap();
        assert_eq!(decoded, b"https://www.example.com");
        for (value, huffman, fixed) in [
            (&b"http://10.0.0.1:2379"[..], false, &b"aaaaaa@10.0.0.1:2379"[..]),
            (&b"https://www.example.com"[..], true, &b"aaaaaaa@www.example.com"[..]),
        ] {
            let mut block = vec![0x82];
            block.extend(literal_authority(value, huffman));
            block.extend([0x04, 0x02, b'/', b'x']);
            let out = rewrite_block(&block).unwrap();
            let mut want = vec![0x82];
            want.extend(literal_authority(fixed, false));
            want.extend([0x04, 0x02, b'/', b'x']);
            assert_eq!(out, want, "huffman={huffman}");
        }
        let mut ok = vec![0x82];
        ok.extend(literal_authority(b"10.0.0.1:2379", false));
        assert_eq!(rewrite_block(&ok), None);
        assert_eq!(rewrite_block(&[0x41, 0xff]), None, "truncated input is left alone");
    }

    #[tokio::test]
    async fn stream_rewrites_the_first_headers_frame_and_passes_the_rest() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut block = vec![0x82];
        block.extend(literal_authority(b"http://10.0.0.1:2379", false));
        let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        wire.extend([0, 0, 0, 0x4, 0, 0, 0, 0, 0]); // SETTINGS
        wire.extend([0, 0, block.len() as u8, HEADERS, END_HEADERS, 0, 0, 0, 1]);
        wire.extend(&block);
        wire.extend([0, 0, 2, 0, 1, 0, 0, 0, 1, 7, 7]); // DATA
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(&wire).await.unwrap();
        drop(client);
        let mut got = Vec::new();
        AuthorityFix::new(server).read_to_end(&mut got).await.unwrap();
        let text = String::from_utf8_lossy(&got);
        assert!(text.contains("aaaaaa@10.0.0.1:2379"), "{text}");
        assert!(!text.contains("http://"));
        assert!(got.ends_with(&[0, 0, 2, 0, 1, 0, 0, 0, 1, 7, 7]));
        assert_eq!(got.len(), wire.len());
    }

    #[tokio::test]
    async fn non_http2_bytes_pass_through_untouched() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Shorter than the HTTP/2 preface, and the client keeps the connection open.
        let wire = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(&wire).await.unwrap();
        let mut got = vec![0u8; wire.len()];
        let mut fix = AuthorityFix::new(server);
        tokio::time::timeout(std::time::Duration::from_secs(5), fix.read_exact(&mut got)).await.unwrap().unwrap();
        assert_eq!(got, wire);
        drop(client);
    }
}
