//! Bad input (wrong prefix, unknown types, wrong wire types, truncation,
//! random bytes, deep nesting), Go durations and the generated table's freshness.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::runtime::RawExtension;

use super::tests::{body, deployment, envelope};
use super::*;

#[test]
fn content_type_detection() {
    assert!(is_protobuf("application/vnd.kubernetes.protobuf"));
    assert!(is_protobuf("Application/Vnd.Kubernetes.Protobuf; charset=utf-8"));
    assert!(!is_protobuf("application/json"));
    assert!(!is_protobuf(""));
}

#[test]
fn rejects_bad_bodies() {
    assert_eq!(decode(b"{\"kind\":\"Pod\"}"), Err(ProtobufError::Magic));
    assert_eq!(decode(b""), Err(ProtobufError::Magic));
    assert!(matches!(decode(&envelope("v1", "Nope", vec![])), Err(ProtobufError::UnknownType { .. })));
    // metadata (field 1) as a varint: wrong wire type.
    assert!(decode(&envelope("v1", "Secret", vec![0x08, 0x01])).is_err());
    let mut gz = body("v1", "Secret", &core::Secret::default());
    gz.extend([0x1a, 0x04, b'g', b'z', b'i', b'p']);
    assert!(matches!(decode(&gz), Err(ProtobufError::Unsupported(_))));
    // Invalid embedded JSON.
    let rev = apps::ControllerRevision { data: Some(RawExtension { raw: Some(b"{".to_vec()) }), ..Default::default() };
    assert!(decode(&body("apps/v1", "ControllerRevision", &rev)).is_err());
}

#[test]
fn truncated_and_garbage_input_never_panics() {
    let full = body("apps/v1", "Deployment", &deployment());
    for n in 0..full.len() {
        let _ = decode(&full[..n]);
    }
    assert!(decode(&full[..full.len() - 1]).is_err());
    // Deterministic byte flips and random tails.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = full.clone();
        let i = 4 + (x as usize) % (b.len() - 4);
        b[i] ^= (x >> 32) as u8 | 1;
        let _ = decode(&b);
        let tail: Vec<u8> = (0..(x % 64)).map(|k| (x >> (k % 56)) as u8).collect();
        let _ = decode(&[MAGIC, &tail].concat());
    }
    // Deep nesting is refused, not overflowed.
    let mut nested = Vec::new();
    for _ in 0..10_000 {
        let mut outer = vec![0x0a];
        let mut len = nested.len();
        while len >= 0x80 {
            outer.push((len as u8) | 0x80);
            len >>= 7;
        }
        outer.push(len as u8);
        outer.extend(&nested);
        nested = outer;
        if nested.len() > 200_000 {
            break;
        }
    }
    let _ = decode(&envelope("apiextensions.k8s.io/v1", "CustomResourceDefinition", nested));
}

#[test]
fn go_durations() {
    use super::decode::go_duration;
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(1), "1ns");
    assert_eq!(go_duration(1_500), "1.5µs");
    assert_eq!(go_duration(1_500_000), "1.5ms");
    assert_eq!(go_duration(1_000_000_000), "1s");
    assert_eq!(go_duration(90 * 1_000_000_000), "1m30s");
    assert_eq!(go_duration(3_600 * 1_000_000_000), "1h0m0s");
    assert_eq!(go_duration(-(3_723_500_000_000)), "-1h2m3.5s");
    assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
}

/// The committed table matches what the generator makes from k8s-pb's source
/// (skipped when python3 or the source is not on this machine).
#[test]
fn generated_table_is_up_to_date() {
    assert_eq!(schema_gen::K8S_PB_VERSION, "0.9.0");
    crate::testing::assert_k8s_pb_generator_fresh("gen-protobuf-schema.py", schema_gen::K8S_PB_VERSION);
}
