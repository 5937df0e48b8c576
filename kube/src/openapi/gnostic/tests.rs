use super::*;
use serde_json::json;

/// A small document using every shape the served one does, and a `$ref` parameter.
const FIXTURE_JSON: &str = include_str!("fixture.json");
/// `fixture.txtpb` encoded by protoc from gnostic's OpenAPIv2.proto (see its header).
const FIXTURE_BYTES: &[u8] = include_bytes!("fixture.bin");

#[test]
fn fixture_encodes_as_protoc_encodes_it() {
    let document: Value = serde_json::from_str(FIXTURE_JSON).unwrap();
    let bytes = encode_document(&document).unwrap();
    assert_eq!(bytes.len(), FIXTURE_BYTES.len());
    assert!(bytes == FIXTURE_BYTES, "the encoding differs from protoc's");
}

/// A protobuf field as read back: a varint, eight fixed bytes, or length-delimited bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

/// A message's fields in order, read with nothing but the wire format.
pub(crate) fn decode(mut bytes: &[u8]) -> Vec<(u32, Wire<'_>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().expect("a complete varint");
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
        }
        panic!("a varint longer than ten bytes");
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let number = u32::try_from(key >> 3).unwrap();
        let field = match (key & 7) as u8 {
            VARINT => Wire::Varint(varint(&mut bytes)),
            FIXED64 => {
                let (fixed, rest) = bytes.split_at(8);
                bytes = rest;
                Wire::Fixed64(u64::from_le_bytes(fixed.try_into().unwrap()))
            }
            LEN => {
                let len = usize::try_from(varint(&mut bytes)).unwrap();
                let (inner, rest) = bytes.split_at(len);
                bytes = rest;
                Wire::Bytes(inner)
            }
            wire => panic!("wire type {wire} is never written"),
        };
        fields.push((number, field));
    }
    fields
}

/// Every length-delimited field `number` of a message.
pub(crate) fn all(bytes: &[u8], number: u32) -> Vec<&[u8]> {
    decode(bytes)
        .into_iter()
        .filter_map(|(n, field)| match field {
            Wire::Bytes(inner) if n == number => Some(inner),
            _ => None,
        })
        .collect()
}

/// The one length-delimited field `number` of a message.
pub(crate) fn one(bytes: &[u8], number: u32) -> &[u8] {
    let found = all(bytes, number);
    assert_eq!(found.len(), 1, "field {number}");
    found[0]
}

pub(crate) fn text(bytes: &[u8], number: u32) -> String {
    String::from_utf8(one(bytes, number).to_vec()).unwrap()
}

/// The `Named*` pairs of a repeated field, by name.
pub(crate) fn named(bytes: &[u8], number: u32) -> Vec<(String, &[u8])> {
    all(bytes, number)
        .into_iter()
        .map(|pair| (text(pair, 1), one(pair, 2)))
        .collect()
}

/// A message's vendor extensions (field `number`), their `Any.yaml` read as JSON.
pub(crate) fn extensions(bytes: &[u8], number: u32) -> Map<String, Value> {
    named(bytes, number)
        .into_iter()
        .map(|(name, any)| (name, serde_json::from_str(&text(any, 2)).unwrap()))
        .collect()
}

#[test]
fn decoded_fixture_has_what_kubectl_reads() {
    let document: Value = serde_json::from_str(FIXTURE_JSON).unwrap();
    let bytes = encode_document(&document).unwrap();
    assert_eq!(text(&bytes, 1), "2.0");
    let definitions = named(one(&bytes, 9), 1);
    let names: Vec<&str> = definitions.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "io.k8s.api.core.v1.ConfigMap",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        ]
    );
    let config_map = definitions[0].1;
    assert_eq!(
        extensions(config_map, 31)["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "ConfigMap", "version": "v1"}])
    );
    assert_eq!(text(one(config_map, 22), 1), "object");
    let properties = named(one(config_map, 25), 1);
    let metadata = properties
        .iter()
        .find(|(name, _)| name == "metadata")
        .unwrap()
        .1;
    assert_eq!(
        text(metadata, 1),
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    // additionalProperties: false is a oneof member, written although it is zero.
    let object_meta = definitions[1].1;
    assert_eq!(decode(one(object_meta, 21)), [(2, Wire::Varint(0))]);
    let generation = named(one(object_meta, 25), 1)[1].1;
    assert!(decode(generation).contains(&(7, Wire::Fixed64(1e9_f64.to_bits()))));
    assert!(
        !decode(generation).iter().any(|(n, _)| *n == 9),
        "minimum 0 is proto3's default"
    );
}

#[test]
fn unknown_keys_and_wrong_types_are_refused() {
    let unknown = json!({"swagger": "2.0", "definitions": {"a": {"type": "string", "oneOf": []}}});
    assert_eq!(
        encode_document(&unknown),
        Err(EncodeError::UnknownKey {
            message: "schema",
            key: "oneOf".into()
        })
    );
    let mistyped = json!({"swagger": "2.0", "definitions": {"a": {"required": "name"}}});
    assert_eq!(
        encode_document(&mistyped),
        Err(EncodeError::Mistyped {
            message: "schema",
            key: "required".into()
        })
    );
    let not_an_object = json!({"swagger": "2.0", "info": "Kubernetes"});
    assert_eq!(
        encode_document(&not_an_object),
        Err(EncodeError::Mistyped {
            message: "document",
            key: "info".into()
        })
    );
    let location = json!({"paths": {"/a": {"parameters": [{"name": "n", "in": "cookie"}]}}});
    assert!(matches!(
        encode_document(&location),
        Err(EncodeError::Mistyped { key, .. }) if key == "in"
    ));
    let path = json!({"paths": {"a": {}}});
    assert!(matches!(
        encode_document(&path),
        Err(EncodeError::UnknownKey { .. })
    ));
}

#[test]
fn layouts_are_in_field_number_order_with_one_entry_per_key() {
    let messages = [
        Message::Document,
        Message::Info,
        Message::PathItem,
        Message::Operation,
        Message::BodyParameter,
        Message::QueryParameter,
        Message::PathParameter,
        Message::PrimitivesItems,
        Message::Response,
        Message::Schema,
        Message::JsonReference,
    ];
    for message in messages {
        let layout = layout(message);
        assert!(
            layout.windows(2).all(|pair| pair[0].1 < pair[1].1),
            "{message:?}"
        );
        let mut keys: Vec<&str> = layout.iter().map(|&(key, _, _)| key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), layout.len(), "{message:?}");
    }
}

