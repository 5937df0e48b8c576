//! The protobuf form of a swagger 2.0 document: gnostic's `openapi.v2.Document`
//! (github.com/google/gnostic-models, `openapiv2/OpenAPIv2.proto`), which kube-apiserver
//! serves at `/openapi/v2` to `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`.
//! client-go's `OpenAPISchema()` asks for nothing else, and kubectl needs that document
//! for its client-side validation (which it runs for a `kind: List`: no PATCH operation
//! tells it the server validates Lists, so it checks each item against its kind's
//! schema) and for `explain --output=plaintext-openapiv2`.
//!
//! The bytes are what kube-openapi's `ToProtoBinary` makes: gnostic's `ParseDocument`,
//! then `proto.Marshal`. Each swagger object becomes its message, fields in field-number
//! order, proto3 zero values left out, a JSON object of named things (`definitions`,
//! `properties`, `paths`, `responses`) a repeated `Named*` pair per key in the JSON's
//! order, and every `x-` key a `NamedAny` whose `Any.yaml` holds the value as text. That
//! text is the value's JSON here, which YAML parsers read as the same value; gnostic
//! writes block YAML, and its readers (kube-openapi's `VendorExtensionToMap`, kubectl's
//! `hasGVKExtension`) parse the text either way.
//!
//! Only the messages a Kubernetes document uses are encoded. Like gnostic, the encoder
//! refuses a key its message does not have rather than drop it silently; the document
//! is built from constants, so that is a bug the tests catch, not an operating error.

use std::fmt;

use serde_json::{Map, Value};

/// The deepest nesting of JSON objects encoded. Kubernetes' schemas nest their inline
/// properties a few levels deep; `$ref`s are not followed.
const DEPTH_MAX: u32 = 64;
/// The largest encoding produced. The served document encodes to well under 4 MB.
const DOCUMENT_BYTES_MAX: usize = 64 << 20;
/// The prefix of vendor extension keys.
const EXTENSION_PREFIX: &str = "x-";

// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

/// Why a document could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A key the named message has no field for (gnostic: "has invalid property").
    UnknownKey { message: &'static str, key: String },
    /// A value of the wrong JSON type for its field.
    Mistyped { message: &'static str, key: String },
    /// Objects nested deeper than `DEPTH_MAX`.
    TooDeep,
    /// An encoding longer than `DOCUMENT_BYTES_MAX`.
    TooLarge { bytes: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::UnknownKey { message, key } => {
                write!(f, "the swagger {message} has no property {key:?}")
            }
            EncodeError::Mistyped { message, key } if key.is_empty() => {
                write!(f, "a swagger {message} is not a JSON object")
            }
            EncodeError::Mistyped { message, key } => {
                write!(f, "the swagger {message} has {key:?} of the wrong type")
            }
            EncodeError::TooDeep => write!(f, "the document nests deeper than {DEPTH_MAX}"),
            EncodeError::TooLarge { bytes } => write!(
                f,
                "the document encodes to {bytes} bytes, more than {DOCUMENT_BYTES_MAX}"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

type Result<T> = std::result::Result<T, EncodeError>;

/// Encodes a swagger 2.0 document as gnostic's `openapi.v2.Document`.
pub fn encode_document(document: &Value) -> Result<Vec<u8>> {
    let bytes = encode_message(document, Message::Document, 0)?;
    if bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(EncodeError::TooLarge { bytes: bytes.len() });
    }
    Ok(bytes)
}

/// The messages encoded, each for one kind of swagger object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Message {
    Document,
    Info,
    /// Paths: `/...` keys are `NamedPathItem`s.
    Paths,
    PathItem,
    Operation,
    /// A parameter or a `$ref` to one.
    ParametersItem,
    BodyParameter,
    /// `query` and `formData` parameters share a layout.
    QueryParameter,
    /// `path` and `header` parameters share a layout.
    PathParameter,
    PrimitivesItems,
    /// Responses: status-code keys are `NamedResponseValue`s.
    Responses,
    Response,
    Schema,
    JsonReference,
}

/// How a field's JSON value becomes protobuf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `string`: left out when empty.
    Text,
    /// `bool`: left out when false.
    Flag,
    /// `double`: left out when zero.
    Number,
    /// `int64`: left out when zero.
    Count,
    /// `repeated string`.
    Texts,
    /// `Any`, the value as YAML text.
    Any,
    /// `repeated Any`, from a JSON array.
    Anys,
    /// One message, from a JSON object.
    Nested(Message),
    /// `repeated` messages, from a JSON array of objects.
    Each(Message),
    /// A wrapper message (`Definitions`, `Properties`) of `repeated Named*{name = 1,
    /// value = 2}` in field 1, from a JSON object.
    Named(Message),
    /// `TypeItem{repeated string value = 1}`, from a string or an array of them.
    Types,
    /// `ItemsItem{repeated Schema schema = 1}`, from a schema or an array of them.
    Items,
    /// `AdditionalPropertiesItem{oneof: Schema schema = 1, bool boolean = 2}`.
    AdditionalProperties,
    /// `SchemaItem{oneof: Schema schema = 1, FileSchema file_schema = 2}`.
    SchemaItem,
    /// `repeated NamedAny vendor_extension`: every `x-` key of the object.
    Extensions,
}

/// A message's fields: JSON key, field number and kind, in field-number order. The
/// `Extensions` entry's key is never looked up.
type Layout = &'static [(&'static str, u32, Kind)];

