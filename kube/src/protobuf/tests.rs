use super::*;
use proptest::prelude::*;
use serde_json::json;

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

// A tiny protobuf writer for hand-made bodies.
fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn key(number: u32, wire: u8) -> Vec<u8> {
    varint(u64::from(number) << 3 | u64::from(wire))
}

/// A length-delimited field.
fn ld(number: u32, bytes: &[u8]) -> Vec<u8> {
    [key(number, LEN), varint(bytes.len() as u64), bytes.to_vec()].concat()
}

/// A varint field.
fn vi(number: u32, value: u64) -> Vec<u8> {
    [key(number, VARINT), varint(value)].concat()
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let type_meta = [ld(1, api_version.as_bytes()), ld(2, kind.as_bytes())].concat();
    [
        MAGIC.to_vec(),
        ld(1, &type_meta),
        ld(2, raw),
        ld(3, b""),
        ld(4, b""),
    ]
    .concat()
}

fn meta(name: &str) -> Vec<u8> {
    ld(1, &ld(1, name.as_bytes()))
}

fn decode(api_version: &str, kind: &str, raw: &[u8]) -> std::result::Result<Value, ProtobufError> {
    decode_object(&envelope(api_version, kind, raw))
}

#[test]
fn kubectl_fixtures_decode_to_kubectls_json() {
    for (command, hex, expected) in KUBECTL_FIXTURES {
        let expected: Value = serde_json::from_str(expected).unwrap();
        let got = decode_object(&unhex(&hex.replace(char::is_whitespace, "")))
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert_eq!(got, expected, "{command}");
    }
}

#[test]
fn truncated_fixtures_are_errors_not_panics() {
    for (command, hex, _) in KUBECTL_FIXTURES {
        let body = unhex(&hex.replace(char::is_whitespace, ""));
        // magic, typeMeta (1), raw (2), contentEncoding "" (3), contentType "" (4): a cut
        // anywhere before the end of raw is an error, except right after typeMeta (an
        // envelope without raw holds an empty object)
        assert_eq!(body[4], 0x0a, "{command}");
        let raw_key = 6 + usize::from(body[5]);
        assert_eq!(body[raw_key], 0x12, "{command}");
        let raw_end = body.len() - 4;
        for len in (0..raw_end).filter(|len| *len != raw_key) {
            assert!(
                decode_object(&body[..len]).is_err(),
                "{command} cut at {len}"
            );
        }
    }
}

#[test]
fn bit_flipped_fixtures_never_panic() {
    for (_, hex, _) in KUBECTL_FIXTURES {
        let body = unhex(&hex.replace(char::is_whitespace, ""));
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut flipped = body.clone();
                flipped[at] ^= 1 << bit;
                let _ = decode_object(&flipped);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_object(&bytes);
        let with_magic = [MAGIC.as_slice(), &bytes].concat();
        let _ = decode_object(&with_magic);
    }

    #[test]
    fn random_objects_of_every_kind_never_panic(
        kind in 0..KINDS.len(),
        raw in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (api_version, kind, _) = KINDS[kind];
        let _ = decode(api_version, kind, &raw);
    }

    #[test]
    fn spliced_fixtures_never_panic(
        fixture in 0..KUBECTL_FIXTURES.len(),
        at in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut body = unhex(&KUBECTL_FIXTURES[fixture].1.replace(char::is_whitespace, ""));
        let at = at.index(body.len() + 1);
        body.splice(at..at, junk);
        let _ = decode_object(&body);
    }
}

