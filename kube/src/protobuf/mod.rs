//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) of request bodies,
//! decoded into the JSON the same object has in Kubernetes' JSON encoding.
//!
//! kubectl 1.33 sends the objects it builds itself (`kubectl create namespace|configmap|
//! secret|deployment|service|job|cronjob|role|rolebinding|clusterrole|clusterrolebinding|
//! serviceaccount|quota|priorityclass|poddisruptionbudget|ingress|token`, `kubectl
//! autoscale`, `kubectl create job --from`) as protobuf. The body is the 4-byte magic
//! `k8s\0` followed by a `runtime.Unknown` message (k8s.io/apimachinery/pkg/runtime/
//! generated.proto: `typeMeta` = 1 {`apiVersion` = 1, `kind` = 2}, `raw` = 2,
//! `contentEncoding` = 3, `contentType` = 4) whose `raw` is the object's own message from
//! k8s.io/api/<group>/<version>/generated.proto.
//!
//! The decoder is driven by a table of the needed messages (at the end of this file,
//! generated from the Go API structs) and reproduces what kube-apiserver does: decode the
//! protobuf into the Go struct (unknown fields skipped, repeated occurrences of a message
//! field merged) and marshal that with `encoding/json`. So the JSON is the JSON kubectl
//! would have sent: non-pointer structs always present (`"status": {}`), a zero
//! `metav1.Time` as `null` (`"creationTimestamp": null`), zero values of `omitempty`
//! fields dropped, pointers kept when set (`"replicas": 0`), `[]byte` as base64,
//! `IntOrString` as a number or a string, `Quantity` as its string, `Time` as RFC 3339.
//!
//! Everything is bounded (body size, nesting depth, items per list or map, values in all)
//! and malformed input is an error, never a panic.

use crate::time::civil_from_days;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::fmt;

/// The media type of Kubernetes' protobuf encoding.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The largest body decoded (kube-apiserver's limit for a request body).
pub const BODY_BYTES_MAX: usize = 3 * 1024 * 1024;
/// The deepest nesting of messages decoded (the deepest object in the table needs 13).
pub const DEPTH_MAX: usize = 32;
/// The most items one repeated field or map may hold.
pub const ITEMS_MAX: usize = 100_000;
/// The most JSON values one body may decode into.
pub const VALUES_MAX: usize = 1_000_000;

const MAGIC: &[u8; 4] = b"k8s\0";

/// Whether a `Content-Type` header names Kubernetes' protobuf encoding (parameters ignored).
pub fn is_protobuf_content_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(PROTOBUF_CONTENT_TYPE))
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtobufError {
    /// Not a Kubernetes protobuf envelope, or a message in it is malformed. `path` names
    /// the field (`spec.template.spec.containers[0].ports`), empty for the envelope.
    Malformed { path: String, message: String },
    /// The envelope names a kind this decoder has no table for.
    UnsupportedKind { api_version: String, kind: String },
    /// The body exceeds one of the limits (`BODY_BYTES_MAX`, `DEPTH_MAX`, `ITEMS_MAX`,
    /// `VALUES_MAX`).
    LimitExceeded { path: String, message: String },
}

impl ProtobufError {
    fn malformed(message: impl Into<String>) -> Self {
        ProtobufError::Malformed {
            path: String::new(),
            message: message.into(),
        }
    }

    fn limit(message: impl Into<String>) -> Self {
        ProtobufError::LimitExceeded {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The error as seen from the enclosing message: `segment` is prepended to the path.
    fn within(mut self, segment: &str) -> Self {
        if let ProtobufError::Malformed { path, .. } | ProtobufError::LimitExceeded { path, .. } =
            &mut self
        {
            *path = if path.is_empty() {
                segment.to_string()
            } else if path.starts_with('[') || segment.is_empty() {
                format!("{segment}{path}")
            } else {
                format!("{segment}.{path}")
            };
        }
        self
    }
}

impl fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtobufError::Malformed { path, message } if path.is_empty() => {
                write!(f, "malformed protobuf body: {message}")
            }
            ProtobufError::Malformed { path, message } => {
                write!(f, "malformed protobuf body at {path}: {message}")
            }
            ProtobufError::UnsupportedKind { api_version, kind } => write!(
                f,
                "the protobuf encoding of kind {kind:?} (apiVersion {api_version:?}) is not \
                 supported; send it as application/json"
            ),
            ProtobufError::LimitExceeded { path, message } if path.is_empty() => {
                write!(f, "protobuf body too large: {message}")
            }
            ProtobufError::LimitExceeded { path, message } => {
                write!(f, "protobuf body too large at {path}: {message}")
            }
        }
    }
}

