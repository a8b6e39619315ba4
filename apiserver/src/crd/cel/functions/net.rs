//! Kubernetes' IP, CIDR and URL libraries: `ip(s)`, `isIP(s)`, `ip.isCanonical(s)`, `cidr(s)`,
//! `isCIDR(s)`, `url(s)`, `isURL(s)`, `string(ip|cidr)` and the methods of those values.

use super::{arg, fn_error, no_overload, opaque, str_arg, value_overload, Registrar};
use cel::common::types::{DYN_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{ExecutionError, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

pub(in crate::crd::cel) fn register(reg: &mut Registrar<'_>) {
    reg.global("ip", vec![STRING_TYPE], ip);
    reg.global("isIP", vec![STRING_TYPE], is_ip);
    reg.global("ip.isCanonical", vec![STRING_TYPE], ip_is_canonical);
    reg.global("cidr", vec![STRING_TYPE], cidr);
    reg.global("isCIDR", vec![STRING_TYPE], is_cidr);
    reg.global("url", vec![STRING_TYPE], url);
    reg.global("isURL", vec![STRING_TYPE], is_url);
    reg.global("string", vec![DYN_TYPE], to_string);
    for (name, f) in [
        ("family", family as super::Overload),
        ("isUnspecified", is_unspecified),
        ("isLoopback", is_loopback),
        ("isLinkLocalMulticast", is_link_local_multicast),
        ("isLinkLocalUnicast", is_link_local_unicast),
        ("isGlobalUnicast", is_global_unicast),
        ("ip", cidr_ip),
        ("masked", masked),
        ("prefixLength", prefix_length),
        ("getScheme", get_scheme),
        ("getHost", get_host),
        ("getHostname", get_hostname),
        ("getPort", get_port),
        ("getEscapedPath", get_escaped_path),
        ("getQuery", get_query),
    ] {
        reg.member(name, DYN_TYPE, vec![], f);
    }
    reg.member("containsIP", DYN_TYPE, vec![DYN_TYPE], contains_ip);
    reg.member("containsCIDR", DYN_TYPE, vec![DYN_TYPE], contains_cidr);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ip(IpAddr);

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        "net.IP"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        "net.CIDR"
    }
}

/// Parses an IP as Kubernetes' `ip()` does: no zones, no IPv4-mapped IPv6 addresses.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let addr: IpAddr = s.parse().ok()?;
    match addr {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        _ => Some(addr),
    }
}

fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, prefix) = s.split_once('/')?;
    let addr = parse_ip(addr)?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Cidr { addr, prefix })
}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    let (value, width) = bits(addr);
    let host_bits = u32::from(width.saturating_sub(prefix));
    let masked = if host_bits >= 128 { 0 } else { (value >> host_bits) << host_bits };
    match addr {
        IpAddr::V4(_) => IpAddr::from(u32::try_from(masked).unwrap_or(0).to_be_bytes()),
        IpAddr::V6(_) => IpAddr::from(masked.to_be_bytes()),
    }
}

impl Cidr {
    fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.addr.is_ipv4() && mask(addr, self.prefix) == mask(self.addr, self.prefix)
    }
}

fn this_ip(function: &str, args: &[Value]) -> Result<IpAddr, ExecutionError> {
    let v = arg(args, 0)?;
    opaque::<Ip>(v).map(|ip| ip.0).ok_or_else(|| no_overload(function, &[v]))
}

fn this_cidr(function: &str, args: &[Value]) -> Result<Cidr, ExecutionError> {
    let v = arg(args, 0)?;
    opaque::<Cidr>(v).copied().ok_or_else(|| no_overload(function, &[v]))
}

