//! Service ClusterIP and NodePort allocation, modelled on kube-apiserver's
//! bitmap allocators (pkg/registry/core/service/{ipallocator,portallocator}):
//! a bitmap over the usable range, random allocation that prefers the upper
//! part of the range (ServiceIPStaticSubrange) so that the lower part stays
//! free for statically chosen addresses, and kube's error texts.
//!
//! IPv4 only. A /12 needs 2^20 bits = 128 KiB.

use std::net::Ipv4Addr;

use parking_lot::Mutex;
use rand::Rng;

/// The default `--service-cluster-ip-range`.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// The default `--service-node-port-range`.
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";
/// kube-apiserver's text when no address or port is left.
pub const RANGE_FULL: &str = "range is full";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// `failed to allocate IP 10.96.0.5: provided IP is already allocated`
    #[error("failed to allocate IP {0}: provided IP is already allocated")]
    IpAllocated(Ipv4Addr),
    /// `failed to allocate IP x: the provided IP (x) is not in the valid range. ...`
    #[error("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}")]
    IpNotInRange { ip: Ipv4Addr, range: String },
    /// NodePort errors carry no prefix: the service registry reports them as is.
    #[error("provided port is already allocated")]
    PortAllocated(u16),
    #[error("provided port is not in the valid range. The range of valid ports is {range}")]
    PortNotInRange { port: i64, range: String },
    #[error("range is full")]
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("invalid CIDR address: {0}")]
    InvalidCidr(String),
    #[error("IPv6 service ranges are not supported: {0}")]
    Ipv6(String),
    /// kube-apiserver's options validation text.
    #[error("specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12")]
    TooLarge,
    #[error("invalid port range {0:?}")]
    InvalidPortRange(String),
}

/// A bitmap with kube's "random with offset" scan.
#[derive(Debug)]
struct Bitmap {
    words: Vec<u64>,
    size: usize,
    /// Random allocation tries `[offset, size)` before `[0, offset)`.
    offset: usize,
    used: usize,
}

impl Bitmap {
    fn new(size: usize, offset: usize) -> Self {
        Self { words: vec![0; size.div_ceil(64)], size, offset: offset.min(size), used: 0 }
    }
    fn get(&self, i: usize) -> bool {
        self.words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// Sets bit `i`; false when it was already set or out of range.
    fn set(&mut self, i: usize) -> bool {
        if i >= self.size || self.get(i) {
            return false;
        }
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
            self.used += 1;
        }
        true
    }
    fn clear(&mut self, i: usize) -> bool {
        if i >= self.size || !self.get(i) {
            return false;
        }
        if let Some(w) = self.words.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
            self.used -= 1;
        }
        true
    }
    /// First free bit of `[lo, hi)` scanning from a random start, wrapping.
    fn scan(&self, lo: usize, hi: usize, skip: Option<usize>) -> Option<usize> {
        if hi <= lo {
            return None;
        }
        let n = hi - lo;
        let start = rand::thread_rng().gen_range(0..n);
        (0..n).map(|i| lo + (start + i) % n).find(|&at| !self.get(at) && Some(at) != skip)
    }
    fn allocate_next(&mut self, skip: Option<usize>) -> Option<usize> {
        let at = self.scan(self.offset, self.size, skip).or_else(|| self.scan(0, self.offset, skip))?;
        self.set(at);
        Some(at)
    }
}

/// min(max(min, size/step), max), 0 for tiny ranges (calculateRangeOffset).
fn range_offset(size: usize, min: usize, max: usize, step: usize) -> usize {
    if size <= min {
        return 0;
    }
    (size / step).clamp(min, max)
}

/// ClusterIP allocator over one IPv4 service CIDR.
#[derive(Debug)]
pub struct IpAllocator {
    network: Ipv4Addr,
    prefix: u8,
    /// Address of bit 0: the network address + 1.
    base: u32,
    /// Usable addresses (bitmap length).
    size: usize,
    bits: Mutex<Bitmap>,
}