impl std::error::Error for ProtobufError {}

type Result<T> = std::result::Result<T, ProtobufError>;

/// Decodes a `application/vnd.kubernetes.protobuf` body into the object's Kubernetes JSON,
/// `apiVersion` and `kind` (from the envelope's `typeMeta`) included.
pub fn decode_object(body: &[u8]) -> std::result::Result<Value, ProtobufError> {
    let envelope = decode_envelope(body)?;
    let Some(&(_, _, message)) = KINDS.iter().find(|(api_version, kind, _)| {
        *api_version == envelope.api_version && *kind == envelope.kind
    }) else {
        return Err(ProtobufError::UnsupportedKind {
            api_version: envelope.api_version,
            kind: envelope.kind,
        });
    };
    let mut budget = Budget { values: 0 };
    let fields = decode_message(&[envelope.raw], message, &mut budget, 1)?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String(envelope.api_version));
    object.insert("kind".into(), Value::String(envelope.kind));
    for (key, value) in fields {
        object.entry(key).or_insert(value);
    }
    Ok(Value::Object(object))
}

/// The (apiVersion, kind) pairs `decode_object` decodes.
pub fn supported_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS
        .iter()
        .map(|&(api_version, kind, _)| (api_version, kind))
}

struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

/// The `k8s\0` magic and the `runtime.Unknown` around the object.
fn decode_envelope(body: &[u8]) -> Result<Envelope<'_>> {
    if body.len() > BODY_BYTES_MAX {
        return Err(ProtobufError::limit(format!(
            "the body has {} bytes, more than the {BODY_BYTES_MAX} allowed",
            body.len()
        )));
    }
    let Some(unknown) = body.strip_prefix(MAGIC) else {
        return Err(ProtobufError::malformed(
            "the body does not start with the Kubernetes protobuf prefix \"k8s\\x00\"",
        ));
    };
    let mut envelope = Envelope {
        api_version: String::new(),
        kind: String::new(),
        raw: &[],
    };
    let mut content_encoding = String::new();
    let mut content_type = String::new();
    let mut reader = Reader::new(unknown);
    while !reader.done() {
        let (number, wire) = reader.key()?;
        match number {
            1 => {
                let type_meta = reader
                    .length_delimited(wire)
                    .map_err(|e| e.within("typeMeta"))?;
                let mut inner = Reader::new(type_meta);
                while !inner.done() {
                    let (number, wire) = inner.key().map_err(|e| e.within("typeMeta"))?;
                    match number {
                        1 => {
                            envelope.api_version = inner
                                .string(wire)
                                .map_err(|e| e.within("typeMeta.apiVersion"))?
                        }
                        2 => {
                            envelope.kind =
                                inner.string(wire).map_err(|e| e.within("typeMeta.kind"))?
                        }
                        _ => inner.skip(wire).map_err(|e| e.within("typeMeta"))?,
                    }
                }
            }
            2 => envelope.raw = reader.length_delimited(wire).map_err(|e| e.within("raw"))?,
            3 => {
                content_encoding = reader
                    .string(wire)
                    .map_err(|e| e.within("contentEncoding"))?
            }
            4 => content_type = reader.string(wire).map_err(|e| e.within("contentType"))?,
            _ => reader.skip(wire)?,
        }
    }
    if !content_encoding.is_empty() {
        return Err(ProtobufError::malformed(format!(
            "the envelope's contentEncoding {content_encoding:?} is not supported"
        )));
    }
    if !content_type.is_empty() && !is_protobuf_content_type(&content_type) {
        return Err(ProtobufError::malformed(format!(
            "the envelope's raw object is {content_type:?}, not protobuf"
        )));
    }
    if envelope.kind.is_empty() || envelope.api_version.is_empty() {
        return Err(ProtobufError::malformed(
            "the envelope's typeMeta names no apiVersion and kind",
        ));
    }
    Ok(envelope)
}