#[test]
fn envelope_errors() {
    let err = decode_object(b"{\"kind\":\"Namespace\"}").unwrap_err();
    assert!(err.to_string().contains("k8s\\x00"), "{err}");
    assert!(matches!(
        decode_object(b""),
        Err(ProtobufError::Malformed { .. })
    ));
    let unknown = decode("example.com/v1", "Widget", &meta("w")).unwrap_err();
    assert_eq!(
        unknown,
        ProtobufError::UnsupportedKind {
            api_version: "example.com/v1".into(),
            kind: "Widget".into()
        }
    );
    assert!(unknown.to_string().contains("Widget"));
    // a kind in the wrong group is unknown too
    assert!(matches!(
        decode("v1", "Deployment", b""),
        Err(ProtobufError::UnsupportedKind { .. })
    ));
    let no_kind = decode_object(&[MAGIC.to_vec(), ld(2, &meta("x"))].concat()).unwrap_err();
    assert!(
        no_kind.to_string().contains("no apiVersion and kind"),
        "{no_kind}"
    );
    let type_meta = [ld(1, b"v1"), ld(2, b"Namespace")].concat();
    let gzip = [
        MAGIC.to_vec(),
        ld(1, &type_meta),
        ld(2, b""),
        ld(3, b"gzip"),
    ]
    .concat();
    assert!(decode_object(&gzip)
        .unwrap_err()
        .to_string()
        .contains("gzip"));
    let json_raw = [
        MAGIC.to_vec(),
        ld(1, &type_meta),
        ld(2, b"{}"),
        ld(4, b"application/json"),
    ]
    .concat();
    assert!(decode_object(&json_raw)
        .unwrap_err()
        .to_string()
        .contains("application/json"));
    let mut huge = envelope("v1", "Namespace", b"");
    huge.resize(BODY_BYTES_MAX + 1, 0);
    assert!(matches!(
        decode_object(&huge),
        Err(ProtobufError::LimitExceeded { .. })
    ));
    // the envelope without the optional contentEncoding/contentType, as other clients send it
    let minimal = [MAGIC.to_vec(), ld(1, &type_meta), ld(2, &meta("x"))].concat();
    assert_eq!(decode_object(&minimal).unwrap()["metadata"]["name"], "x");
}

#[test]
fn wire_errors_name_the_field() {
    // Deployment.spec.replicas sent as a string
    let raw = [meta("d"), ld(2, &ld(1, b"3"))].concat();
    let err = decode("apps/v1", "Deployment", &raw).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed protobuf body at spec.replicas: wrong wire type 2 (expected 0)"
    );
    // a container port sent as a string, deep in a list
    let container = [ld(1, b"c"), ld(6, &ld(3, b"80"))].concat();
    let pod_spec = [ld(2, &ld(1, b"a")), ld(2, &container)].concat();
    let raw = [meta("d"), ld(2, &ld(3, &ld(2, &pod_spec)))].concat();
    let err = decode("apps/v1", "Deployment", &raw).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed protobuf body at spec.template.spec.containers[1].ports[0].containerPort: \
             wrong wire type 2 (expected 0)"
    );
    // a length past the end
    let err = decode_object(&[MAGIC.as_slice(), &[0x12, 0x05, 0x0a]].concat()).unwrap_err();
    assert!(
        err.to_string()
            .contains("at raw: length 5 runs past the end"),
        "{err}"
    );
    // an over-long varint, a group, field number 0
    let long = [key(99, VARINT), vec![0xff; 10], vec![0x01]].concat();
    let err = decode("v1", "Namespace", &long).unwrap_err();
    assert!(
        err.to_string().contains("varint longer than 10 bytes"),
        "{err}"
    );
    let group = [key(99, 3), key(99, 4)].concat();
    assert!(decode("v1", "Namespace", &group)
        .unwrap_err()
        .to_string()
        .contains("groups"));
    assert!(decode("v1", "Namespace", &[0x02, 0x00])
        .unwrap_err()
        .to_string()
        .contains("field number 0"));
}

#[test]
fn unknown_fields_are_skipped() {
    let raw = [
        meta("x"),
        vi(99, 7),
        [key(100, FIXED64), vec![0; 8]].concat(),
        [key(101, FIXED32), vec![0; 4]].concat(),
        ld(102, b"whatever"),
    ]
    .concat();
    assert_eq!(
        decode("v1", "Namespace", &raw).unwrap(),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "creationTimestamp": null}, "spec": {}, "status": {}})
    );
}