fn layout(message: Message) -> Layout {
    match message {
        Message::Document => DOCUMENT,
        Message::Info => INFO,
        Message::PathItem => PATH_ITEM,
        Message::Operation => OPERATION,
        Message::BodyParameter => BODY_PARAMETER,
        Message::QueryParameter => QUERY_PARAMETER,
        Message::PathParameter => PATH_PARAMETER,
        Message::PrimitivesItems => PRIMITIVES_ITEMS,
        Message::Response => RESPONSE,
        Message::Schema => SCHEMA,
        Message::JsonReference => &[("$ref", 1, Kind::Text), ("description", 2, Kind::Text)],
        // Their keys are names, not fields: see `encode_object`.
        Message::Paths | Message::Responses | Message::ParametersItem => &[],
    }
}

// The layouts, one per gnostic message; the numbers are OpenAPIv2.proto's.

/// `Document`.
const DOCUMENT: Layout = &[
    ("swagger", 1, Kind::Text),
    ("info", 2, Kind::Nested(Message::Info)),
    ("host", 3, Kind::Text),
    ("basePath", 4, Kind::Text),
    ("schemes", 5, Kind::Texts),
    ("consumes", 6, Kind::Texts),
    ("produces", 7, Kind::Texts),
    ("paths", 8, Kind::Nested(Message::Paths)),
    ("definitions", 9, Kind::Named(Message::Schema)),
    ("", 16, Kind::Extensions),
];

/// `Info`.
const INFO: Layout = &[
    ("title", 1, Kind::Text),
    ("version", 2, Kind::Text),
    ("description", 3, Kind::Text),
    ("termsOfService", 4, Kind::Text),
    ("", 7, Kind::Extensions),
];

/// `PathItem`.
const PATH_ITEM: Layout = &[
    ("$ref", 1, Kind::Text),
    ("get", 2, Kind::Nested(Message::Operation)),
    ("put", 3, Kind::Nested(Message::Operation)),
    ("post", 4, Kind::Nested(Message::Operation)),
    ("delete", 5, Kind::Nested(Message::Operation)),
    ("options", 6, Kind::Nested(Message::Operation)),
    ("head", 7, Kind::Nested(Message::Operation)),
    ("patch", 8, Kind::Nested(Message::Operation)),
    ("parameters", 9, Kind::Each(Message::ParametersItem)),
    ("", 10, Kind::Extensions),
];

/// `Operation`.
const OPERATION: Layout = &[
    ("tags", 1, Kind::Texts),
    ("summary", 2, Kind::Text),
    ("description", 3, Kind::Text),
    ("operationId", 5, Kind::Text),
    ("produces", 6, Kind::Texts),
    ("consumes", 7, Kind::Texts),
    ("parameters", 8, Kind::Each(Message::ParametersItem)),
    ("responses", 9, Kind::Nested(Message::Responses)),
    ("schemes", 10, Kind::Texts),
    ("deprecated", 11, Kind::Flag),
    ("", 13, Kind::Extensions),
];