// ---- the wire format ----

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for index in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(ProtobufError::malformed("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(ProtobufError::malformed("varint longer than 10 bytes"))
    }

    /// A field's number and wire type.
    fn key(&mut self) -> Result<(u32, u8)> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > 0x1fff_ffff {
            return Err(ProtobufError::malformed(format!(
                "invalid field number {number}"
            )));
        }
        Ok((number as u32, (key & 7) as u8))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8]> {
        let rest = self.buf.len() - self.pos;
        match usize::try_from(len) {
            Ok(len) if len <= rest => {
                let bytes = &self.buf[self.pos..self.pos + len];
                self.pos += len;
                Ok(bytes)
            }
            _ => Err(ProtobufError::malformed(format!(
                "length {len} runs past the end of its message ({rest} bytes left)"
            ))),
        }
    }

    fn length_delimited(&mut self, wire: u8) -> Result<&'a [u8]> {
        expect_wire(wire, LEN)?;
        let len = self.varint()?;
        self.take(len)
    }

    fn string(&mut self, wire: u8) -> Result<String> {
        Ok(String::from_utf8_lossy(self.length_delimited(wire)?).into_owned())
    }

    fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => {
                let len = self.varint()?;
                self.take(len).map(drop)
            }
            FIXED32 => self.take(4).map(drop),
            3 | 4 => Err(ProtobufError::malformed(
                "protobuf groups are not supported",
            )),
            other => Err(ProtobufError::malformed(format!(
                "invalid wire type {other}"
            ))),
        }
    }
}

fn expect_wire(wire: u8, expected: u8) -> Result<()> {
    if wire == expected {
        Ok(())
    } else {
        Err(ProtobufError::malformed(format!(
            "wrong wire type {wire} (expected {expected})"
        )))
    }
}

// ---- the table's vocabulary ----

/// The Go type of a field (of its elements for slices, of its values for maps).
#[derive(Clone, Copy, Debug)]
enum Ty {
    /// `string` (and named strings): protobuf `string`, JSON string.
    Str,
    /// `[]byte`: protobuf `bytes`, JSON base64 string.
    Bytes,
    /// `bool`: varint, JSON bool.
    Bool,
    /// `int32`: varint, JSON number.
    I32,
    /// `int64`: varint, JSON number.
    I64,
    /// `metav1.Time` {seconds = 1, nanos = 2}: RFC 3339 in seconds, `null` when zero.
    Time,
    /// `metav1.MicroTime` {seconds = 1, nanos = 2}: RFC 3339 in microseconds, `null` when zero.
    MicroTime,
    /// `resource.Quantity` {string = 1}: its string, `"0"` when zero.
    Quantity,
    /// `intstr.IntOrString` {type = 1, intVal = 2, strVal = 3}: a number or a string.
    IntOrString,
    /// `runtime.RawExtension` / `metav1.FieldsV1` {raw = 1}: the raw JSON itself.
    RawJson,
    /// A named `[]string` as a map value (authorization's `ExtraValue`): a message
    /// {items = 1 (repeated string)}, a JSON array of strings.
    Items,
    /// A struct: the table's message at this index.
    Msg(u16),
}

/// A non-pointer field.
const ONE: u8 = 0;
/// A pointer: in the JSON exactly when set.
const PTR: u8 = 1;
/// A slice: a repeated field.
const LIST: u8 = 2;
/// A `map[string]T`: repeated entries {key = 1, value = 2}.
const MAP: u8 = 3;
const SHAPE: u8 = 3;
/// `json:",omitempty"`.
const OMIT: u8 = 4;
/// `json:",inline"`: the struct's fields are the parent's.
const INLINE: u8 = 8;

struct F {
    number: u32,
    json: &'static str,
    ty: Ty,
    flags: u8,
}

const fn f(number: u32, json: &'static str, ty: Ty, flags: u8) -> F {
    F {
        number,
        json,
        ty,
        flags,
    }
}