impl IpAllocator {
    /// Parses `a.b.c.d/n` (host bits are masked off, as Go's ParseCIDR does).
    pub fn new(cidr: &str) -> Result<Self, RangeError> {
        let (addr, prefix) = cidr.split_once('/').ok_or_else(|| RangeError::InvalidCidr(cidr.to_string()))?;
        if addr.contains(':') {
            return Err(RangeError::Ipv6(cidr.to_string()));
        }
        let ip: Ipv4Addr = addr.parse().map_err(|_| RangeError::InvalidCidr(cidr.to_string()))?;
        let prefix: u8 = match prefix.parse() {
            Ok(p) if p <= 32 && !prefix.starts_with('+') => p,
            _ => return Err(RangeError::InvalidCidr(cidr.to_string())),
        };
        // Kept in etcd by kube, so it limits the range to 2^20 addresses.
        if prefix < 12 {
            return Err(RangeError::TooLarge);
        }
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let net = u32::from(ip) & mask;
        let total = 1u64 << (32 - prefix);
        // Network and broadcast addresses are never handed out (nor releasable).
        let size = usize::try_from(total.saturating_sub(2)).unwrap_or(0);
        let offset = range_offset(usize::try_from(total).unwrap_or(usize::MAX), 16, 256, 16);
        Ok(Self {
            network: Ipv4Addr::from(net),
            prefix,
            base: net.wrapping_add(1),
            size,
            bits: Mutex::new(Bitmap::new(size, offset)),
        })
    }

    /// The range as kube prints it, e.g. `10.96.0.0/12`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.network, self.prefix)
    }

    /// The first usable address, which the `kubernetes` service takes
    /// (`10.96.0.1`). [`allocate_next`](Self::allocate_next) never returns it.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.index(ip).is_some()
    }

    fn index(&self, ip: Ipv4Addr) -> Option<usize> {
        let i = usize::try_from(u32::from(ip).checked_sub(self.base)?).ok()?;
        (i < self.size).then_some(i)
    }

    /// Records an address found in storage; false if outside the range or already used.
    pub fn mark_used(&self, ip: Ipv4Addr) -> bool {
        self.index(ip).is_some_and(|i| self.bits.lock().set(i))
    }

    /// Frees an address; false if it was not allocated.
    pub fn release(&self, ip: Ipv4Addr) -> bool {
        self.index(ip).is_some_and(|i| self.bits.lock().clear(i))
    }

    pub fn is_allocated(&self, ip: Ipv4Addr) -> bool {
        self.index(ip).is_some_and(|i| self.bits.lock().get(i))
    }

    /// A random free address, preferring the dynamic (upper) part of the range.
    pub fn allocate_next(&self) -> Option<Ipv4Addr> {
        let at = self.bits.lock().allocate_next(Some(0))?;
        Some(Ipv4Addr::from(self.base.wrapping_add(u32::try_from(at).ok()?)))
    }

    /// Allocates a requested address (`spec.clusterIP` set by the user).
    pub fn allocate_specific(&self, ip: Ipv4Addr) -> Result<(), AllocError> {
        let Some(i) = self.index(ip) else {
            return Err(AllocError::IpNotInRange { ip, range: self.cidr() });
        };
        if self.bits.lock().set(i) {
            Ok(())
        } else {
            Err(AllocError::IpAllocated(ip))
        }
    }

    /// (allocated, usable) address counts.
    pub fn usage(&self) -> (usize, usize) {
        let b = self.bits.lock();
        (b.used, b.size)
    }
}

/// NodePort allocator over `base-max` (inclusive).
#[derive(Debug)]
pub struct PortAllocator {
    base: u16,
    max: u16,
    bits: Mutex<Bitmap>,
}