/// `BodyParameter`.
const BODY_PARAMETER: Layout = &[
    ("description", 1, Kind::Text),
    ("name", 2, Kind::Text),
    ("in", 3, Kind::Text),
    ("required", 4, Kind::Flag),
    ("schema", 5, Kind::Nested(Message::Schema)),
    ("", 6, Kind::Extensions),
];

/// `Response`.
const RESPONSE: Layout = &[
    ("description", 1, Kind::Text),
    ("schema", 2, Kind::SchemaItem),
    ("", 5, Kind::Extensions),
];

/// `QueryParameterSubSchema`, and `FormDataParameterSubSchema`, whose fields are the same.
const QUERY_PARAMETER: Layout = &[
    ("required", 1, Kind::Flag),
    ("in", 2, Kind::Text),
    ("description", 3, Kind::Text),
    ("name", 4, Kind::Text),
    ("allowEmptyValue", 5, Kind::Flag),
    ("type", 6, Kind::Text),
    ("format", 7, Kind::Text),
    ("items", 8, Kind::Nested(Message::PrimitivesItems)),
    ("collectionFormat", 9, Kind::Text),
    ("default", 10, Kind::Any),
    ("maximum", 11, Kind::Number),
    ("exclusiveMaximum", 12, Kind::Flag),
    ("minimum", 13, Kind::Number),
    ("exclusiveMinimum", 14, Kind::Flag),
    ("maxLength", 15, Kind::Count),
    ("minLength", 16, Kind::Count),
    ("pattern", 17, Kind::Text),
    ("maxItems", 18, Kind::Count),
    ("minItems", 19, Kind::Count),
    ("uniqueItems", 20, Kind::Flag),
    ("enum", 21, Kind::Anys),
    ("multipleOf", 22, Kind::Number),
    ("", 23, Kind::Extensions),
];

/// `PathParameterSubSchema`, and `HeaderParameterSubSchema`, whose fields are the same.
const PATH_PARAMETER: Layout = &[
    ("required", 1, Kind::Flag),
    ("in", 2, Kind::Text),
    ("description", 3, Kind::Text),
    ("name", 4, Kind::Text),
    ("type", 5, Kind::Text),
    ("format", 6, Kind::Text),
    ("items", 7, Kind::Nested(Message::PrimitivesItems)),
    ("collectionFormat", 8, Kind::Text),
    ("default", 9, Kind::Any),
    ("maximum", 10, Kind::Number),
    ("exclusiveMaximum", 11, Kind::Flag),
    ("minimum", 12, Kind::Number),
    ("exclusiveMinimum", 13, Kind::Flag),
    ("maxLength", 14, Kind::Count),
    ("minLength", 15, Kind::Count),
    ("pattern", 16, Kind::Text),
    ("maxItems", 17, Kind::Count),
    ("minItems", 18, Kind::Count),
    ("uniqueItems", 19, Kind::Flag),
    ("enum", 20, Kind::Anys),
    ("multipleOf", 21, Kind::Number),
    ("", 22, Kind::Extensions),
];

/// `PrimitivesItems`: a non-body parameter's array items.
const PRIMITIVES_ITEMS: Layout = &[
    ("type", 1, Kind::Text),
    ("format", 2, Kind::Text),
    ("items", 3, Kind::Nested(Message::PrimitivesItems)),
    ("collectionFormat", 4, Kind::Text),
    ("default", 5, Kind::Any),
    ("maximum", 6, Kind::Number),
    ("exclusiveMaximum", 7, Kind::Flag),
    ("minimum", 8, Kind::Number),
    ("exclusiveMinimum", 9, Kind::Flag),
    ("maxLength", 10, Kind::Count),
    ("minLength", 11, Kind::Count),
    ("pattern", 12, Kind::Text),
    ("maxItems", 13, Kind::Count),
    ("minItems", 14, Kind::Count),
    ("uniqueItems", 15, Kind::Flag),
    ("enum", 16, Kind::Anys),
    ("multipleOf", 17, Kind::Number),
    ("", 18, Kind::Extensions),
];