struct Message {
    name: &'static str,
    fields: &'static [F],
}

impl Ty {
    /// The wire type its values have outside packed repeated fields.
    fn wire(self) -> u8 {
        match self {
            Ty::Bool | Ty::I32 | Ty::I64 => VARINT,
            _ => LEN,
        }
    }

    fn is_scalar(self) -> bool {
        matches!(self, Ty::Str | Ty::Bytes | Ty::Bool | Ty::I32 | Ty::I64)
    }
}

// ---- decoding ----

struct Budget {
    values: usize,
}

impl Budget {
    fn spend(&mut self, values: usize) -> Result<()> {
        self.values += values;
        if self.values > VALUES_MAX {
            return Err(ProtobufError::limit(format!(
                "the object decodes into more than {VALUES_MAX} values"
            )));
        }
        Ok(())
    }
}

/// What one field of a message collected while its bytes were read.
enum Acc<'a> {
    Unset,
    /// A scalar (the last occurrence wins).
    Scalar(Value),
    /// The occurrences of a message-typed field (merged, as protobuf merges them).
    Chunks(Vec<&'a [u8]>),
    List(Vec<Value>),
    Map(Map<String, Value>),
}

/// Decodes one message, given as the concatenation of `chunks`, into its JSON fields.
fn decode_message(
    chunks: &[&[u8]],
    index: u16,
    budget: &mut Budget,
    depth: usize,
) -> Result<Map<String, Value>> {
    let message = &MESSAGES[usize::from(index)];
    if depth > DEPTH_MAX {
        return Err(ProtobufError::limit(format!(
            "messages nest deeper than {DEPTH_MAX} (at a {})",
            message.name
        )));
    }
    let mut accs: Vec<Acc<'_>> = message
        .fields
        .iter()
        .map(|field| match field.flags & SHAPE {
            LIST => Acc::List(Vec::new()),
            MAP => Acc::Map(Map::new()),
            _ => Acc::Unset,
        })
        .collect();
    for chunk in chunks {
        let mut reader = Reader::new(chunk);
        while !reader.done() {
            let (number, wire) = reader.key()?;
            let Ok(slot) = message
                .fields
                .binary_search_by_key(&number, |field| field.number)
            else {
                reader.skip(wire)?; // unknown fields are skipped, as Go's decoder does
                continue;
            };
            let field = &message.fields[slot];
            read_field(&mut reader, wire, field, &mut accs[slot], budget, depth)
                .map_err(|e| e.within(field.json))?;
        }
    }
    let mut object = Map::new();
    let mut inlined = Vec::new();
    for (field, acc) in message.fields.iter().zip(accs) {
        let value = finish_field(field, acc, budget, depth).map_err(|e| e.within(field.json))?;
        match value {
            Some(Value::Object(fields)) if field.flags & INLINE != 0 => inlined.push(fields),
            Some(value) => {
                object.insert(field.json.to_string(), value);
            }
            None => {}
        }
    }
    // Promoted fields of embedded structs never shadow the struct's own.
    for fields in inlined {
        for (key, value) in fields {
            object.entry(key).or_insert(value);
        }
    }
    budget.spend(object.len())?;
    Ok(object)
}

