//! String formats that kube's CRD validator enforces (kube-openapi `strfmt.Default`,
//! restricted to apiextensions' supported set). Other formats are ignored.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::Regex;

/// A supported string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrFormat {
    BsonObjectId,
    Uri,
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Cidr,
    Mac,
    Uuid,
    Uuid3,
    Uuid4,
    Uuid5,
    Isbn,
    Isbn10,
    Isbn13,
    CreditCard,
    Ssn,
    HexColor,
    RgbColor,
    Byte,
    Password,
    Date,
    Duration,
    DateTime,
    K8sShortName,
    K8sLongName,
}

impl StrFormat {
    /// The format for a schema `format` value (go-openapi normalisation: `-` removed).
    pub fn from_name(name: &str) -> Option<Self> {
        use StrFormat::*;
        Some(match name.replace('-', "").as_str() {
            "bsonobjectid" => BsonObjectId,
            "uri" => Uri,
            "email" => Email,
            "hostname" => Hostname,
            "ipv4" => Ipv4,
            "ipv6" => Ipv6,
            "cidr" => Cidr,
            "mac" => Mac,
            "uuid" => Uuid,
            "uuid3" => Uuid3,
            "uuid4" => Uuid4,
            "uuid5" => Uuid5,
            "isbn" => Isbn,
            "isbn10" => Isbn10,
            "isbn13" => Isbn13,
            "creditcard" => CreditCard,
            "ssn" => Ssn,
            "hexcolor" => HexColor,
            "rgbcolor" => RgbColor,
            "byte" => Byte,
            "password" => Password,
            "date" => Date,
            "duration" => Duration,
            "datetime" => DateTime,
            "k8sshortname" => K8sShortName,
            "k8slongname" => K8sLongName,
            _ => return None,
        })
    }

    /// Whether `s` is valid for this format.
    pub fn validates(self, s: &str) -> bool {
        use StrFormat::*;
        match self {
            BsonObjectId => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            Uri => is_request_uri(s),
            Email => is_email(s),
            Hostname => is_hostname(s),
            Ipv4 => parse_ip_sloppy(s) && s.contains('.'),
            Ipv6 => s.parse::<Ipv6Addr>().is_ok() || (s.contains(':') && parse_ip_sloppy(s)),
            Cidr => is_cidr(s),
            Mac => is_mac(s),
            Uuid => re(&UUID, s),
            Uuid3 => re(&UUID3, s),
            Uuid4 => re(&UUID4, s),
            Uuid5 => re(&UUID5, s),
            Isbn => is_isbn10(s) || is_isbn13(s),
            Isbn10 => is_isbn10(s),
            Isbn13 => is_isbn13(s),
            CreditCard => is_credit_card(s),
            Ssn => s.len() == 11 && re(&SSN, s),
            HexColor => re(&HEXCOLOR, s),
            RgbColor => re(&RGBCOLOR, s),
            Byte => re(&BASE64, s),
            Password => true,
            Date => is_date(s),
            Duration => is_duration(s),
            DateTime => is_date_time(s),
            K8sShortName => s.len() <= 63 && re(&SHORT_NAME, s),
            K8sLongName => s.len() <= 253 && re(&LONG_NAME, s),
        }
    }
}

fn re(r: &LazyLock<Option<Regex>>, s: &str) -> bool {
    r.as_ref().is_some_and(|r| r.is_match(s))
}

type Lazy = LazyLock<Option<Regex>>;

static UUID: Lazy =
    LazyLock::new(|| Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok());
static UUID3: Lazy =
    LazyLock::new(|| Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok());