/// `Schema`.
const SCHEMA: Layout = &[
    ("$ref", 1, Kind::Text),
    ("format", 2, Kind::Text),
    ("title", 3, Kind::Text),
    ("description", 4, Kind::Text),
    ("default", 5, Kind::Any),
    ("multipleOf", 6, Kind::Number),
    ("maximum", 7, Kind::Number),
    ("exclusiveMaximum", 8, Kind::Flag),
    ("minimum", 9, Kind::Number),
    ("exclusiveMinimum", 10, Kind::Flag),
    ("maxLength", 11, Kind::Count),
    ("minLength", 12, Kind::Count),
    ("pattern", 13, Kind::Text),
    ("maxItems", 14, Kind::Count),
    ("minItems", 15, Kind::Count),
    ("uniqueItems", 16, Kind::Flag),
    ("maxProperties", 17, Kind::Count),
    ("minProperties", 18, Kind::Count),
    ("required", 19, Kind::Texts),
    ("enum", 20, Kind::Anys),
    ("additionalProperties", 21, Kind::AdditionalProperties),
    ("type", 22, Kind::Types),
    ("items", 23, Kind::Items),
    ("allOf", 24, Kind::Each(Message::Schema)),
    ("properties", 25, Kind::Named(Message::Schema)),
    ("discriminator", 26, Kind::Text),
    ("readOnly", 27, Kind::Flag),
    ("example", 30, Kind::Any),
    ("", 31, Kind::Extensions),
];

/// One message's encoding, from its JSON object.
fn encode_message(value: &Value, message: Message, depth: u32) -> Result<Vec<u8>> {
    match value.as_object() {
        Some(fields) => encode_object(fields, message, depth),
        None => Err(EncodeError::Mistyped {
            message: message_name(message),
            key: String::new(),
        }),
    }
}

/// One message's encoding; `depth` counts the messages around it.
fn encode_object(fields: &Map<String, Value>, message: Message, depth: u32) -> Result<Vec<u8>> {
    if depth >= DEPTH_MAX {
        return Err(EncodeError::TooDeep);
    }
    let mut writer = Writer::default();
    match message {
        Message::Paths => paths(&mut writer, fields, depth)?,
        Message::Responses => responses(&mut writer, fields, depth)?,
        Message::ParametersItem => parameters_item(&mut writer, fields, depth)?,
        _ => fixed_fields(&mut writer, fields, message, depth)?,
    }
    Ok(writer.bytes)
}

/// A message whose keys are its fields.
fn fixed_fields(
    writer: &mut Writer,
    fields: &Map<String, Value>,
    message: Message,
    depth: u32,
) -> Result<()> {
    let layout = layout(message);
    let name = message_name(message);
    // Go writes fields in number order; so must the tables, for the same bytes.
    assert!(
        layout.windows(2).all(|pair| pair[0].1 < pair[1].1),
        "the {name} layout is out of field-number order"
    );
    let extensions = layout.iter().any(|&(_, _, kind)| kind == Kind::Extensions);
    for key in fields.keys() {
        let known = if key.starts_with(EXTENSION_PREFIX) {
            extensions
        } else {
            layout
                .iter()
                .any(|&(field, _, kind)| field == key && kind != Kind::Extensions)
        };
        if !known {
            return Err(EncodeError::UnknownKey {
                message: name,
                key: key.clone(),
            });
        }
    }
    for &(key, number, kind) in layout {
        if kind == Kind::Extensions {
            vendor_extensions(writer, fields, number);
        } else if let Some(value) = fields.get(key) {
            let mistyped = || EncodeError::Mistyped {
                message: name,
                key: key.to_string(),
            };
            field(writer, number, kind, value, depth).map_err(|error| match error {
                EncodeError::Mistyped { key, .. } if key.is_empty() => mistyped(),
                error => error,
            })?;
        }
    }
    Ok(())
}

