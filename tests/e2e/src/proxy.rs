//! A controllable TCP proxy in front of each member's peer port, for network
//! faults between cluster members.
//!
//! Member `i` advertises its peer URL on the proxy's port (on its own loopback
//! IP `127.0.0.(10+i)`), and the proxy forwards to the member's real
//! `--listen-peer-urls` port. The proxy learns who is calling from the
//! connection's source IP: `127.0.0.(10+k)` is member `k`. A server that binds
//! its outgoing peer connections to its own listen-peer IP (capstan does) is
//! therefore identified, and every rule below applies to it. A server that does
//! not (etcd 3.4 dials from `127.0.0.1`) is forwarded transparently: such
//! connections are counted as unidentified and no rule applies to them.
//!
//! Rules live on a shared [`Net`] handle and are directional (`from` → `to`
//! means bytes sent by `from` to `to`); a TCP connection carries both
//! directions of its pair:
//!
//! * a connection whose initiator → acceptor direction is blocked is refused
//!   (accepted, then reset at once);
//! * a connection whose other direction only is blocked is accepted, and the
//!   blocked direction's bytes are discarded (a one-way black hole);
//! * when a rule change alters whether either direction of a live connection is
//!   blocked, that connection is cut (reset on both sides), so nothing sent
//!   before the change trickles through after it;
//! * delays hold every chunk read in that direction for the given time
//!   (order preserved; the delay is sampled when the chunk is read).
//!
//! The proxies run on their own thread and runtime, so a [`Net`] works from
//! synchronous tests and from inside other runtimes alike; the thread stops
//! when the last clone of the [`Net`] is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The loopback IP of member `i`: `127.0.0.(10+i)`.
pub fn member_ip(i: usize) -> Ipv4Addr {
    let last = u8::try_from(10 + i).unwrap_or(u8::MAX);
    Ipv4Addr::new(127, 0, 0, last)
}

/// The member index a source IP belongs to (the inverse of [`member_ip`]).
pub fn member_of(ip: IpAddr) -> Option<usize> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            (a == 127 && b == 0 && c == 0 && (10..=250).contains(&d)).then(|| usize::from(d) - 10)
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().and_then(|v4| member_of(IpAddr::V4(v4))),
    }
}

/// Counters of what the proxies did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Connections accepted by any proxy.
    pub accepted: u64,
    /// Accepted connections whose source IP named a member.
    pub identified: u64,
    /// Accepted connections from an address that names no member (forwarded untouched).
    pub unidentified: u64,
    /// Connections refused by a rule.
    pub refused: u64,
    /// Live connections cut by a rule change.
    pub cut: u64,
    /// Connections whose target (the member's listen-peer port) was not reachable.
    pub target_down: u64,
    /// Connections open right now.
    pub open: usize,
    /// Bytes discarded by one-way blocks.
    pub discarded_bytes: u64,
}

/// The rules in force.
#[derive(Debug, Clone, Default)]
struct Rules {
    /// Members cut off from everyone.
    isolated: BTreeSet<usize>,
    /// Disjoint groups; members in different groups cannot talk. Members in no
    /// group are not affected by the partition.
    groups: Vec<Vec<usize>>,
    /// Directed pairs that cannot talk.
    blocked: BTreeSet<(usize, usize)>,
    /// Directed delays.
    delays: BTreeMap<(usize, usize), Duration>,
}

impl Rules {
    fn blocked(&self, from: Option<usize>, to: Option<usize>) -> bool {
        let (Some(a), Some(b)) = (from, to) else { return false };
        if a == b {
            return false;
        }
        if self.isolated.contains(&a) || self.isolated.contains(&b) || self.blocked.contains(&(a, b)) {
            return true;
        }
        let group_of = |m: usize| self.groups.iter().position(|g| g.contains(&m));
        matches!((group_of(a), group_of(b)), (Some(x), Some(y)) if x != y)
    }

    fn delay(&self, from: Option<usize>, to: Option<usize>) -> Duration {
        match (from, to) {
            (Some(a), Some(b)) => self.delays.get(&(a, b)).copied().unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }
}

/// One live proxied connection.
struct Conn {
    /// The initiator (None when unidentified).
    from: Option<usize>,
    /// The proxy's member.
    to: usize,
    /// (initiator → acceptor blocked, acceptor → initiator blocked) when it was set up.
    blocked: (bool, bool),
    cut: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    rules: Rules,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    stats: NetStats,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owns the proxy thread; stops it when dropped.
struct RtOwner {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for RtOwner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = t.join();
        }
    }
}