impl PortAllocator {
    /// Parses net.ParsePortRange forms: `30000-32767`, `30000+2767`, `30000`.
    pub fn new(range: &str) -> Result<Self, RangeError> {
        let bad = || RangeError::InvalidPortRange(range.to_string());
        let num = |s: &str| s.trim().parse::<u16>().map_err(|_| bad());
        let range = range.trim();
        let (base, max) = if let Some((a, b)) = range.split_once('-') {
            (num(a)?, num(b)?)
        } else if let Some((a, n)) = range.split_once('+') {
            let a = num(a)?;
            (a, a.checked_add(num(n)?).ok_or_else(bad)?)
        } else {
            let a = num(range)?;
            (a, a)
        };
        if max < base || (base == 0 && max == 0) {
            return Err(bad());
        }
        let size = usize::from(max - base) + 1;
        Ok(Self { base, max, bits: Mutex::new(Bitmap::new(size, range_offset(size, 16, 128, 32))) })
    }

    /// The range as kube prints it, e.g. `30000-32767`.
    pub fn range(&self) -> String {
        format!("{}-{}", self.base, self.max)
    }

    fn index(&self, port: i64) -> Option<usize> {
        let port = u16::try_from(port).ok()?;
        (self.base..=self.max).contains(&port).then(|| usize::from(port - self.base))
    }

    pub fn contains(&self, port: i64) -> bool {
        self.index(port).is_some()
    }

    pub fn mark_used(&self, port: i64) -> bool {
        self.index(port).is_some_and(|i| self.bits.lock().set(i))
    }

    pub fn release(&self, port: i64) -> bool {
        self.index(port).is_some_and(|i| self.bits.lock().clear(i))
    }

    pub fn is_allocated(&self, port: i64) -> bool {
        self.index(port).is_some_and(|i| self.bits.lock().get(i))
    }

    pub fn allocate_next(&self) -> Option<u16> {
        let at = self.bits.lock().allocate_next(None)?;
        self.base.checked_add(u16::try_from(at).ok()?)
    }

    /// Allocates a requested `nodePort` (any JSON integer; out-of-range ones get the range error).
    pub fn allocate_specific(&self, port: i64) -> Result<(), AllocError> {
        let Some(i) = self.index(port) else {
            return Err(AllocError::PortNotInRange { port, range: self.range() });
        };
        if self.bits.lock().set(i) {
            Ok(())
        } else {
            Err(AllocError::PortAllocated(u16::try_from(port).unwrap_or(u16::MAX)))
        }
    }