/// Reads one occurrence of `field` into its accumulator.
fn read_field<'a>(
    reader: &mut Reader<'a>,
    wire: u8,
    field: &F,
    acc: &mut Acc<'a>,
    budget: &mut Budget,
    depth: usize,
) -> Result<()> {
    let ty = field.ty;
    match acc {
        Acc::List(items) => {
            if ty.wire() == VARINT && wire == LEN {
                // a packed repeated scalar
                let packed = reader.length_delimited(wire)?;
                let mut inner = Reader::new(packed);
                while !inner.done() {
                    push_item(items, budget)?;
                    let value = scalar(&mut inner, VARINT, ty)
                        .map_err(|e| e.within(&format!("[{}]", items.len())))?;
                    items.push(value);
                }
            } else {
                push_item(items, budget)?;
                let at = items.len();
                let value = if ty.is_scalar() {
                    scalar(reader, wire, ty)
                } else {
                    let bytes = reader.length_delimited(wire)?;
                    decode_value(ty, &[bytes], budget, depth)
                }
                .map_err(|e| e.within(&format!("[{at}]")))?;
                items.push(value);
            }
        }
        Acc::Map(entries) => {
            let entry = reader.length_delimited(wire)?;
            let (key, value) = map_entry(entry, ty, budget, depth)?;
            if !entries.contains_key(&key) && entries.len() >= ITEMS_MAX {
                return Err(ProtobufError::limit(format!(
                    "more than {ITEMS_MAX} map entries"
                )));
            }
            budget.spend(1)?;
            entries.insert(key, value);
        }
        Acc::Chunks(chunks) => chunks.push(reader.length_delimited(wire)?),
        _ if ty.is_scalar() => *acc = Acc::Scalar(scalar(reader, wire, ty)?),
        _ => *acc = Acc::Chunks(vec![reader.length_delimited(wire)?]),
    }
    Ok(())
}

fn push_item(items: &[Value], budget: &mut Budget) -> Result<()> {
    if items.len() >= ITEMS_MAX {
        return Err(ProtobufError::limit(format!("more than {ITEMS_MAX} items")));
    }
    budget.spend(1)
}

/// One scalar value in its wire encoding.
fn scalar(reader: &mut Reader<'_>, wire: u8, ty: Ty) -> Result<Value> {
    expect_wire(wire, ty.wire())?;
    Ok(match ty {
        Ty::Str => {
            Value::String(String::from_utf8_lossy(reader.length_delimited(wire)?).into_owned())
        }
        Ty::Bytes => Value::String(
            base64::engine::general_purpose::STANDARD.encode(reader.length_delimited(wire)?),
        ),
        Ty::Bool => Value::Bool(reader.varint()? != 0),
        // Go converts the varint with a plain integer conversion
        Ty::I32 => Value::from(reader.varint()? as i32),
        Ty::I64 => Value::from(reader.varint()? as i64),
        _ => return Err(internal("scalar() of a message type")),
    })
}

/// A map entry {key = 1, value = 2}; a missing key or value is the zero value.
fn map_entry(entry: &[u8], ty: Ty, budget: &mut Budget, depth: usize) -> Result<(String, Value)> {
    let mut reader = Reader::new(entry);
    let mut key = String::new();
    let mut value = None;
    let mut chunk: Option<&[u8]> = None;
    while !reader.done() {
        let (number, wire) = reader.key()?;
        match number {
            1 => key = reader.string(wire)?,
            2 if ty.is_scalar() => value = Some(scalar(&mut reader, wire, ty)?),
            2 => chunk = Some(reader.length_delimited(wire)?),
            _ => reader.skip(wire)?,
        }
    }
    let value = match value {
        Some(value) => value,
        None if ty.is_scalar() => zero(ty),
        // Go decodes each occurrence of a message value into a fresh struct: the last wins
        None => decode_value(ty, chunk.as_slice(), budget, depth).map_err(|e| e.within(&key))?,
    };
    Ok((key, value))
}

/// A non-scalar value from the occurrences of its message (none for an unset non-pointer
/// field, which Go leaves at its zero value).
fn decode_value(ty: Ty, chunks: &[&[u8]], budget: &mut Budget, depth: usize) -> Result<Value> {
    budget.spend(1)?;
    match ty {
        Ty::Msg(index) => Ok(Value::Object(decode_message(
            chunks,
            index,
            budget,
            depth + 1,
        )?)),
        // Time, MicroTime and Quantity unmarshal by replacing the whole value: the last wins
        Ty::Time => time(chunks.last().copied(), false),
        Ty::MicroTime => time(chunks.last().copied(), true),
        Ty::Quantity => quantity(chunks.last().copied()),
        Ty::IntOrString => int_or_string(chunks),
        Ty::RawJson => raw_json(chunks),
        Ty::Items => string_items(chunks, budget),
        _ => Err(internal("decode_value() of a scalar type")),
    }
}