/// The shared handle on every proxy of a cluster and the rules they apply.
#[derive(Clone)]
pub struct Net {
    shared: Arc<Shared>,
    rt: Arc<RtOwner>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Net").field("rules", &st.rules).field("stats", &st.stats).finish()
    }
}

impl Net {
    /// Starts the proxy thread (no proxies yet).
    pub fn new() -> io::Result<Net> {
        let (htx, hrx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("e2e-net-proxy".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = htx.send(Err(e));
                    return;
                }
            };
            let _ = htx.send(Ok(rt.handle().clone()));
            rt.block_on(async {
                let _ = stop_rx.await;
            });
            // Dropping the runtime cancels every proxy task and closes their sockets.
            rt.shutdown_timeout(Duration::from_secs(1));
        })?;
        let handle = hrx.recv().map_err(|_| io::Error::other("proxy thread died"))??;
        Ok(Net {
            shared: Arc::new(Shared { state: Mutex::new(State::default()) }),
            rt: Arc::new(RtOwner { handle, stop: Mutex::new(Some(stop_tx)), thread: Mutex::new(Some(thread)) }),
        })
    }

    /// Starts a proxy for member `owner` listening on `listen` (port 0 picks a
    /// free one) and forwarding to `target`. Returns the address it listens on.
    pub fn add_proxy(&self, owner: usize, listen: SocketAddr, target: SocketAddr) -> io::Result<SocketAddr> {
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = {
            let _guard = self.rt.handle.enter();
            TcpListener::from_std(std_listener)?
        };
        let shared = self.shared.clone();
        self.rt.handle.spawn(accept_loop(listener, owner, target, shared));
        Ok(addr)
    }

    /// Splits the members into groups that cannot reach each other (replaces
    /// any previous partition; isolations, blocks and delays stay). Members in
    /// no group keep talking to everyone.
    pub fn partition(&self, groups: &[&[usize]]) {
        self.change(|r| r.groups = groups.iter().map(|g| g.to_vec()).collect());
    }

    /// Cuts member `i` off from every other member.
    pub fn isolate(&self, i: usize) {
        self.change(|r| {
            r.isolated.insert(i);
        });
    }

    /// Blocks what `from` sends to `to` (one direction).
    pub fn block(&self, from: usize, to: usize) {
        self.change(|r| {
            r.blocked.insert((from, to));
        });
    }

    /// Delays what `from` sends to `to` by `dur` (zero removes the delay).
    pub fn delay(&self, from: usize, to: usize, dur: Duration) {
        self.change(|r| {
            if dur.is_zero() {
                r.delays.remove(&(from, to));
            } else {
                r.delays.insert((from, to), dur);
            }
        });
    }

    /// Removes every rule (connections that had a blocked direction are cut).
    pub fn heal(&self) {
        self.change(|r| *r = Rules::default());
    }

    /// True when the current rules block what `from` sends to `to`.
    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.shared.lock().rules.blocked(Some(from), Some(to))
    }

    /// True when no rule is in force.
    pub fn is_healed(&self) -> bool {
        let st = self.shared.lock();
        let r = &st.rules;
        r.isolated.is_empty() && r.groups.is_empty() && r.blocked.is_empty() && r.delays.is_empty()
    }

    pub fn stats(&self) -> NetStats {
        let st = self.shared.lock();
        let mut s = st.stats;
        s.open = st.conns.len();
        s
    }

    /// A one-line description of the rules in force.
    pub fn describe(&self) -> String {
        let st = self.shared.lock();
        let r = &st.rules;
        let mut parts = Vec::new();
        if !r.isolated.is_empty() {
            parts.push(format!("isolated {:?}", r.isolated));
        }
        if !r.groups.is_empty() {
            parts.push(format!("partition {:?}", r.groups));
        }
        if !r.blocked.is_empty() {
            parts.push(format!("blocked {:?}", r.blocked));
        }
        if !r.delays.is_empty() {
            parts.push(format!("delays {:?}", r.delays));
        }
        if parts.is_empty() {
            "healed".into()
        } else {
            parts.join("; ")
        }
    }

    /// Applies a rule change and cuts every connection whose blocked status changed.
    fn change(&self, f: impl FnOnce(&mut Rules)) {
        let mut st = self.shared.lock();
        f(&mut st.rules);
        let rules = st.rules.clone();
        let mut cut = 0;
        for c in st.conns.values() {
            let now = (rules.blocked(c.from, Some(c.to)), rules.blocked(Some(c.to), c.from));
            if now != c.blocked {
                let _ = c.cut.send(true);
                cut += 1;
            }
        }
        st.stats.cut += cut;
    }
}