/// One field; a `Mistyped` error with an empty key is about this field's own value.
fn field(writer: &mut Writer, number: u32, kind: Kind, value: &Value, depth: u32) -> Result<()> {
    // The caller names the message and the key.
    let mistyped = || EncodeError::Mistyped {
        message: "",
        key: String::new(),
    };
    match kind {
        Kind::Text => writer.text(number, value.as_str().ok_or_else(mistyped)?),
        Kind::Flag => writer.flag(number, value.as_bool().ok_or_else(mistyped)?),
        Kind::Number => writer.number(number, value.as_f64().ok_or_else(mistyped)?),
        Kind::Count => writer.count(number, value.as_i64().ok_or_else(mistyped)?),
        Kind::Texts => {
            for text in value.as_array().ok_or_else(mistyped)? {
                writer.bytes(number, text.as_str().ok_or_else(mistyped)?.as_bytes());
            }
        }
        Kind::Any => writer.bytes(number, &any(value)),
        Kind::Anys => {
            for item in value.as_array().ok_or_else(mistyped)? {
                writer.bytes(number, &any(item));
            }
        }
        Kind::Nested(message) => {
            let bytes = encode_message(value, message, depth + 1)?;
            writer.bytes(number, &bytes);
        }
        Kind::Each(message) => {
            for item in value.as_array().ok_or_else(mistyped)? {
                let bytes = encode_message(item, message, depth + 1)?;
                writer.bytes(number, &bytes);
            }
        }
        Kind::Named(message) => {
            let mut named = Writer::default();
            for (name, item) in value.as_object().ok_or_else(mistyped)? {
                named_pair(&mut named, 1, name, item, message, depth + 1)?;
            }
            writer.bytes(number, &named.bytes);
        }
        _ => return one_of(writer, number, kind, value, depth),
    }
    Ok(())
}

/// The wrapper messages that take one of several JSON shapes.
fn one_of(writer: &mut Writer, number: u32, kind: Kind, value: &Value, depth: u32) -> Result<()> {
    // The caller names the message and the key.
    let mistyped = || EncodeError::Mistyped {
        message: "",
        key: String::new(),
    };
    let mut inner = Writer::default();
    match (kind, value) {
        (Kind::Types, Value::String(text)) => inner.bytes(1, text.as_bytes()),
        (Kind::Types, Value::Array(texts)) => {
            for text in texts {
                inner.bytes(1, text.as_str().ok_or_else(mistyped)?.as_bytes());
            }
        }
        (Kind::Items, Value::Array(schemas)) => {
            for schema in schemas {
                inner.bytes(1, &encode_message(schema, Message::Schema, depth + 1)?);
            }
        }
        (Kind::Items | Kind::AdditionalProperties | Kind::SchemaItem, Value::Object(_)) => {
            inner.bytes(1, &encode_message(value, Message::Schema, depth + 1)?);
        }
        // A oneof member is written even when it is proto3's zero value.
        (Kind::AdditionalProperties, Value::Bool(flag)) => {
            inner.key(2, VARINT);
            inner.varint(u64::from(*flag));
        }
        _ => return Err(mistyped()),
    }
    writer.bytes(number, &inner.bytes);
    Ok(())
}

/// `Named*{string name = 1; value = 2}` as field `number` of `writer`.
fn named_pair(
    writer: &mut Writer,
    number: u32,
    name: &str,
    value: &Value,
    message: Message,
    depth: u32,
) -> Result<()> {
    let mut pair = Writer::default();
    pair.text(1, name);
    pair.bytes(2, &encode_message(value, message, depth + 1)?);
    writer.bytes(number, &pair.bytes);
    Ok(())
}

/// `Paths`: vendor extensions (1), then each path (2) as a `NamedPathItem`.
fn paths(writer: &mut Writer, fields: &Map<String, Value>, depth: u32) -> Result<()> {
    vendor_extensions(writer, fields, 1);
    for (name, value) in fields {
        if !name.starts_with(EXTENSION_PREFIX) {
            if !name.starts_with('/') {
                return Err(EncodeError::UnknownKey {
                    message: "paths",
                    key: name.clone(),
                });
            }
            named_pair(writer, 2, name, value, Message::PathItem, depth)?;
        }
    }
    Ok(())
}

/// `Responses`: each status code (1) as a `NamedResponseValue` whose `ResponseValue` is a
/// response (1) or a `$ref` (2), then vendor extensions (2).
fn responses(writer: &mut Writer, fields: &Map<String, Value>, depth: u32) -> Result<()> {
    for (code, value) in fields {
        if code.starts_with(EXTENSION_PREFIX) {
            continue;
        }
        let status = code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
        if !status && code != "default" {
            return Err(EncodeError::UnknownKey {
                message: "responses",
                key: code.clone(),
            });
        }
        let (number, message) = match value.get("$ref") {
            Some(_) => (2, Message::JsonReference),
            None => (1, Message::Response),
        };
        let mut response_value = Writer::default();
        let bytes = encode_message(value, message, depth + 1)?;
        response_value.bytes(number, &bytes);
        let mut pair = Writer::default();
        pair.text(1, code);
        pair.bytes(2, &response_value.bytes);
        writer.bytes(1, &pair.bytes);
    }
    vendor_extensions(writer, fields, 2);
    Ok(())
}