/// The JSON of a field once all its occurrences are read; `None` to leave it out.
fn finish_field(
    field: &F,
    acc: Acc<'_>,
    budget: &mut Budget,
    depth: usize,
) -> Result<Option<Value>> {
    let omitempty = field.flags & OMIT != 0;
    let ty = field.ty;
    Ok(match (field.flags & SHAPE, acc) {
        // encoding/json: an empty slice or map is left out under omitempty, else it is
        // null (Go leaves a slice or map that never occurred nil)
        (_, Acc::List(items)) if items.is_empty() => (!omitempty).then_some(Value::Null),
        (_, Acc::Map(entries)) if entries.is_empty() => (!omitempty).then_some(Value::Null),
        (_, Acc::List(items)) => Some(Value::Array(items)),
        (_, Acc::Map(entries)) => Some(Value::Object(entries)),
        // an unset pointer
        (PTR, Acc::Unset) => (!omitempty).then_some(Value::Null),
        (PTR, Acc::Scalar(value)) => Some(value),
        (PTR, Acc::Chunks(chunks)) => Some(decode_value(ty, &chunks, budget, depth)?),
        // a non-pointer `[]byte` is a slice: unset is nil
        (ONE, Acc::Unset) if matches!(ty, Ty::Bytes) => (!omitempty).then_some(Value::Null),
        (ONE, Acc::Scalar(value)) if matches!(ty, Ty::Bytes) => {
            (!(omitempty && value == "")).then_some(value)
        }
        // other non-pointer scalars: the zero value when unset, left out when zero under
        // omitempty
        (ONE, acc) if ty.is_scalar() => {
            let value = match acc {
                Acc::Scalar(value) => value,
                _ => zero(ty),
            };
            (!(omitempty && is_zero(&value))).then_some(value)
        }
        // a non-pointer struct: encoding/json never leaves it out
        (ONE, Acc::Chunks(chunks)) => Some(decode_value(ty, &chunks, budget, depth)?),
        (ONE, _) => Some(decode_value(ty, &[], budget, depth)?),
        _ => return Err(internal("a field's accumulator does not match its shape")),
    })
}

/// A state the table's invariants rule out; an error rather than a panic all the same.
fn internal(what: &str) -> ProtobufError {
    ProtobufError::malformed(format!("internal decoder error: {what}"))
}