static UUID4: Lazy =
    LazyLock::new(|| Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$").ok());
static UUID5: Lazy =
    LazyLock::new(|| Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$").ok());
static HOSTNAME: Lazy = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$").ok()
});
static SSN: Lazy = LazyLock::new(|| Regex::new(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$").ok());
static HEXCOLOR: Lazy = LazyLock::new(|| Regex::new(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").ok());
static RGBCOLOR: Lazy = LazyLock::new(|| {
    let c = r"\s*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])\s*";
    Regex::new(&format!(r"^rgb\({c},{c},{c}\)$")).ok()
});
static BASE64: Lazy = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$").ok()
});
static SHORT_NAME: Lazy = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").ok());
static LONG_NAME: Lazy =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").ok());
static DATE_TIME: Lazy =
    LazyLock::new(|| Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$").ok());
static DURATION: Lazy = LazyLock::new(|| Regex::new(r"([0-9]+)\s*([A-Za-zµ]+)").ok());
static EMAIL_LOCAL: Lazy = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*|\x22([^\x22\\]|\\.)*\x22)$").ok()
});
static EMAIL_DOMAIN: Lazy = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*|\[[^\[\]\\]*\])$").ok()
});

fn is_hostname(s: &str) -> bool {
    re(&HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

/// Go's `net.ParseIP` with leading zeros allowed in IPv4 parts (`ParseIPSloppy`).
fn parse_ip_sloppy(s: &str) -> bool {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().is_ok();
    }
    is_ipv4_sloppy(s)
}

fn is_ipv4_sloppy(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(bits) = bits.parse::<u32>() else {
        return false;
    };
    if ip.contains(':') {
        ip.parse::<Ipv6Addr>().is_ok() && bits <= 128
    } else {
        is_ipv4_sloppy(ip) && bits <= 32
    }
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets separated by `:` or `-`, or dotted 4-hex groups.
fn is_mac(s: &str) -> bool {
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit());
    if s.len() < 14 {
        return false;
    }
    let b = s.as_bytes();
    if b[2] == b':' || b[2] == b'-' {
        let sep = b[2] as char;
        let parts: Vec<&str> = s.split(sep).collect();
        return matches!(parts.len(), 6 | 8 | 20) && parts.iter().all(|p| hex(p, 2));
    }
    if b[4] == b'.' {
        let parts: Vec<&str> = s.split('.').collect();
        return matches!(parts.len(), 3 | 4 | 10) && parts.iter().all(|p| hex(p, 4));
    }
    false
}

/// Go's `url.ParseRequestURI` succeeding: an absolute URI or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let rest = s.split_once('#').map_or(s, |(a, _)| a);
    let rest = match scheme_end(rest) {
        Some(Ok(i)) => &rest[i + 1..],
        Some(Err(())) => return false,
        None => {
            if !rest.starts_with('/') {
                return false;
            }
            rest
        }
    };
    if let Some(auth) = rest.strip_prefix("//") {
        let auth = auth.split(['/', '?']).next().unwrap_or("");
        let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
        if let Some(h) = host.strip_prefix('[') {
            let Some((ip6, port)) = h.split_once(']') else {
                return false;
            };
            return ip6.split('%').next().is_some_and(|a| a.parse::<Ipv6Addr>().is_ok())
                && (port.is_empty() || port.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())));
        }
        if let Some((_, port)) = host.rsplit_once(':') {
            return port.bytes().all(|b| b.is_ascii_digit());
        }
    }
    true
}

/// `Some(Ok(i))`: a valid scheme ends at `:` index `i`; `Some(Err)`: malformed; `None`: no scheme.
fn scheme_end(s: &str) -> Option<Result<usize, ()>> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Some(Err(())),
            ':' => return Some(Ok(i)),
            _ => return None,
        }
    }
    None
}

/// An approximation of Go's `net/mail.ParseAddress`: `local@domain` or `Name <local@domain>`.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        (None, false) => s,
        _ => return false,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && re(&EMAIL_LOCAL, local) && re(&EMAIL_DOMAIN, domain)
}