/// `ParametersItem`: a `$ref` (2), or a `Parameter` (1) that is a body parameter (1) or a
/// `NonBodyParameter` (2) of the sub-schema its `in` names.
fn parameters_item(writer: &mut Writer, fields: &Map<String, Value>, depth: u32) -> Result<()> {
    if fields.contains_key("$ref") {
        let bytes = encode_object(fields, Message::JsonReference, depth + 1)?;
        writer.bytes(2, &bytes);
        return Ok(());
    }
    let location = fields.get("in").and_then(Value::as_str).unwrap_or_default();
    let (sub_schema, message) = match location {
        "body" => (None, Message::BodyParameter),
        "header" => (Some(1), Message::PathParameter),
        "formData" => (Some(2), Message::QueryParameter),
        "query" => (Some(3), Message::QueryParameter),
        "path" => (Some(4), Message::PathParameter),
        _ => {
            return Err(EncodeError::Mistyped {
                message: "parameter",
                key: "in".into(),
            })
        }
    };
    let bytes = encode_object(fields, message, depth + 1)?;
    let mut parameter = Writer::default();
    match sub_schema {
        None => parameter.bytes(1, &bytes),
        Some(number) => {
            let mut non_body = Writer::default();
            non_body.bytes(number, &bytes);
            parameter.bytes(2, &non_body.bytes);
        }
    }
    writer.bytes(1, &parameter.bytes);
    Ok(())
}

/// Every `x-` key of `fields` as a `NamedAny` in field `number`.
fn vendor_extensions(writer: &mut Writer, fields: &Map<String, Value>, number: u32) {
    for (name, value) in fields {
        if name.starts_with(EXTENSION_PREFIX) {
            let mut pair = Writer::default();
            pair.text(1, name);
            pair.bytes(2, &any(value));
            writer.bytes(number, &pair.bytes);
        }
    }
}

/// `Any{string yaml = 2}`: JSON is YAML, and reads back as the same value.
fn any(value: &Value) -> Vec<u8> {
    let text = serde_json::to_string(value).expect("a JSON value serializes");
    let mut writer = Writer::default();
    writer.bytes(2, text.as_bytes());
    writer.bytes
}

fn message_name(message: Message) -> &'static str {
    match message {
        Message::Document => "document",
        Message::Info => "info",
        Message::Paths => "paths",
        Message::PathItem => "path item",
        Message::Operation => "operation",
        Message::ParametersItem => "parameter",
        Message::BodyParameter => "body parameter",
        Message::QueryParameter => "query parameter",
        Message::PathParameter => "path parameter",
        Message::PrimitivesItems => "items",
        Message::Responses => "responses",
        Message::Response => "response",
        Message::Schema => "schema",
        Message::JsonReference => "$ref",
    }
}

/// Protobuf's wire format, for the field kinds above.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        // Each round drops seven of the 64 bits: at most nine rounds.
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn key(&mut self, number: u32, wire: u8) {
        assert!(number > 0 && wire <= LEN);
        self.varint(u64::from(number) << 3 | u64::from(wire));
    }

    /// A length-delimited field: a string, or a message (written even when empty, as
    /// Go writes a set message field).
    fn bytes(&mut self, number: u32, bytes: &[u8]) {
        self.key(number, LEN);
        self.varint(bytes.len() as u64);
        self.bytes.extend_from_slice(bytes);
    }

    fn text(&mut self, number: u32, text: &str) {
        if !text.is_empty() {
            self.bytes(number, text.as_bytes());
        }
    }

    fn flag(&mut self, number: u32, flag: bool) {
        if flag {
            self.key(number, VARINT);
            self.varint(1);
        }
    }

    fn number(&mut self, number: u32, value: f64) {
        // proto3 leaves out +0.0 only: Go compares the bits.
        if value.to_bits() != 0 {
            self.key(number, FIXED64);
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn count(&mut self, number: u32, value: i64) {
        if value != 0 {
            self.key(number, VARINT);
            // A negative int64 is its two's complement, ten bytes.
            self.varint(value as u64);
        }
    }
}

#[cfg(test)]
mod tests;