#[test]
fn go_zero_values_and_pointers() {
    // replicas is a pointer: 0 stays; minReadySeconds is not: 0 under omitempty goes
    let spec = [vi(1, 0), vi(5, 0), ld(2, b"")].concat();
    let got = decode("apps/v1", "Deployment", &[meta("d"), ld(2, &spec)].concat()).unwrap();
    assert_eq!(
        got["spec"],
        json!({
            "replicas": 0,
            "selector": {},
            "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": null}},
            "strategy": {}
        })
    );
    // Container.name has no omitempty: an unset one is ""; PolicyRule.verbs has none: null
    let got = decode(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &[meta("r"), ld(2, b"")].concat(),
    )
    .unwrap();
    assert_eq!(got["rules"], json!([{"verbs": null}]));
    // a present []byte map value that is empty is "", not null
    let got = decode(
        "v1",
        "Secret",
        &[
            meta("s"),
            ld(2, &ld(1, b"k")),
            ld(2, &[ld(1, b"e"), ld(2, b"")].concat()),
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(got["data"], json!({"k": "", "e": ""}));
}

#[test]
fn repeated_occurrences_merge_and_last_scalar_wins() {
    // two occurrences of metadata merge; name is overwritten, labels accumulate
    let raw = [
        ld(
            1,
            &[
                ld(1, b"first"),
                ld(11, &[ld(1, b"a"), ld(2, b"1")].concat()),
            ]
            .concat(),
        ),
        ld(
            1,
            &[
                ld(1, b"second"),
                ld(11, &[ld(1, b"b"), ld(2, b"2")].concat()),
            ]
            .concat(),
        ),
    ]
    .concat();
    let got = decode("v1", "ConfigMap", &raw).unwrap();
    assert_eq!(
        got["metadata"],
        json!({"name": "second", "labels": {"a": "1", "b": "2"}, "creationTimestamp": null})
    );
}

#[test]
fn packed_and_unpacked_repeated_scalars() {
    // PodSpec.securityContext (14) → PodSecurityContext.supplementalGroups (repeated int64 = 4)
    let sc = [
        vi(4, 1),
        ld(4, &[varint(2), varint(300)].concat()),
        vi(4, u64::MAX),
    ]
    .concat();
    let raw = [meta("p"), ld(2, &ld(14, &sc))].concat();
    let got = decode("v1", "Pod", &raw).unwrap();
    assert_eq!(
        got["spec"]["securityContext"]["supplementalGroups"],
        json!([1, 2, 300, -1])
    );
}

#[test]
fn special_types() {
    // Time drops nanos; MicroTime keeps microseconds; the zero Time is null
    let lease_spec = [
        ld(3, &[vi(1, 1_704_067_200), vi(2, 123_456_789)].concat()),
        ld(4, b""),
    ]
    .concat();
    let object_meta = [
        ld(1, b"l"),
        ld(8, &[vi(1, 1_704_067_200), vi(2, 999_999_999)].concat()),
        ld(9, &vi(1, (-62_135_596_800i64) as u64)),
    ]
    .concat();
    let got = decode(
        "coordination.k8s.io/v1",
        "Lease",
        &[ld(1, &object_meta), ld(2, &lease_spec)].concat(),
    )
    .unwrap();
    assert_eq!(got["metadata"]["creationTimestamp"], "2024-01-01T00:00:00Z");
    assert_eq!(got["metadata"]["deletionTimestamp"], Value::Null);
    assert_eq!(got["spec"]["acquireTime"], "2024-01-01T00:00:00.123456Z");
    assert_eq!(got["spec"]["renewTime"], Value::Null);
    // negative seconds and leap years
    assert_eq!(
        time(Some(&vi(1, (-1i64) as u64)), false).unwrap(),
        "1969-12-31T23:59:59Z"
    );
    assert_eq!(
        time(Some(&vi(1, 951_782_400)), false).unwrap(),
        "2000-02-29T00:00:00Z"
    );
    assert_eq!(
        time(Some(&vi(1, 253_402_300_799)), false).unwrap(),
        "9999-12-31T23:59:59Z"
    );
    assert_eq!(
        time(Some(&[vi(1, 0), vi(2, (-1i64) as u64)].concat()), true).unwrap(),
        "1969-12-31T23:59:59.999999Z"
    );
    assert!(time(Some(&vi(1, 253_402_300_800)), false).is_err());
    assert!(time(Some(&vi(1, i64::MIN as u64)), false).is_err());
    // IntOrString: type 0 int, 1 string, anything else an error
    assert_eq!(
        int_or_string(&[&[vi(1, 0), vi(2, 8080)].concat()]).unwrap(),
        json!(8080)
    );
    assert_eq!(
        int_or_string(&[&[vi(1, 1), ld(3, b"http")].concat()]).unwrap(),
        json!("http")
    );
    assert_eq!(int_or_string(&[]).unwrap(), json!(0));
    assert!(int_or_string(&[&vi(1, 2)]).is_err());
    // Quantity: checked against ParseQuantity's grammar, "0" when unset
    for good in [
        "1", "0", "100m", "1.5Gi", "+1", "-.5", "1e3", "1E-3", "2k", "0.1", "5.",
    ] {
        assert_eq!(quantity(Some(&ld(1, good.as_bytes()))).unwrap(), good);
    }
    for bad in ["", "1 ", "abc", "1KB", "1e", "1Mi5", "--1", "1K"] {
        assert!(quantity(Some(&ld(1, bad.as_bytes()))).is_err(), "{bad:?}");
    }
    assert_eq!(quantity(None).unwrap(), "0");
    // RawExtension: embedded JSON, null when unset, an error when not JSON
    assert_eq!(
        raw_json(&[&ld(1, br#"{"a":[1,2]}"#)]).unwrap(),
        json!({"a": [1, 2]})
    );
    assert_eq!(raw_json(&[]).unwrap(), Value::Null);
    assert!(raw_json(&[&ld(1, b"")]).is_err());
    assert!(raw_json(&[&ld(1, b"k8s\0...")]).is_err());
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(raw_json(&[&ld(1, nested.as_bytes())]).is_err());
}

#[test]
fn limits() {
    // more than ITEMS_MAX entries in one map
    let mut data = Vec::new();
    for i in 0..=ITEMS_MAX {
        data.extend(ld(2, &ld(1, format!("k{i}").as_bytes())));
    }
    let err = decode("v1", "ConfigMap", &[meta("c"), data].concat()).unwrap_err();
    assert!(
        matches!(&err, ProtobufError::LimitExceeded { path, .. } if path == "data"),
        "{err}"
    );
    // more than ITEMS_MAX items in one list
    let containers = ld(2, b"").repeat(ITEMS_MAX + 1);
    let err = decode("v1", "Pod", &[meta("p"), ld(2, &containers)].concat()).unwrap_err();
    assert!(
        matches!(&err, ProtobufError::LimitExceeded { path, .. } if path == "spec.containers"),
        "{err}"
    );
    // empty elements that decode into many values: the value budget
    let many = [ld(2, b""), ld(20, b""), ld(34, b"")]
        .concat()
        .repeat(ITEMS_MAX);
    let err = decode("v1", "Pod", &[meta("p"), ld(2, &many)].concat()).unwrap_err();
    assert!(err.to_string().contains("values"), "{err}");
    // the table's nesting stays well under DEPTH_MAX
    fn depth(index: u16) -> usize {
        1 + MESSAGES[usize::from(index)]
            .fields
            .iter()
            .filter_map(|field| match field.ty {
                Ty::Msg(inner) => Some(depth(inner)),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
    let deepest = KINDS
        .iter()
        .map(|&(_, _, index)| depth(index))
        .max()
        .unwrap();
    assert!(deepest < DEPTH_MAX, "{deepest}");
}

#[test]
fn table_is_sorted_and_consistent() {
    for message in MESSAGES.iter() {
        assert!(
            message
                .fields
                .windows(2)
                .all(|pair| pair[0].number < pair[1].number),
            "{}: fields must be sorted by number for the binary search",
            message.name
        );
        for field in message.fields {
            if field.flags & INLINE != 0 {
                assert!(
                    matches!(field.ty, Ty::Msg(_)) && field.flags & SHAPE == ONE,
                    "{}",
                    message.name
                );
            }
        }
    }
    let kinds: Vec<_> = supported_kinds().collect();
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Job",
        "CronJob",
    ] {
        assert!(kinds.iter().any(|(_, k)| *k == kind), "{kind}");
    }
}

#[test]
fn content_type_matching() {
    assert!(is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf"
    ));
    assert!(is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf; charset=utf-8"
    ));
    assert!(is_protobuf_content_type(
        " Application/VND.kubernetes.protobuf ;x=y"
    ));
    assert!(!is_protobuf_content_type("application/json"));
    assert!(!is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf2"
    ));
}

// The captured kubectl bodies: generated by scripts/protobuf/gen_fixtures.py.
include!("fixtures.rs");

#[test]
fn a_subject_access_reviews_extra_values_are_lists_of_strings() {
    // spec {user = 3, extra = 5 (map entry {key = 1, value = 2 ExtraValue {items = 1}})}
    let extra_value = [ld(1, b"a"), ld(1, b"b")].concat();
    let entry = [ld(1, b"scopes"), ld(2, &extra_value)].concat();
    let empty_entry = [ld(1, b"none"), ld(2, b"")].concat();
    let spec = [ld(3, b"alice"), ld(5, &entry), ld(5, &empty_entry)].concat();
    let raw = [meta("r"), ld(2, &spec)].concat();
    let review = decode("authorization.k8s.io/v1", "SubjectAccessReview", &raw).unwrap();
    assert_eq!(
        review["spec"],
        json!({"user": "alice", "extra": {"scopes": ["a", "b"], "none": null}})
    );
}