value_overload!(ip, |args| {
    let s = str_arg("ip", args, 0)?;
    parse_ip(s)
        .map(|a| Value::Opaque(Arc::new(Ip(a))))
        .ok_or_else(|| fn_error("ip", format!("IP Address {s:?} parse error")))
});
value_overload!(is_ip, |args| Ok(Value::Bool(parse_ip(str_arg("isIP", args, 0)?).is_some())));
value_overload!(ip_is_canonical, |args| {
    let s = str_arg("ip.isCanonical", args, 0)?;
    let addr = parse_ip(s).ok_or_else(|| fn_error("ip.isCanonical", format!("IP Address {s:?} parse error")))?;
    Ok(Value::Bool(addr.to_string() == s))
});
value_overload!(cidr, |args| {
    let s = str_arg("cidr", args, 0)?;
    parse_cidr(s)
        .map(|c| Value::Opaque(Arc::new(c)))
        .ok_or_else(|| fn_error("cidr", format!("network address {s:?} parse error")))
});
value_overload!(is_cidr, |args| Ok(Value::Bool(parse_cidr(str_arg("isCIDR", args, 0)?).is_some())));
value_overload!(to_string, |args| {
    let v = arg(args, 0)?;
    if let Some(ip) = opaque::<Ip>(v) {
        Ok(Value::from(ip.0.to_string()))
    } else if let Some(c) = opaque::<Cidr>(v) {
        Ok(Value::from(format!("{}/{}", c.addr, c.prefix)))
    } else if let Some(u) = opaque::<Url>(v) {
        Ok(Value::from(u.raw.clone()))
    } else {
        Err(no_overload("string", &[v]))
    }
});
value_overload!(family, |args| Ok(Value::Int(if this_ip("family", args)?.is_ipv4() { 4 } else { 6 })));
value_overload!(is_unspecified, |args| Ok(Value::Bool(this_ip("isUnspecified", args)?.is_unspecified())));
value_overload!(is_loopback, |args| Ok(Value::Bool(this_ip("isLoopback", args)?.is_loopback())));
value_overload!(is_link_local_multicast, |args| {
    Ok(Value::Bool(match this_ip("isLinkLocalMulticast", args)? {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    }))
});
value_overload!(is_link_local_unicast, |args| {
    Ok(Value::Bool(match this_ip("isLinkLocalUnicast", args)? {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }))
});
value_overload!(is_global_unicast, |args| {
    let addr = this_ip("isGlobalUnicast", args)?;
    let global = match addr {
        IpAddr::V4(v4) => {
            !(v4.is_broadcast() || v4.is_multicast() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            !(v6.is_multicast() || v6.is_loopback() || v6.is_unspecified() || v6.segments()[0] & 0xffc0 == 0xfe80)
        }
    };
    Ok(Value::Bool(global))
});
value_overload!(cidr_ip, |args| Ok(Value::Opaque(Arc::new(Ip(this_cidr("ip", args)?.addr)))));
value_overload!(masked, |args| {
    let c = this_cidr("masked", args)?;
    Ok(Value::Opaque(Arc::new(Cidr { addr: mask(c.addr, c.prefix), prefix: c.prefix })))
});
value_overload!(prefix_length, |args| Ok(Value::Int(i64::from(this_cidr("prefixLength", args)?.prefix))));
value_overload!(contains_ip, |args| {
    let c = this_cidr("containsIP", args)?;
    let v = arg(args, 1)?;
    let addr = match v {
        Value::String(s) => {
            parse_ip(s).ok_or_else(|| fn_error("containsIP", format!("IP Address {s:?} parse error")))?
        }
        _ => opaque::<Ip>(v).map(|ip| ip.0).ok_or_else(|| no_overload("containsIP", &[v]))?,
    };
    Ok(Value::Bool(c.contains(addr)))
});
value_overload!(contains_cidr, |args| {
    let c = this_cidr("containsCIDR", args)?;
    let v = arg(args, 1)?;
    let other = match v {
        Value::String(s) => {
            parse_cidr(s).ok_or_else(|| fn_error("containsCIDR", format!("network address {s:?} parse error")))?
        }
        _ => opaque::<Cidr>(v).copied().ok_or_else(|| no_overload("containsCIDR", &[v]))?,
    };
    Ok(Value::Bool(other.prefix >= c.prefix && c.contains(other.addr)))
});

/// A URL as Go's `url.ParseRequestURI` accepts it: absolute (`scheme://host/path?query`) or an
/// absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    raw: String,
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.URL"
    }
}

fn parse_url(s: &str) -> Option<Url> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let without_fragment = s.split('#').next().unwrap_or(s);
    let (rest, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
    let (scheme, host, path) = if rest.starts_with('/') {
        (String::new(), String::new(), rest.to_owned())
    } else {
        let (scheme, after) = rest.split_once(':')?;
        let valid_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return None;
        }
        match after.strip_prefix("//") {
            Some(authority_path) => {
                let (authority, path) = match authority_path.find('/') {
                    Some(i) => authority_path.split_at(i),
                    None => (authority_path, ""),
                };
                let host = authority.rsplit('@').next().unwrap_or(authority);
                (scheme.to_owned(), host.to_owned(), path.to_owned())
            }
            None => (scheme.to_owned(), String::new(), after.to_owned()),
        }
    };
    Some(Url { raw: s.to_owned(), scheme, host, path, query: query.to_owned() })
}

impl Url {
    /// The host without its port, and IPv6 brackets stripped.
    fn hostname(&self) -> &str {
        if let Some(rest) = self.host.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        self.host.split(':').next().unwrap_or(&self.host)
    }

    fn port(&self) -> &str {
        let after_brackets = self.host.rsplit(']').next().unwrap_or(&self.host);
        after_brackets.rsplit_once(':').map_or("", |(_, port)| port)
    }
}

fn this_url(function: &str, args: &[Value]) -> Result<Url, ExecutionError> {
    let v = arg(args, 0)?;
    opaque::<Url>(v).cloned().ok_or_else(|| no_overload(function, &[v]))
}

value_overload!(url, |args| {
    let s = str_arg("url", args, 0)?;
    parse_url(s)
        .map(|u| Value::Opaque(Arc::new(u)))
        .ok_or_else(|| fn_error("url", format!("URL parse error during conversion from string: {s:?}")))
});
value_overload!(is_url, |args| Ok(Value::Bool(parse_url(str_arg("isURL", args, 0)?).is_some())));
value_overload!(get_scheme, |args| Ok(Value::from(this_url("getScheme", args)?.scheme)));
value_overload!(get_host, |args| Ok(Value::from(this_url("getHost", args)?.host)));
value_overload!(get_hostname, |args| Ok(Value::from(this_url("getHostname", args)?.hostname())));
value_overload!(get_port, |args| Ok(Value::from(this_url("getPort", args)?.port())));
value_overload!(get_escaped_path, |args| Ok(Value::from(this_url("getEscapedPath", args)?.path)));
value_overload!(get_query, |args| {
    let u = this_url("getQuery", args)?;
    let mut query: HashMap<String, Vec<Value>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(u.query.as_bytes()) {
        query.entry(k.into_owned()).or_default().push(Value::from(v.into_owned()));
    }
    Ok(Value::from(query.into_iter().map(|(k, v)| (k, Value::List(Arc::new(v)))).collect::<HashMap<_, _>>()))
});