async fn accept_loop(listener: TcpListener, owner: usize, target: SocketAddr, shared: Arc<Shared>) {
    loop {
        let (inbound, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let from = member_of(peer.ip());
        let (refuse, blocked) = {
            let mut st = shared.lock();
            st.stats.accepted += 1;
            if from.is_some() {
                st.stats.identified += 1;
            } else {
                st.stats.unidentified += 1;
            }
            let fwd = st.rules.blocked(from, Some(owner));
            let rev = st.rules.blocked(Some(owner), from);
            if fwd {
                st.stats.refused += 1;
            }
            (fwd, (fwd, rev))
        };
        if refuse {
            let _ = inbound.set_zero_linger();
            drop(inbound);
            continue;
        }
        tokio::spawn(serve(inbound, from, owner, target, blocked, shared.clone()));
    }
}

/// Removes a connection from the table when its tasks end.
struct ConnGuard {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.lock().conns.remove(&self.id);
    }
}

async fn serve(
    inbound: TcpStream,
    from: Option<usize>,
    owner: usize,
    target: SocketAddr,
    blocked: (bool, bool),
    shared: Arc<Shared>,
) {
    let outbound = match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        _ => {
            // The member is down: look like it (a reset, as a refused connect would be).
            shared.lock().stats.target_down += 1;
            let _ = inbound.set_zero_linger();
            return;
        }
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (cut_tx, cut_rx) = watch::channel(false);
    let guard = {
        let mut st = shared.lock();
        // The rules may have changed while connecting.
        let now = (st.rules.blocked(from, Some(owner)), st.rules.blocked(Some(owner), from));
        if now != blocked {
            drop(st);
            let _ = inbound.set_zero_linger();
            let _ = outbound.set_zero_linger();
            return;
        }
        let id = st.next_conn;
        st.next_conn += 1;
        st.conns.insert(id, Conn { from, to: owner, blocked, cut: cut_tx });
        ConnGuard { id, shared: shared.clone() }
    };
    let (in_r, in_w) = inbound.into_split();
    let (out_r, out_w) = outbound.into_split();
    let fwd = pipe(in_r, out_w, from, Some(owner), blocked.0, shared.clone(), cut_rx.clone());
    let rev = pipe(out_r, in_w, Some(owner), from, blocked.1, shared.clone(), cut_rx);
    tokio::join!(fwd, rev);
    drop(guard);
}

