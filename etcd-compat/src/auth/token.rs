//! etcd's "simple" tokens: `<16 random letters>.<index>`, kept in memory only
//! (a restart or auth disable invalidates them), each living for a TTL that
//! every use renews.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use tonic::metadata::MetadataMap;

use crate::error::{Error, Result};

/// etcd's default `--auth-token-ttl` (300 s).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);
const PREFIX_LEN: usize = 16;
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Metadata keys etcd reads a token from: gRPC clients, then the gateway.
const TOKEN_KEYS: [&str; 2] = ["token", "authorization"];

/// The token a request carries, if any.
pub fn from_metadata(meta: &MetadataMap) -> Result<Option<&str>> {
    for key in TOKEN_KEYS {
        if let Some(v) = meta.get(key) {
            return v.to_str().map(Some).map_err(|_| Error::InvalidAuthToken);
        }
    }
    Ok(None)
}

/// A random token prefix, like etcd's genTokenPrefix.
pub fn gen_prefix() -> String {
    let mut rng = rand::thread_rng();
    (0..PREFIX_LEN).map(|_| char::from(LETTERS[rng.gen_range(0..LETTERS.len())])).collect()
}

/// Token → user, with expiry.
#[derive(Debug)]
pub struct SimpleTokens {
    ttl: Duration,
    tokens: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    user: String,
    expires: Instant,
}

impl Default for SimpleTokens {
    fn default() -> Self {
        Self::new(DEFAULT_TOKEN_TTL)
    }
}

impl SimpleTokens {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, tokens: HashMap::new() }
    }

    /// Makes `<prefix>.<index>` a token for `user`.
    pub fn assign(&mut self, user: &str, prefix: &str, index: u64, now: Instant) -> String {
        self.purge(now);
        let token = format!("{prefix}.{index}");
        self.tokens.insert(token.clone(), Entry { user: user.to_string(), expires: now + self.ttl });
        token
    }

    /// The user a live token belongs to; using it renews its TTL.
    pub fn lookup(&mut self, token: &str, now: Instant) -> Option<String> {
        if !well_formed(token) {
            return None;
        }
        let entry = self.tokens.get_mut(token)?;
        if entry.expires <= now {
            self.tokens.remove(token);
            return None;
        }
        entry.expires = now + self.ttl;
        Some(entry.user.clone())
    }

    /// Drops every token of `user` (deleted, or its password changed).
    pub fn invalidate_user(&mut self, user: &str) {
        self.tokens.retain(|_, e| e.user != user);
    }

    /// Drops every token (auth disabled).
    pub fn clear(&mut self) {
        self.tokens.clear();
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    fn purge(&mut self, now: Instant) {
        self.tokens.retain(|_, e| e.expires > now);
    }
}

/// etcd accepts only `<prefix>.<integer>`.
fn well_formed(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(_), Some(index), None) = (parts.next(), parts.next(), parts.next()) else { return false };
    index.parse::<i64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_lookup_and_expiry() {
        let mut t = SimpleTokens::new(Duration::from_secs(10));
        let now = Instant::now();
        let prefix = gen_prefix();
        assert_eq!(prefix.len(), 16);
        assert!(prefix.bytes().all(|b| b.is_ascii_alphabetic()));
        let tok = t.assign("alice", &prefix, 7, now);
        assert_eq!(tok, format!("{prefix}.7"));
        assert_eq!(t.lookup(&tok, now + Duration::from_secs(9)).as_deref(), Some("alice"));
        // The lookup renewed it.
        assert_eq!(t.lookup(&tok, now + Duration::from_secs(18)).as_deref(), Some("alice"));
        assert_eq!(t.lookup(&tok, now + Duration::from_secs(40)), None);
        assert!(t.is_empty());
    }

    #[test]
    fn malformed_and_invalidated_tokens() {
        let mut t = SimpleTokens::default();
        let now = Instant::now();
        assert_eq!(t.lookup("abc", now), None);
        assert_eq!(t.lookup("abc.x", now), None);
        assert_eq!(t.lookup("a.1.2", now), None);
        let a = t.assign("alice", "p", 1, now);
        let b = t.assign("bob", "q", 2, now);
        t.invalidate_user("alice");
        assert_eq!(t.lookup(&a, now), None);
        assert_eq!(t.lookup(&b, now).as_deref(), Some("bob"));
        t.clear();
        assert_eq!(t.len(), 0);
    }
}
