//! The functions rules may call: the standard library and extensions, and the Kubernetes
//! libraries implemented in [`functions`](super::functions).

use super::CelRules;
use serde_json::json;

/// Runs `rule` on `spec` = `{"s": "a/b", "n": [3, 1, 2], "e": []}`: `Ok(passed)`, or the
/// failure message if the rule failed to evaluate.
fn run(rule: &str) -> Result<bool, String> {
    let schema = json!({"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-validations": [{"rule": rule}],
    }}});
    let rules = CelRules::compile(&schema).map_err(|e| format!("{e:?}"))?;
    let causes = rules.validate(&json!({"spec": {"s": "a/b", "n": [3, 1, 2], "e": []}}), None);
    match causes.as_slice() {
        [] => Ok(true),
        [c] if c.message.contains("failed rule") => Ok(false),
        _ => Err(format!("{causes:?}")),
    }
}

#[test]
fn functions() {
    let passing = [
        // standard library, strings and lists extensions, optionals
        "self.s.startsWith('a') && self.s.endsWith('b') && self.s.contains('/')",
        "self.s.matches('^[a-z]/[a-z]$') && !self.s.matches('^x')",
        "self.s.split('/') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b'",
        "self.s.lowerAscii() == 'a/b' && 'AbC'.upperAscii() == 'ABC' && '  x '.trim() == 'x'",
        "self.s.replace('/', '.') == 'a.b' && self.s.substring(2) == 'b' && self.s.indexOf('/') == 1",
        "self.n.exists(x, x == 1) && self.n.exists_one(x, x > 2) && self.n.map(x, x * 2) == [6, 2, 4]",
        "self.n.filter(x, x > 1).size() == 2 && 2 in self.n && size(self.e) == 0",
        "self.?missing.orValue('d') == 'd' && self.?s.hasValue()",
        "duration('1h30m') > duration('90s') && timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
        "int('3') == 3 && string(3) == '3' && double(1) == 1.0 && math.greatest([1, 5]) == 5",
        // Kubernetes list library
        "!self.n.isSorted() && [1, 2, 2].isSorted() && ['a', 'b'].isSorted()",
        "self.n.sum() == 6 && self.e.sum() == 0 && [1.5, 2.5].sum() == 4.0",
        "self.n.min() == 1 && self.n.max() == 3 && ['b', 'a'].min() == 'a'",
        "self.n.indexOf(1) == 1 && [1, 2, 1].lastIndexOf(1) == 2 && self.n.indexOf(9) == -1",
        "sets.contains(self.n, [1, 2]) && sets.equivalent([1, 2], [2, 1, 2]) && !sets.intersects([1], [2])",
        // regex
        "'abc123def'.find('[0-9]+') == '123' && 'a1b22c333'.findAll('[0-9]+') == ['1', '22', '333']",
        "'a1b22c333'.findAll('[0-9]+', 2) == ['1', '22'] && 'abc'.find('x') == ''",
        // quantity
        "isQuantity('500m') && !isQuantity('5x') && quantity('1') == quantity('1000m')",
        "quantity('1Gi').isGreaterThan(quantity('1G')) && quantity('100Mi').isLessThan(quantity('1Gi'))",
        "quantity('1.5').compareTo(quantity('1500m')) == 0 && quantity('-2').sign() == -1",
        "quantity('2k').isInteger() && quantity('2k').asInteger() == 2000 && !quantity('1.5').isInteger()",
        "quantity('1.5').asApproximateFloat() == 1.5 && quantity('1').add(quantity('500m')) == quantity('1.5')",
        "quantity('1').sub(1) == quantity('0') && quantity('1e3') == quantity('1k')",
        // IP, CIDR
        "isIP('10.0.0.1') && isIP('::1') && !isIP('10.0.0.256') && !isIP('::ffff:1.2.3.4')",
        "ip('10.0.0.1').family() == 4 && ip('::1').isLoopback() && ip('0.0.0.0').isUnspecified()",
        "ip('fe80::1').isLinkLocalUnicast() && ip('224.0.0.1').isLinkLocalMulticast() && ip('8.8.8.8').isGlobalUnicast()",
        "ip.isCanonical('10.0.0.1') && !ip.isCanonical('2001:DB8::1') && string(ip('10.0.0.1')) == '10.0.0.1'",
        "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && cidr('10.0.0.0/8').containsIP('10.1.2.3')",
        "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.0.0.0/16').containsCIDR(cidr('10.0.0.0/8'))",
        "cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8') && cidr('10.0.0.0/8').prefixLength() == 8",
        "cidr('10.1.2.3/8').ip() == ip('10.1.2.3') && string(cidr('10.0.0.0/8')) == '10.0.0.0/8'",
        // URL
        "isURL('https://example.com:8443/a/b?x=1&x=2') && !isURL('not a url') && isURL('/relative/path')",
        "url('https://example.com:8443/a?x=1').getScheme() == 'https' && url('https://example.com:8443/a').getHost() == 'example.com:8443'",
        "url('https://[::1]:80/').getHostname() == '::1' && url('https://example.com:8443/').getPort() == '8443'",
        "url('https://example.com/a/b').getEscapedPath() == '/a/b' && url('https://e.com/?x=1&x=2&y=3').getQuery() == {'x': ['1', '2'], 'y': ['3']}",
    ];
    for rule in passing {
        assert_eq!(run(rule), Ok(true), "{rule}");
    }
    let failing = ["self.n.isSorted()", "quantity('1').isGreaterThan(quantity('2'))", "self.s == 'x'"];
    for rule in failing {
        assert_eq!(run(rule), Ok(false), "{rule}");
    }
}

#[test]
fn function_errors() {
    for (rule, want) in [
        ("self.e.min() == 0", "min called on empty list evaluating rule"),
        ("quantity('bogus').sign() == 0", "quantities must match the regular expression"),
        ("quantity('1.5').asInteger() == 1", "cannot convert value to integer"),
        ("ip('x').family() == 4", "parse error"),
        ("[9223372036854775807, 1].sum() == 0", "integer overflow"),
    ] {
        let err = run(rule).expect_err(rule);
        assert!(err.contains(want), "{rule}: {err}");
    }
    // Unknown functions are skipped, not failures.
    assert_eq!(run("format.dns1123Label().validate(self.s).hasValue()"), Ok(true));
    assert_eq!(run("semver('1.0.0').major() == 1"), Ok(true));
}