fn isbn_sanitize(s: &str) -> String {
    s.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn is_isbn10(s: &str) -> bool {
    let s = isbn_sanitize(s);
    let b = s.as_bytes();
    if b.len() != 10 || !b[..9].iter().all(u8::is_ascii_digit) || !(b[9].is_ascii_digit() || b[9] == b'X') {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in b[..9].iter().enumerate() {
        sum += (i as u32 + 1) * u32::from(c - b'0');
    }
    sum += if b[9] == b'X' { 100 } else { 10 * u32::from(b[9] - b'0') };
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let s = isbn_sanitize(s);
    let b = s.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in b[..12].iter().enumerate() {
        sum += u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 };
    }
    (10 - sum % 10) % 10 == u32::from(b[12] - b'0')
}

/// govalidator's `IsCreditCard`: digits (separators ignored) of a known issuer, Luhn-valid.
fn is_credit_card(s: &str) -> bool {
    let d: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if d.len() < 12 || d.len() > 19 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0;
    for (i, b) in d.bytes().rev().enumerate() {
        let mut n = u32::from(b - b'0');
        if i % 2 == 1 {
            n *= 2;
            if n > 9 {
                n -= 9;
            }
        }
        sum += n;
    }
    sum % 10 == 0
}

/// Go's `time.Parse("2006-01-02", s)`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let p = &s[r];
        p.bytes().all(|c| c.is_ascii_digit()).then(|| p.parse().ok()).flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// kube-openapi's `IsDateTime`.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(Some(caps)) = DATE_TIME.as_ref().map(|r| r.captures(parts[1])) else {
        return false;
    };
    let get = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    get(1) <= "23" && get(2) <= "59" && get(3) <= "59"
}

/// Go's `time.ParseDuration`, else kube-openapi's lenient `<n> <unit>` form.
fn is_duration(s: &str) -> bool {
    if go_parse_duration(s) {
        return true;
    }
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let Some(r) = DURATION.as_ref() else {
        return false;
    };
    r.captures_iter(s).any(|c| {
        let unit = c.get(2).map_or("", |m| m.as_str()).trim().to_lowercase();
        UNITS.iter().any(|variants| {
            let last = variants.len() - 1;
            variants.iter().enumerate().any(|(i, v)| (i == last && unit.starts_with(v)) || unit == *v)
        })
    })
}

fn go_parse_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut i = int_len;
        let mut frac_len = 0;
        if rest[i..].starts_with('.') {
            i += 1;
            frac_len = rest[i..].bytes().take_while(u8::is_ascii_digit).count();
            i += frac_len;
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        rest = &rest[i..];
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        if !matches!(&rest[..unit_len], "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return false;
        }
        rest = &rest[unit_len..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::StrFormat::*;

    #[test]
    fn formats() {
        assert!(Uuid.validates("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!Uuid.validates("nope"));
        assert!(DateTime.validates("2024-01-02T03:04:05Z"));
        assert!(DateTime.validates("2024-01-02T03:04:05.123+01:00"));
        assert!(!DateTime.validates("2024-01-02 03:04:05"));
        assert!(Date.validates("2024-02-29"));
        assert!(!Date.validates("2023-02-29"));
        assert!(Duration.validates("1h30m"));
        assert!(Duration.validates("5 days"));
        assert!(!Duration.validates("soon"));
        assert!(Ipv4.validates("10.0.0.1"));
        assert!(!Ipv4.validates("::1"));
        assert!(Ipv6.validates("::1"));
        assert!(Cidr.validates("10.0.0.0/8"));
        assert!(!Cidr.validates("10.0.0.0/33"));
        assert!(Mac.validates("00:1a:2b:3c:4d:5e"));
        assert!(Hostname.validates("example.com"));
        assert!(!Hostname.validates("-bad-.com_"));
        assert!(Uri.validates("https://example.com/x"));
        assert!(!Uri.validates("example.com"));
        assert!(Email.validates("a@b.io"));
        assert!(!Email.validates("nope"));
        assert!(Byte.validates("aGVsbG8="));
        assert!(!Byte.validates("hello!"));
        assert!(Isbn10.validates("0321751043"));
        assert!(Isbn13.validates("978-0321751041"));
        assert!(K8sShortName.validates("my-name"));
        assert!(!K8sShortName.validates("My-name"));
        assert!(BsonObjectId.validates("507f1f77bcf86cd799439011"));
    }
}