    pub fn usage(&self) -> (usize, usize) {
        let b = self.bits.lock();
        (b.used, b.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    #[test]
    fn default_range() {
        let a = IpAllocator::new(DEFAULT_SERVICE_CIDR).expect("range");
        assert_eq!(a.cidr(), "10.96.0.0/12");
        assert_eq!(a.first_ip(), ip("10.96.0.1"));
        assert_eq!(a.usage(), (0, (1 << 20) - 2));
        assert!(a.contains(ip("10.96.0.1")));
        assert!(a.contains(ip("10.111.255.254")));
        assert!(!a.contains(ip("10.96.0.0")), "network address");
        assert!(!a.contains(ip("10.111.255.255")), "broadcast address");
        assert!(!a.contains(ip("10.112.0.1")));
        // Dynamic allocation uses the upper band (offset 256) and never the first IP.
        for _ in 0..1000 {
            let got = a.allocate_next().expect("free");
            assert!(u32::from(got) >= u32::from(ip("10.96.1.1")), "{got}");
        }
        assert_eq!(a.usage().0, 1000);
    }

    #[test]
    fn specific_and_errors() {
        let a = IpAllocator::new("10.96.0.0/12").expect("range");
        a.allocate_specific(ip("10.96.0.1")).expect("kubernetes service");
        a.allocate_specific(ip("10.96.0.5")).expect("free");
        assert_eq!(
            a.allocate_specific(ip("10.96.0.5")).map_err(|e| e.to_string()),
            Err("failed to allocate IP 10.96.0.5: provided IP is already allocated".into())
        );
        assert_eq!(
            a.allocate_specific(ip("192.168.0.1")).map_err(|e| e.to_string()),
            Err("failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12".into())
        );
        assert!(a.allocate_specific(ip("10.96.0.0")).is_err());
        assert!(a.is_allocated(ip("10.96.0.5")));
        assert!(a.release(ip("10.96.0.5")));
        assert!(!a.release(ip("10.96.0.5")));
        assert!(a.allocate_specific(ip("10.96.0.5")).is_ok());
        assert!(!a.mark_used(ip("10.96.0.5")));
        assert!(a.mark_used(ip("10.96.0.6")));
        assert!(!a.mark_used(ip("1.2.3.4")));
    }

    #[test]
    fn small_range_exhausts() {
        // /29: 8 addresses, 6 usable, the first reserved → 5 dynamic.
        let a = IpAllocator::new("192.168.1.3/29").expect("range");
        assert_eq!(a.cidr(), "192.168.1.0/29");
        let got: HashSet<Ipv4Addr> = (0..5).map(|_| a.allocate_next().expect("free")).collect();
        assert_eq!(got.len(), 5);
        assert!(!got.contains(&ip("192.168.1.1")));
        assert!(got.iter().all(|i| a.contains(*i)));
        assert_eq!(a.allocate_next(), None);
        a.allocate_specific(ip("192.168.1.1")).expect("first ip by hand");
        assert!(a.release(ip("192.168.1.4")));
        assert_eq!(a.allocate_next(), Some(ip("192.168.1.4")));
        let tiny = IpAllocator::new("10.0.0.0/32").expect("range");
        assert_eq!(tiny.allocate_next(), None);
        assert_eq!(tiny.usage(), (0, 0));
    }

    #[test]
    fn bad_ranges() {
        assert_eq!(IpAllocator::new("fd00::/108").map(|_| ()), Err(RangeError::Ipv6("fd00::/108".into())));
        assert_eq!(
            IpAllocator::new("10.0.0.0/8").map(|_| ()).map_err(|e| e.to_string()),
            Err("specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12"
                .into())
        );
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/24", "x/24", "10.0.0.0/+24"] {
            assert!(IpAllocator::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports() {
        let p = PortAllocator::new(DEFAULT_NODE_PORT_RANGE).expect("range");
        assert_eq!(p.range(), "30000-32767");
        assert_eq!(p.usage(), (0, 2768));
        p.allocate_specific(30080).expect("free");
        assert_eq!(
            p.allocate_specific(30080).map_err(|e| e.to_string()),
            Err("provided port is already allocated".into())
        );
        assert_eq!(
            p.allocate_specific(80).map_err(|e| e.to_string()),
            Err("provided port is not in the valid range. The range of valid ports is 30000-32767".into())
        );
        assert!(p.allocate_specific(70000).is_err());
        for _ in 0..100 {
            let port = p.allocate_next().expect("free");
            // Offset for 2768 ports is 86: dynamic ports start at 30086.
            assert!((30086..=32767).contains(&port), "{port}");
        }
        assert!(p.release(30080));
        assert!(!p.is_allocated(30080));
        assert!(p.mark_used(30080));
        assert_eq!(PortAllocator::new("30000+10").map(|p| p.range()), Ok("30000-30010".into()));
        assert_eq!(PortAllocator::new("8080").map(|p| p.range()), Ok("8080-8080".into()));
        for bad in ["", "x-y", "5-1", "1-70000", "0"] {
            assert!(PortAllocator::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_exhaust_then_lower_band() {
        let p = PortAllocator::new("100-119").expect("range");
        let got: HashSet<u16> = (0..20).map(|_| p.allocate_next().expect("free")).collect();
        assert_eq!(got.len(), 20);
        assert_eq!(p.allocate_next(), None);
    }

    #[test]
    fn thread_safe() {
        let a = std::sync::Arc::new(IpAllocator::new("10.0.0.0/22").expect("range"));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || (0..200).filter_map(|_| a.allocate_next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for ipa in h.join().expect("thread") {
                assert!(all.insert(ipa), "duplicate {ipa}");
            }
        }
        assert_eq!(all.len(), 800);
    }
}