/// Copies one direction until EOF, an error or a cut.
async fn pipe(
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    from: Option<usize>,
    to: Option<usize>,
    discard: bool,
    shared: Arc<Shared>,
    mut cut: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let cut_now = {
        let reader = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if discard {
                    shared.lock().stats.discarded_bytes += n as u64;
                    continue;
                }
                let delay = shared.lock().rules.delay(from, to);
                if tx.send((Instant::now() + delay, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
            drop(tx);
            // The writer drains what is queued and ends the pipe.
            std::future::pending::<()>().await;
        };
        let writer = async {
            while let Some((at, data)) = rx.recv().await {
                tokio::time::sleep_until(at).await;
                if wr.write_all(&data).await.is_err() {
                    return;
                }
            }
            let _ = wr.shutdown().await;
        };
        tokio::select! {
            _ = reader => false,
            _ = writer => false,
            _ = cut.wait_for(|c| *c) => true,
        }
    };
    if cut_now {
        // Reset both sockets: the peers see the connection die, not end.
        let _ = rd.as_ref().set_zero_linger();
        let _ = wr.as_ref().set_zero_linger();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn member_ips_round_trip() {
        assert_eq!(member_ip(0), Ipv4Addr::new(127, 0, 0, 10));
        assert_eq!(member_of(IpAddr::V4(member_ip(3))), Some(3));
        assert_eq!(member_of(IpAddr::V4(Ipv4Addr::LOCALHOST)), None);
    }

    #[test]
    fn rules() {
        let mut r = Rules::default();
        assert!(!r.blocked(Some(0), Some(1)));
        r.groups = vec![vec![0], vec![1, 2]];
        assert!(r.blocked(Some(0), Some(1)) && r.blocked(Some(2), Some(0)));
        assert!(!r.blocked(Some(1), Some(2)) && !r.blocked(Some(3), Some(0)));
        assert!(!r.blocked(None, Some(0)), "unidentified senders are never blocked");
        r = Rules::default();
        r.isolated.insert(2);
        assert!(r.blocked(Some(2), Some(0)) && r.blocked(Some(1), Some(2)) && !r.blocked(Some(0), Some(1)));
        r = Rules::default();
        r.blocked.insert((0, 1));
        assert!(r.blocked(Some(0), Some(1)) && !r.blocked(Some(1), Some(0)));
    }

    /// An echo server on `ip`, standing in for a member's peer port.
    fn echo(ip: Ipv4Addr) -> SocketAddr {
        let l = std::net::TcpListener::bind((ip, 0)).unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b) {
                        if n == 0 || s.write_all(&b[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// A blocking connection to `to` from member `from`'s IP (None: from 127.0.0.1).
    fn connect_from(from: Option<usize>, to: SocketAddr) -> io::Result<std::net::TcpStream> {
        let s = match from {
            None => std::net::TcpStream::connect_timeout(&to, Duration::from_secs(1))?,
            Some(i) => {
                let sock = tokio::net::TcpSocket::new_v4()?;
                sock.bind(SocketAddr::new(member_ip(i).into(), 0))?;
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                let s = rt.block_on(async { sock.connect(to).await?.into_std() })?;
                s.set_nonblocking(false)?;
                s
            }
        };
        s.set_read_timeout(Some(Duration::from_millis(500)))?;
        Ok(s)
    }

    /// One echo round trip over a fresh connection from `from`.
    fn round_trip(from: Option<usize>, to: SocketAddr) -> io::Result<Duration> {
        let mut s = connect_from(from, to)?;
        let t = std::time::Instant::now();
        s.write_all(b"ping")?;
        let mut b = [0u8; 4];
        s.read_exact(&mut b)?;
        assert_eq!(&b, b"ping");
        Ok(t.elapsed())
    }

    #[test]
    fn forwards_blocks_cuts_and_delays() {
        let net = Net::new().unwrap();
        let target = echo(member_ip(1));
        let proxy = net.add_proxy(1, SocketAddr::new(member_ip(1).into(), 0), target).unwrap();
        // Unidentified and identified senders get through with no rules.
        round_trip(None, proxy).unwrap();
        round_trip(Some(0), proxy).unwrap();
        assert!(net.stats().identified >= 1 && net.stats().unidentified >= 1, "{:?}", net.stats());

        // A live connection from member 0 is cut when 0 is isolated.
        let mut live = connect_from(Some(0), proxy).unwrap();
        live.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        live.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        live.read_exact(&mut b).unwrap();
        net.isolate(0);
        let r = live.read(&mut b);
        let timed_out = |e: &io::Error| matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut);
        assert!(
            matches!(&r, Ok(0)) || matches!(&r, Err(e) if !timed_out(e)),
            "connection survived the isolation: {r:?}"
        );
        assert!(round_trip(Some(0), proxy).is_err(), "new connection from an isolated member got through");
        round_trip(Some(2), proxy).unwrap();
        round_trip(None, proxy).unwrap();
        assert!(net.stats().refused >= 1 && net.stats().cut >= 1, "{:?}", net.stats());

        // One-way block of the reply direction: the request gets there, no answer comes back.
        net.heal();
        net.block(1, 0);
        assert!(round_trip(Some(0), proxy).is_err(), "reply crossed a one-way block");
        round_trip(Some(2), proxy).unwrap();
        net.heal();
        round_trip(Some(0), proxy).unwrap();

        // Delays apply per direction.
        net.delay(0, 1, Duration::from_millis(150));
        let t = round_trip(Some(0), proxy).unwrap();
        assert!(t >= Duration::from_millis(150), "delayed round trip took {t:?}");
        let t = round_trip(Some(2), proxy).unwrap();
        assert!(t < Duration::from_millis(150), "undelayed round trip took {t:?}");
        net.heal();
        assert!(net.is_healed());
    }
}