fn zero(ty: Ty) -> Value {
    match ty {
        Ty::Str | Ty::Bytes => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        _ => Value::from(0),
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

// ---- the special types of k8s.io/apimachinery ----

/// A named `[]string` as its message {items = 1 (repeated string)}; the occurrences of a
/// message merge, so their items add up. Empty is Go's nil slice: `null`.
fn string_items(chunks: &[&[u8]], budget: &mut Budget) -> Result<Value> {
    let mut items = Vec::new();
    for chunk in chunks {
        let mut reader = Reader::new(chunk);
        while !reader.done() {
            let (number, wire) = reader.key()?;
            match number {
                1 => {
                    push_item(&items, budget)?;
                    items.push(Value::String(reader.string(wire)?));
                }
                _ => reader.skip(wire)?,
            }
        }
    }
    Ok(match items.is_empty() {
        true => Value::Null,
        false => Value::Array(items),
    })
}

/// `metav1.Time` / `metav1.MicroTime`: {seconds = 1 (int64), nanos = 2 (int32)}.
fn time(chunk: Option<&[u8]>, micro: bool) -> Result<Value> {
    // An empty message is the zero time (metav1.Time.Unmarshal)
    let Some(chunk) = chunk.filter(|chunk| !chunk.is_empty()) else {
        return Ok(Value::Null);
    };
    let mut reader = Reader::new(chunk);
    let (mut seconds, mut nanos) = (0i64, 0i32);
    while !reader.done() {
        let (number, wire) = reader.key()?;
        match number {
            1 => {
                expect_wire(wire, VARINT)?;
                seconds = reader.varint()? as i64;
            }
            2 => {
                expect_wire(wire, VARINT)?;
                nanos = reader.varint()? as i32;
            }
            _ => reader.skip(wire)?,
        }
    }
    // metav1.Time.Unmarshal drops the nanos (time_proto.go: `time.Unix(p.Seconds, 0)`);
    // MicroTime keeps them, and time.Unix normalises them into [0, 1e9)
    let nanos = if micro { i128::from(nanos) } else { 0 };
    let seconds = i128::from(seconds) + nanos.div_euclid(1_000_000_000);
    let nanos = nanos.rem_euclid(1_000_000_000);
    // Go's zero time.Time, 0001-01-01T00:00:00Z, marshals as null
    if seconds == -62_135_596_800 && nanos == 0 {
        return Ok(Value::Null);
    }
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // |seconds| < 2^63 + 1, so the day count fits an i64 with room to spare.
    let days =
        i64::try_from(days).map_err(|_| ProtobufError::malformed("timestamp out of range"))?;
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(ProtobufError::malformed(format!(
            "timestamp {seconds}s is outside the years 0000-9999 RFC 3339 can write"
        )));
    }
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if micro {
        text.push_str(&format!(".{:06}", nanos / 1000));
    }
    text.push('Z');
    Ok(Value::String(text))
}

/// `resource.Quantity`: {string = 1}. Go parses the string (and refuses a malformed one);
/// it is passed through as sent (kubectl sends the canonical form).
fn quantity(chunk: Option<&[u8]>) -> Result<Value> {
    let mut text = None;
    let mut reader = Reader::new(chunk.unwrap_or_default());
    while !reader.done() {
        let (number, wire) = reader.key()?;
        match number {
            1 => text = Some(reader.string(wire)?),
            _ => reader.skip(wire)?,
        }
    }
    // an empty message is the zero Quantity, "0"
    let Some(text) = text else {
        return Ok(Value::String("0".into()));
    };
    if !is_quantity(&text) {
        return Err(ProtobufError::malformed(format!(
            "{text:?} is not a quantity"
        )));
    }
    Ok(Value::String(text))
}

/// The grammar of `resource.ParseQuantity`: a signed decimal number, then a binary-SI
/// suffix (Ki … Ei), a decimal-SI suffix (n u m k M G T P E) or an exponent (e3, E-2).
fn is_quantity(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        at += 1;
    }
    let integer = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    at += integer;
    let mut fraction = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        fraction = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        at += fraction;
    }
    if integer + fraction == 0 {
        return false;
    }
    match &text[at..] {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T"
        | "P" | "E" => true,
        exponent => {
            let Some(digits) = exponent.strip_prefix(['e', 'E']) else {
                return false;
            };
            let digits = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// `intstr.IntOrString`: {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}.
fn int_or_string(chunks: &[&[u8]]) -> Result<Value> {
    let (mut kind, mut int_val, mut str_val) = (0i64, 0i32, String::new());
    for chunk in chunks {
        let mut reader = Reader::new(chunk);
        while !reader.done() {
            let (number, wire) = reader.key()?;
            match number {
                1 => {
                    expect_wire(wire, VARINT)?;
                    kind = reader.varint()? as i64;
                }
                2 => {
                    expect_wire(wire, VARINT)?;
                    int_val = reader.varint()? as i32;
                }
                3 => str_val = reader.string(wire)?,
                _ => reader.skip(wire)?,
            }
        }
    }
    match kind {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        other => Err(ProtobufError::malformed(format!(
            "IntOrString type {other} is neither 0 (int) nor 1 (string)"
        ))),
    }
}

/// `runtime.RawExtension` / `metav1.FieldsV1`: {raw = 1}, JSON that is embedded as is.
fn raw_json(chunks: &[&[u8]]) -> Result<Value> {
    let mut raw = None;
    for chunk in chunks {
        let mut reader = Reader::new(chunk);
        while !reader.done() {
            let (number, wire) = reader.key()?;
            match number {
                1 => raw = Some(reader.length_delimited(wire)?),
                _ => reader.skip(wire)?,
            }
        }
    }
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    if raw.starts_with(MAGIC) {
        return Err(ProtobufError::malformed(
            "an embedded object in protobuf (not JSON) is not supported",
        ));
    }
    serde_json::from_slice(raw)
        .map_err(|e| ProtobufError::malformed(format!("the embedded raw JSON is invalid: {e}")))
}

// The message table: generated by scripts/protobuf/gen_table.py.
include!("table.rs");

#[cfg(test)]
mod tests;