#[test]
fn nesting_is_bounded() {
    let mut schema = json!({"type": "string"});
    for _ in 0..DEPTH_MAX {
        schema = json!({"type": "object", "properties": {"inner": schema}});
    }
    let document = json!({"definitions": {"deep": schema}});
    assert_eq!(encode_document(&document), Err(EncodeError::TooDeep));
    let shallow = json!({"definitions": {"a": {"type": "object", "properties": {"b": {}}}}});
    assert!(encode_document(&shallow).is_ok());
}

#[test]
fn varints_and_numbers_use_the_wire_format() {
    let mut writer = Writer::default();
    writer.varint(0);
    writer.varint(127);
    writer.varint(300);
    writer.varint(u64::MAX);
    let mut expected = vec![0x00, 0x7f, 0xac, 0x02];
    expected.extend([0xff; 9]);
    expected.push(0x01);
    assert_eq!(writer.bytes, expected);
    let mut writer = Writer::default();
    writer.count(11, -1);
    writer.number(6, -0.0);
    writer.number(7, 0.0);
    writer.text(3, "");
    writer.flag(8, false);
    let mut expected = vec![
        11 << 3,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x01,
    ];
    expected.push(6 << 3 | 1);
    expected.extend((-0.0_f64).to_le_bytes());
    assert_eq!(writer.bytes, expected);
}

#[test]
fn served_document_decodes_to_its_json() {
    let documents = super::super::tests::documents();
    let document: Value = serde_json::from_slice(documents.v2()).unwrap();
    let bytes = documents.v2_protobuf().unwrap();
    assert!(
        bytes.len() < documents.v2().len(),
        "names and numbers are shorter"
    );
    // kubectl's NewOpenAPIData: every definition, each kind found by its extension.
    let gvk = "x-kubernetes-group-version-kind";
    let definitions = named(one(bytes, 9), 1);
    let expected = document["definitions"].as_object().unwrap();
    assert_eq!(definitions.len(), expected.len());
    for (name, schema) in &definitions {
        assert_eq!(
            extensions(schema, 31).get(gvk),
            expected[name].get(gvk),
            "{name}"
        );
    }
    let (_, deployment) = definitions
        .iter()
        .find(|(name, _)| name == "io.k8s.api.apps.v1.DeploymentSpec")
        .unwrap();
    let replicas = named(one(deployment, 25), 1)
        .into_iter()
        .find(|(name, _)| name == "replicas")
        .unwrap()
        .1;
    assert_eq!(text(one(replicas, 22), 1), "integer");
    // kubectl's v2 supportsQueryParam: the PATCH tagged with the kind lists fieldValidation.
    let paths = named(one(bytes, 8), 2);
    assert_eq!(paths.len(), document["paths"].as_object().unwrap().len());
    let (_, item) = paths
        .iter()
        .find(|(path, _)| path == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .unwrap();
    let patch = one(item, 8);
    assert_eq!(
        extensions(patch, 13)[gvk],
        json!({"group": "apps", "kind": "Deployment", "version": "v1"})
    );
    let queries: Vec<String> = all(patch, 8)
        .into_iter()
        .flat_map(|item| all(one(item, 1), 2))
        .flat_map(|non_body| all(non_body, 3))
        .map(|query| text(query, 4))
        .collect();
    assert!(
        queries.iter().any(|name| name == "fieldValidation"),
        "{queries:?}"
    );
}
