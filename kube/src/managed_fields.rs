//! Field sets: the fields of an object one manager owns, as Kubernetes' structured-merge-diff
//! records them (`sigs.k8s.io/structured-merge-diff/v4/fieldpath.Set`), their `FieldsV1`
//! encoding in `metadata.managedFields`, and the walks of objects server-side apply is made
//! of: the fields an object sets, what changed between two versions of an object, the merge of
//! an applied configuration into an object, and the removal of fields.
//!
//! An object's structure comes from Kubernetes' OpenAPI schemas, read as structured-merge-diff
//! reads them (see `field_schema.rs`): objects are maps of fields, owned field by field unless
//! their schema says `x-kubernetes-map-type: atomic`; a list is associative (keyed by its
//! `x-kubernetes-list-map-keys`), a set of scalars, or atomic, owned and replaced whole. A list
//! whose elements cannot be told apart (an element without a key field that has no default, a
//! duplicate) is atomic too, and so is anything nested deeper than [`FIELD_PATH_DEPTH_MAX`].
//!
//! FieldsV1 names each path element with a prefixed string: `f:<field>`, `k:<key fields as
//! JSON>` for an element of an associative list, `v:<value as JSON>` for an element of a set,
//! `i:<index>` for a list element by position; inside an element, `.` marks the element itself
//! as owned, not only fields under it. A member with nothing under it is `{}`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::field_schema::{FieldSchema, ListType};

/// The longest field path a set holds, in elements. A value nested deeper is owned whole, as
/// one leaf. This keeps every walk's recursion bounded and a set's FieldsV1 (one JSON level per
/// element, under `metadata.managedFields[i].fieldsV1`) far inside the 127 levels serde_json
/// reads back; typed Kubernetes objects nest about 15 levels at most.
pub const FIELD_PATH_DEPTH_MAX: usize = 64;

/// The FieldsV1 key that marks an element itself as a member of the set.
const SELF_KEY: &str = ".";

/// One step of a field path. The derived order (fields, keys, values, indices) is
/// structured-merge-diff's, so paths are listed in its order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of a map: `f:<name>`, printed `.name`.
    Field(String),
    /// An element of an associative list, by its key fields as compact JSON (serde_json sorts
    /// object keys, so the text is canonical): `k:{"name":"nginx"}`, printed `[name="nginx"]`.
    Key(String),
    /// An element of a set, by its value as compact JSON: `v:"a"`, printed `[="a"]`.
    Value(String),
    /// A list element by position: `i:0`, printed `[0]`. kactor never makes one (atomic lists
    /// are owned whole) but reads them in FieldsV1 it is sent.
    Index(u32),
}

impl PathElement {
    fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(json) => format!("k:{json}"),
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    fn from_fields_v1_key(key: &str) -> Result<PathElement, FieldsError> {
        let bad = |why: &str| FieldsError(format!("invalid FieldsV1 key {key:?}: {why}"));
        let (prefix, rest) = key.split_once(':').ok_or_else(|| bad("no type prefix"))?;
        match prefix {
            "f" => Ok(PathElement::Field(rest.to_string())),
            "k" => {
                let fields: Map<String, Value> =
                    serde_json::from_str(rest).map_err(|_| bad("the key is not a JSON object"))?;
                if fields.is_empty() {
                    return Err(bad("the key names no field"));
                }
                Ok(PathElement::Key(Value::Object(fields).to_string()))
            }
            "v" => {
                let value: Value =
                    serde_json::from_str(rest).map_err(|_| bad("the value is not JSON"))?;
                Ok(PathElement::Value(value.to_string()))
            }
            "i" => rest
                .parse()
                .map(PathElement::Index)
                .map_err(|_| bad("the index is not a number")),
            _ => Err(bad("unknown type prefix")),
        }
    }
}

impl fmt::Display for PathElement {
    /// As structured-merge-diff prints a path element in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(json) => match serde_json::from_str::<Map<String, Value>>(json) {
                Ok(fields) => {
                    let pairs: Vec<String> = fields
                        .iter()
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect();
                    write!(f, "[{}]", pairs.join(","))
                }
                Err(_) => write!(f, "[{json}]"),
            },
            PathElement::Value(json) => write!(f, "[={json}]"),
            PathElement::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// A path as structured-merge-diff prints it: `.spec.template.spec.containers[name="nginx"].image`.
pub fn path_text(path: &[PathElement]) -> String {
    path.iter().map(PathElement::to_string).collect()
}

/// Why a FieldsV1 document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldsError(String);

impl fmt::Display for FieldsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FieldsError {}

/// A set of field paths, held as a tree: each node says whether the path to it is in the set,
/// and holds the paths that extend it. Invariant: no node is empty (neither a member nor with
/// anything below it), and no path is longer than [`FIELD_PATH_DEPTH_MAX`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    children: BTreeMap<PathElement, FieldNode>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FieldNode {
    member: bool,
    below: FieldSet,
}

impl FieldNode {
    fn is_empty(&self) -> bool {
        !self.member && self.below.is_empty()
    }
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Adds `path`, which names at least one element and at most [`FIELD_PATH_DEPTH_MAX`].
    pub fn insert(&mut self, path: &[PathElement]) {
        assert!(
            path.len() <= FIELD_PATH_DEPTH_MAX,
            "a field path of {} elements",
            path.len()
        );
        let (last, parents) = path.split_last().expect("a field path names an element");
        let mut set = self;
        for element in parents {
            set = &mut set.children.entry(element.clone()).or_default().below;
        }
        set.children.entry(last.clone()).or_default().member = true;
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut set = self;
        for element in parents {
            match set.children.get(element) {
                Some(node) => set = &node.below,
                None => return false,
            }
        }
        set.children.get(last).is_some_and(|node| node.member)
    }

    /// Every path of `self` or `other`.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut union = self.clone();
        union.extend(other);
        union
    }

    /// Adds every path of `other` to `self`.
    pub fn extend(&mut self, other: &FieldSet) {
        for (element, node) in &other.children {
            let slot = self.children.entry(element.clone()).or_default();
            slot.member |= node.member;
            slot.below.extend(&node.below);
        }
    }

    /// The paths of `self` that are not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut difference = FieldSet::new();
        for (element, node) in &self.children {
            let kept = match other.children.get(element) {
                None => node.clone(),
                Some(removed) => FieldNode {
                    member: node.member && !removed.member,
                    below: node.below.difference(&removed.below),
                },
            };
            if !kept.is_empty() {
                difference.children.insert(element.clone(), kept);
            }
        }
        difference
    }

    /// The paths in both `self` and `other`.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut intersection = FieldSet::new();
        for (element, node) in &self.children {
            let Some(theirs) = other.children.get(element) else {
                continue;
            };
            let both = FieldNode {
                member: node.member && theirs.member,
                below: node.below.intersection(&theirs.below),
            };
            if !both.is_empty() {
                intersection.children.insert(element.clone(), both);
            }
        }
        intersection
    }

    /// Every path, in structured-merge-diff's order: at each level the members first, then the
    /// paths below, each in element order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut paths = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut paths);
        paths
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, paths: &mut Vec<Vec<PathElement>>) {
        for (element, node) in &self.children {
            if node.member {
                let mut path = prefix.clone();
                path.push(element.clone());
                paths.push(path);
            }
        }
        for (element, node) in &self.children {
            if !node.below.is_empty() {
                prefix.push(element.clone());
                node.below.collect_paths(prefix, paths);
                prefix.pop();
            }
        }
    }

    /// The set with every field that has paths below it a member too: structured-merge-diff's
    /// `EnsureNamedFieldsAreMembers`, so that owning `.spec.strategy.type` also keeps
    /// `.spec.strategy` from being removed. (Without a schema, map keys count as named fields.)
    pub fn with_named_fields_as_members(&self) -> FieldSet {
        let mut named = self.clone();
        named.name_fields();
        named
    }

    fn name_fields(&mut self) {
        for (element, node) in self.children.iter_mut() {
            if matches!(element, PathElement::Field(_)) && !node.below.is_empty() {
                node.member = true;
            }
            node.below.name_fields();
        }
    }

    /// The set as FieldsV1 JSON.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.encode())
    }

    fn encode(&self) -> Map<String, Value> {
        let mut encoded = Map::new();
        for (element, node) in &self.children {
            let mut inner = node.below.encode();
            if node.member && !inner.is_empty() {
                inner.insert(SELF_KEY.into(), Value::Object(Map::new()));
            }
            encoded.insert(element.to_fields_v1_key(), Value::Object(inner));
        }
        encoded
    }

    /// Reads FieldsV1 JSON. Refuses what is not FieldsV1: a value that is not an object, an
    /// unknown key prefix, malformed key JSON, `.` at the root, paths longer than
    /// [`FIELD_PATH_DEPTH_MAX`].
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldsError> {
        let Value::Object(fields) = value else {
            return Err(FieldsError("FieldsV1 is not a JSON object".into()));
        };
        if fields.contains_key(SELF_KEY) {
            return Err(FieldsError(
                "\".\" at the root of FieldsV1 names no field".into(),
            ));
        }
        let set = FieldSet::decode(fields, 1)?;
        assert!(
            set.depth() <= FIELD_PATH_DEPTH_MAX,
            "decode checks the depth"
        );
        Ok(set)
    }

    /// Decodes the elements named in `fields`, whose paths are `depth` elements long.
    fn decode(fields: &Map<String, Value>, depth: usize) -> Result<FieldSet, FieldsError> {
        let mut set = FieldSet::new();
        for (key, value) in fields.iter().filter(|(key, _)| *key != SELF_KEY) {
            if depth > FIELD_PATH_DEPTH_MAX {
                return Err(FieldsError(format!(
                    "FieldsV1 nests deeper than {FIELD_PATH_DEPTH_MAX} path elements"
                )));
            }
            let element = PathElement::from_fields_v1_key(key)?;
            let Value::Object(inner) = value else {
                return Err(FieldsError(format!(
                    "the value of FieldsV1 key {key:?} is not an object"
                )));
            };
            let node = FieldNode {
                member: inner.is_empty() || inner.contains_key(SELF_KEY),
                below: FieldSet::decode(inner, depth + 1)?,
            };
            // Two spellings of one key (`k:{"a":1}`, `k:{ "a": 1 }`) name one element.
            let slot = set.children.entry(element).or_default();
            slot.member |= node.member;
            slot.below.extend(&node.below);
        }
        Ok(set)
    }

    /// The length of the longest path.
    fn depth(&self) -> usize {
        self.children
            .values()
            .map(|node| 1 + node.below.depth())
            .max()
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
// Walks of objects
// ---------------------------------------------------------------------------------------------

/// Where a walk is in an object: the schema of the value here, and the length of the path
/// to it.
#[derive(Clone, Copy)]
struct At {
    schema: FieldSchema,
    depth: usize,
}

impl At {
    fn root(kind: &str) -> At {
        At {
            schema: FieldSchema::of_kind(kind),
            depth: 0,
        }
    }

    fn field(self, name: &str) -> At {
        At {
            schema: self.schema.field(name),
            depth: self.depth + 1,
        }
    }

    /// An element of the list here.
    fn element(self) -> At {
        At {
            schema: self.schema.items(),
            depth: self.depth + 1,
        }
    }

    /// Whether the value here may be walked into: paths below it still fit in a set.
    fn can_descend(self) -> bool {
        self.depth < FIELD_PATH_DEPTH_MAX
    }
}

/// How the value at some path is owned.
enum Shape<'a> {
    /// Field by field.
    Map(&'a Map<String, Value>),
    /// Element by element (an associative list or a set), each with its path element.
    Elements(Vec<(PathElement, &'a Value)>),
    /// Whole: a scalar, an atomic map or list, or a value too deep to walk.
    Leaf,
}

fn shape_of(at: At, value: &Value) -> Shape<'_> {
    if !at.can_descend() {
        return Shape::Leaf;
    }
    match value {
        Value::Object(_) if at.schema.is_atomic_map() => Shape::Leaf,
        Value::Object(fields) => Shape::Map(fields),
        Value::Array(items) => match elements(at, items) {
            Some(Ok(elements)) => Shape::Elements(elements),
            _ => Shape::Leaf,
        },
        _ => Shape::Leaf,
    }
}

/// The elements of the list at `at`, each with its path element; None for an atomic list; or
/// why they cannot be told apart, in structured-merge-diff's words.
fn elements(at: At, items: &[Value]) -> Option<Result<Vec<(PathElement, &Value)>, String>> {
    let list_type = at.schema.list_type();
    if list_type == ListType::Atomic {
        return None;
    }
    let item_schema = at.schema.items();
    let mut seen = BTreeSet::new();
    let mut elements = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let element = element_of(&list_type, item_schema, item)
            .map_err(|why| format!("element {index}: {why}"));
        let element = match element {
            Ok(element) => element,
            Err(why) => return Some(Err(why)),
        };
        if !seen.insert(element.clone()) {
            return Some(Err(format!("duplicate entries for key {element}")));
        }
        elements.push((element, item));
    }
    assert_eq!(elements.len(), items.len(), "every element is named");
    Some(Ok(elements))
}

fn element_of(
    list_type: &ListType,
    item_schema: FieldSchema,
    item: &Value,
) -> Result<PathElement, String> {
    match list_type {
        ListType::Map(keys) => {
            let Value::Object(fields) = item else {
                return Err("associative list elements must be maps".into());
            };
            // The key fields, sorted by name as structured-merge-diff sorts them.
            let mut keys = keys.clone();
            keys.sort_unstable();
            let mut key_fields = Map::new();
            for key in keys {
                let value = match fields.get(key) {
                    Some(value) if is_scalar(value) => value.clone(),
                    Some(_) => return Err(format!("key field \"{key}\" is not a scalar")),
                    None => match item_schema.key_default(key) {
                        Some(default) => Value::from(default),
                        None => {
                            return Err(format!(
                                "associative list with keys has an element that omits key field \"{key}\" (and doesn't have default value)"
                            ))
                        }
                    },
                };
                key_fields.insert(key.to_string(), value);
            }
            Ok(PathElement::Key(Value::Object(key_fields).to_string()))
        }
        ListType::Set if is_scalar(item) => Ok(PathElement::Value(item.to_string())),
        ListType::Set => Err("set elements must be scalars".into()),
        ListType::Atomic => unreachable!("an atomic list has no elements to name"),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Array(_) | Value::Object(_))
}

/// Every field `value`, an object of `kind`, sets: structured-merge-diff's `ToFieldSet`.
/// Scalars and atomic lists are members; a map is not, only the fields in it; each element of
/// an associative list or set is a member, and so are the fields under it.
pub fn fields_of(kind: &str, value: &Value) -> FieldSet {
    assert!(value.is_object(), "objects are JSON objects");
    let mut set = FieldSet::new();
    collect(At::root(kind), value, &mut Vec::new(), &mut set);
    set
}

/// Adds the fields of `value`, found at `path`, to `out`.
fn collect(at: At, value: &Value, path: &mut Vec<PathElement>, out: &mut FieldSet) {
    assert_eq!(
        at.depth,
        path.len(),
        "the walk's depth is its path's length"
    );
    match shape_of(at, value) {
        Shape::Map(fields) => {
            for (name, field) in fields {
                path.push(PathElement::Field(name.clone()));
                collect(at.field(name), field, path, out);
                path.pop();
            }
        }
        Shape::Elements(elements) => {
            for (element, item) in elements {
                path.push(element);
                out.insert(path);
                collect(at.element(), item, path, out);
                path.pop();
            }
        }
        Shape::Leaf if path.is_empty() => {} // the root is not a field
        Shape::Leaf => out.insert(path),
    }
}

/// Checks that every associative list and set of `config`, an applied configuration of
/// `kind`, can be owned element by element; the error names the list and why not.
pub fn check_lists(kind: &str, config: &Value) -> Result<(), String> {
    check_lists_at(At::root(kind), config, &mut Vec::new())
}

fn check_lists_at(at: At, value: &Value, path: &mut Vec<PathElement>) -> Result<(), String> {
    if !at.can_descend() {
        return Ok(());
    }
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                path.push(PathElement::Field(name.clone()));
                check_lists_at(at.field(name), field, path)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            let Some(listed) = elements(at, items) else {
                return Ok(());
            };
            let listed = listed.map_err(|why| format!("{}: {why}", path_text(path)))?;
            for (element, item) in listed {
                path.push(element);
                check_lists_at(at.element(), item, path)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// What changed from `before` to `after`, two versions of one object: structured-merge-diff's
/// `Compare`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Fields only `after` has; for a new list element, the element and the fields under it.
    pub added: FieldSet,
    /// Leaves both have, with different values.
    pub modified: FieldSet,
    /// Fields only `before` has; for a list element gone, the element and the fields under it.
    pub removed: FieldSet,
}

impl Comparison {
    /// What `after` sets differently: added or modified.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }
}

/// Compares two versions of an object of `kind`.
pub fn compare(kind: &str, before: &Value, after: &Value) -> Comparison {
    assert!(
        before.is_object() && after.is_object(),
        "objects are JSON objects"
    );
    let mut comparison = Comparison::default();
    compare_at(
        At::root(kind),
        before,
        after,
        &mut Vec::new(),
        &mut comparison,
    );
    comparison
}

fn compare_at(
    at: At,
    before: &Value,
    after: &Value,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) {
    match (shape_of(at, before), shape_of(at, after)) {
        (Shape::Map(old), Shape::Map(new)) => compare_maps(at, old, new, path, out),
        (Shape::Elements(old), Shape::Elements(new)) => compare_elements(at, &old, &new, path, out),
        (Shape::Leaf, Shape::Leaf) => {
            if before != after {
                out.modified.insert(path);
            }
        }
        // Two lists of which one cannot be walked: both are owned whole.
        _ if before.is_array() && after.is_array() => out.modified.insert(path),
        // The JSON type changed: what was under the path is gone, what is under it now is new.
        _ => {
            collect(at, before, path, &mut out.removed);
            collect(at, after, path, &mut out.added);
        }
    }
}

fn compare_maps(
    at: At,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) {
    for (name, before) in old {
        path.push(PathElement::Field(name.clone()));
        match new.get(name) {
            Some(after) => compare_at(at.field(name), before, after, path, out),
            None => collect(at.field(name), before, path, &mut out.removed),
        }
        path.pop();
    }
    for (name, after) in new.iter().filter(|(name, _)| !old.contains_key(*name)) {
        path.push(PathElement::Field(name.clone()));
        collect(at.field(name), after, path, &mut out.added);
        path.pop();
    }
}

fn compare_elements(
    at: At,
    old: &[(PathElement, &Value)],
    new: &[(PathElement, &Value)],
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) {
    let new_index: BTreeMap<&PathElement, &Value> = new.iter().map(|(e, v)| (e, *v)).collect();
    let old_index: BTreeSet<&PathElement> = old.iter().map(|(element, _)| element).collect();
    for (element, before) in old {
        path.push(element.clone());
        match new_index.get(element) {
            Some(after) => compare_at(at.element(), before, after, path, out),
            None => {
                out.removed.insert(path);
                collect(at.element(), before, path, &mut out.removed);
            }
        }
        path.pop();
    }
    for (element, after) in new
        .iter()
        .filter(|(element, _)| !old_index.contains(element))
    {
        path.push(element.clone());
        out.added.insert(path);
        collect(at.element(), after, path, &mut out.added);
        path.pop();
    }
}

/// `config`, an applied configuration, merged into `live`, both objects of `kind`:
/// structured-merge-diff's `Merge`. Maps merge field by field; associative lists and sets
/// element by element, the elements `config` names in its order and the others where they
/// were; everything else (scalars, atomic lists, a value whose JSON type changes) is `config`'s.
pub fn merge(kind: &str, live: &Value, config: &Value) -> Value {
    assert!(
        live.is_object() && config.is_object(),
        "objects are JSON objects"
    );
    let merged = merge_at(At::root(kind), live, config);
    assert!(merged.is_object(), "two maps merge into a map");
    merged
}

fn merge_at(at: At, live: &Value, config: &Value) -> Value {
    match (shape_of(at, live), shape_of(at, config)) {
        (Shape::Map(old), Shape::Map(new)) => {
            let mut merged = Map::new();
            for (name, value) in old {
                let field = match new.get(name) {
                    Some(applied) => merge_at(at.field(name), value, applied),
                    None => value.clone(),
                };
                merged.insert(name.clone(), field);
            }
            for (name, applied) in new.iter().filter(|(name, _)| !old.contains_key(*name)) {
                merged.insert(name.clone(), applied.clone());
            }
            Value::Object(merged)
        }
        (Shape::Elements(old), Shape::Elements(new)) => {
            Value::Array(merge_elements(at, &old, &new))
        }
        _ => config.clone(),
    }
}

/// Merges two lists element by element, ordered as structured-merge-diff orders them
/// (`mergingWalker.visitListItems`): the shared elements in `config`'s order, each live-only
/// element kept where it was relative to them, each config-only element where `config` has it.
fn merge_elements(
    at: At,
    live: &[(PathElement, &Value)],
    config: &[(PathElement, &Value)],
) -> Vec<Value> {
    let live_index: BTreeMap<&PathElement, &Value> = live.iter().map(|(e, v)| (e, *v)).collect();
    let config_index: BTreeMap<&PathElement, &Value> =
        config.iter().map(|(e, v)| (e, *v)).collect();
    let merge_one =
        |element: &PathElement| match (live_index.get(element), config_index.get(element)) {
            (Some(old), Some(new)) => merge_at(at.element(), old, new),
            (_, Some(new)) => (*new).clone(),
            (Some(old), None) => (*old).clone(),
            (None, None) => unreachable!("an element of one of the lists"),
        };
    let mut shared = config
        .iter()
        .map(|(element, _)| element)
        .filter(|element| live_index.contains_key(element));
    let mut next_shared = shared.next();
    let mut merged_config: BTreeSet<&PathElement> = BTreeSet::new();
    let mut merged = Vec::with_capacity(live.len() + config.len());
    let (mut l, mut r) = (0, 0);
    loop {
        let taken = l + r;
        match (live.get(l).map(|(e, _)| e), config.get(r).map(|(e, _)| e)) {
            (None, None) => break,
            (Some(left), Some(right)) if left == right => {
                merged.push(merge_one(left));
                merged_config.insert(left);
                (l, r) = (l + 1, r + 1);
                next_shared = shared.next();
            }
            // A shared element whose turn in config's order has not come: it is taken then.
            (Some(left), Some(_))
                if config_index.contains_key(left)
                    && next_shared.is_some_and(|next| next != left) =>
            {
                l += 1
            }
            (Some(left), _) if !config_index.contains_key(left) => {
                merged.push(live[l].1.clone());
                l += 1;
            }
            (Some(left), _) if merged_config.contains(left) => l += 1,
            (_, Some(right)) => {
                merged_config.insert(right);
                merged.push(merge_one(right));
                r += 1;
                if next_shared == Some(right) {
                    next_shared = shared.next();
                }
            }
            (Some(_), None) => unreachable!("every config element is merged once config is done"),
        }
        assert!(l + r > taken, "each round takes an element");
    }
    merged
}

/// Removes from `value`, an object of `kind`, every member of `set` with everything under it;
/// paths `value` does not have are skipped. structured-merge-diff's `RemoveItems`, except that
/// a map or list emptied by the removal stays, empty.
pub fn remove(kind: &str, value: &mut Value, set: &FieldSet) {
    assert!(value.is_object(), "objects are JSON objects");
    remove_at(At::root(kind), value, set);
}

fn remove_at(at: At, value: &mut Value, set: &FieldSet) {
    match value {
        Value::Object(fields) => {
            for (element, node) in &set.children {
                let PathElement::Field(name) = element else {
                    continue;
                };
                if node.member {
                    fields.remove(name);
                } else if let Some(field) = fields.get_mut(name) {
                    remove_at(at.field(name), field, &node.below);
                }
            }
        }
        Value::Array(items) => {
            let Some(Ok(listed)) = elements(at, items) else {
                return; // an atomic list: a set names no element of it
            };
            let ids: Vec<PathElement> = listed.into_iter().map(|(element, _)| element).collect();
            let mut kept = Vec::with_capacity(items.len());
            for (mut item, id) in std::mem::take(items).into_iter().zip(ids) {
                match set.children.get(&id) {
                    Some(node) if node.member => {}
                    Some(node) => {
                        remove_at(at.element(), &mut item, &node.below);
                        kept.push(item);
                    }
                    None => kept.push(item),
                }
            }
            *items = kept;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    fn keyed(key: &str, value: &str) -> PathElement {
        PathElement::Key(json!({ key: value }).to_string())
    }

    fn nginx_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}
        })
    }

    #[test]
    fn a_deployments_fields_encode_as_kube_encodes_them() {
        let mut config = nginx_deployment();
        config.as_object_mut().unwrap().remove("apiVersion");
        config.as_object_mut().unwrap().remove("kind");
        let encoded = fields_of("Deployment", &config).to_fields_v1();
        // kubectl apply --server-side of this configuration, as kube-apiserver records it.
        let kube = r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#;
        assert_eq!(encoded.to_string(), kube);
        let decoded = FieldSet::from_fields_v1(&encoded).unwrap();
        assert_eq!(decoded, fields_of("Deployment", &config));
    }

    #[test]
    fn sets_atomic_lists_and_paths_print_as_kube_prints_them() {
        let pod = json!({"metadata": {"finalizers": ["a", "b"]},
            "spec": {"containers": [{"name": "c", "args": ["x"], "ports": [{"containerPort": 80}]}]}});
        let set = fields_of("Pod", &pod);
        let printed: Vec<String> = set.paths().iter().map(|p| path_text(p)).collect();
        assert_eq!(
            printed,
            vec![
                ".metadata.finalizers[=\"a\"]",
                ".metadata.finalizers[=\"b\"]",
                ".spec.containers[name=\"c\"]",
                ".spec.containers[name=\"c\"].args",
                ".spec.containers[name=\"c\"].name",
                // The protocol is a key field, TCP when left out, as in kube.
                ".spec.containers[name=\"c\"].ports[containerPort=80,protocol=\"TCP\"]",
                ".spec.containers[name=\"c\"].ports[containerPort=80,protocol=\"TCP\"].containerPort",
            ]
        );
        let encoded = set.to_fields_v1();
        assert_eq!(
            encoded["f:metadata"]["f:finalizers"],
            json!({"v:\"a\"": {}, "v:\"b\"": {}})
        );
        assert_eq!(FieldSet::from_fields_v1(&encoded).unwrap(), set);
    }

    #[test]
    fn the_schemas_list_and_map_types_decide_ownership() {
        // A label selector is atomic: owned as one leaf, as kube records `f:selector: {}`.
        let deployment = json!({"spec": {"selector": {"matchLabels": {"app": "web"}}}});
        let encoded = fields_of("Deployment", &deployment).to_fields_v1();
        assert_eq!(encoded, json!({"f:spec": {"f:selector": {}}}));
        // A service's ports are keyed by port and protocol: DNS's 53/UDP and 53/TCP are two.
        let dns = json!({"spec": {"ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}});
        let encoded = fields_of("Service", &dns).to_fields_v1();
        let ports = encoded["f:spec"]["f:ports"].as_object().unwrap();
        let keys: Vec<&String> = ports.keys().collect();
        assert_eq!(
            keys,
            [
                r#"k:{"port":53,"protocol":"TCP"}"#,
                r#"k:{"port":53,"protocol":"UDP"}"#
            ]
        );
    }

    #[test]
    fn set_algebra() {
        let a = fields_of("ConfigMap", &json!({"data": {"x": "1", "y": "2"}}));
        let b = fields_of("ConfigMap", &json!({"data": {"y": "2", "z": "3"}}));
        let path = |name: &str| vec![field("data"), field(name)];
        assert!(a.union(&b).contains(&path("z")) && a.union(&b).contains(&path("x")));
        assert_eq!(a.intersection(&b).paths(), vec![path("y")]);
        assert_eq!(a.difference(&b).paths(), vec![path("x")]);
        assert!(a.difference(&a).is_empty());
        assert!(a.intersection(&FieldSet::new()).is_empty());
        let named = a.with_named_fields_as_members();
        assert!(named.contains(&[field("data")]) && !a.contains(&[field("data")]));
    }

    #[test]
    fn fields_v1_that_is_not_fields_v1_is_refused() {
        for bad in [
            json!([]),
            json!({".": {}}),
            json!({"x:name": {}}),
            json!({"name": {}}),
            json!({"f:a": 1}),
            json!({"k:[1]": {}}),
            json!({"k:{}": {}}),
            json!({"v:{": {}}),
            json!({"i:-1": {}}),
        ] {
            assert!(FieldSet::from_fields_v1(&bad).is_err(), "{bad}");
        }
        let mut deep = json!({});
        for _ in 0..=FIELD_PATH_DEPTH_MAX {
            deep = json!({ "f:a": deep });
        }
        assert!(FieldSet::from_fields_v1(&deep).is_err());
        let at_limit = deep["f:a"].clone();
        assert!(FieldSet::from_fields_v1(&at_limit).is_ok());
    }

    #[test]
    fn values_nested_too_deep_are_owned_whole() {
        let mut value = json!("leaf");
        for _ in 0..FIELD_PATH_DEPTH_MAX + 10 {
            value = json!({ "a": value });
        }
        let set = fields_of("ConfigMap", &value);
        let paths = set.paths();
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].len(), FIELD_PATH_DEPTH_MAX);
        let encoded = set.to_fields_v1();
        assert_eq!(FieldSet::from_fields_v1(&encoded), Ok(set));
    }

    #[test]
    fn unidentifiable_lists_are_atomic_and_refused_in_configurations() {
        let pod = json!({"spec": {"containers": [{"image": "x"}]}});
        assert_eq!(
            fields_of("Pod", &pod).paths(),
            vec![vec![field("spec"), field("containers")]]
        );
        let error = check_lists("Pod", &pod).unwrap_err();
        assert_eq!(
            error,
            ".spec.containers: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
        );
        let twice = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        assert_eq!(
            check_lists("Pod", &twice).unwrap_err(),
            ".spec.containers: duplicate entries for key [name=\"a\"]"
        );
        assert_eq!(check_lists("Deployment", &nginx_deployment()), Ok(()));
    }

    #[test]
    fn compare_finds_added_modified_and_removed_fields() {
        let before = json!({"spec": {"replicas": 1, "paused": true,
            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
        let after = json!({"spec": {"replicas": 2, "minReadySeconds": 5,
            "template": {"spec": {"containers": [{"name": "a", "image": "z"}, {"name": "c", "image": "y"}]}}}});
        let comparison = compare("Deployment", &before, &after);
        let printed =
            |set: &FieldSet| -> Vec<String> { set.paths().iter().map(|p| path_text(p)).collect() };
        assert_eq!(
            printed(&comparison.modified),
            vec![
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"a\"].image"
            ]
        );
        assert_eq!(
            printed(&comparison.added),
            vec![
                ".spec.minReadySeconds",
                ".spec.template.spec.containers[name=\"c\"]",
                ".spec.template.spec.containers[name=\"c\"].image",
                ".spec.template.spec.containers[name=\"c\"].name",
            ]
        );
        assert_eq!(
            printed(&comparison.removed),
            vec![
                ".spec.paused",
                ".spec.template.spec.containers[name=\"b\"]",
                ".spec.template.spec.containers[name=\"b\"].image",
                ".spec.template.spec.containers[name=\"b\"].name",
            ]
        );
        assert_eq!(
            compare("Deployment", &before, &before),
            Comparison::default()
        );
    }

    #[test]
    fn merge_follows_structured_merge_diff() {
        let live = json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "a", "image": "old", "args": ["1", "2"]}, {"name": "b", "image": "b"}]}});
        let config = json!({"metadata": {"labels": {"c": "3"}, "finalizers": ["y"]},
            "spec": {"containers": [{"name": "c", "image": "c"}, {"name": "a", "image": "new", "args": ["3"]}]}});
        let merged = merge("Pod", &live, &config);
        assert_eq!(merged["metadata"]["labels"], json!({"a": "1", "c": "3"}));
        assert_eq!(merged["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(
            merged["spec"]["containers"],
            json!([
                {"name": "c", "image": "c"},
                {"name": "a", "image": "new", "args": ["3"]},
                {"name": "b", "image": "b"},
            ])
        );
    }

    #[test]
    fn merge_keeps_config_order_for_shared_elements() {
        let live = json!({"spec": {"containers": [{"name": "a"}, {"name": "x"}, {"name": "b"}]}});
        let config = json!({"spec": {"containers": [{"name": "b"}, {"name": "a"}]}});
        let merged = merge("Pod", &live, &config);
        let names: Vec<&str> = merged["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["x", "b", "a"]);
    }

    #[test]
    fn remove_drops_members_with_everything_under_them() {
        let mut pod = json!({"metadata": {"labels": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "a", "image": "x", "args": ["1"]}, {"name": "b"}]}});
        let mut set = FieldSet::new();
        set.insert(&[field("metadata"), field("labels"), field("a")]);
        set.insert(&[field("spec"), field("containers"), keyed("name", "b")]);
        set.insert(&[
            field("spec"),
            field("containers"),
            keyed("name", "a"),
            field("args"),
        ]);
        set.insert(&[field("spec"), field("missing")]);
        remove("Pod", &mut pod, &set);
        assert_eq!(
            pod,
            json!({"metadata": {"labels": {"b": "2"}},
            "spec": {"containers": [{"name": "a", "image": "x"}]}})
        );
    }

    fn arbitrary_object() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(json!(null)),
            (0i64..3).prop_map(|n| json!(n)),
            prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| json!(s)),
        ];
        let names = prop::sample::select(vec![
            "spec",
            "containers",
            "name",
            "finalizers",
            "metadata",
            "env",
            "x",
        ]);
        leaf.prop_recursive(5, 48, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(names.clone().prop_map(str::to_owned), inner, 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
        .prop_map(|value| {
            if value.is_object() {
                value
            } else {
                json!({"spec": value})
            }
        })
    }

    proptest! {
        #[test]
        fn fields_v1_round_trips(value in arbitrary_object()) {
            for kind in ["Pod", "Deployment", "ConfigMap"] {
                let set = fields_of(kind, &value);
                let encoded = set.to_fields_v1();
                prop_assert_eq!(FieldSet::from_fields_v1(&encoded), Ok(set.clone()));
                for path in set.paths() {
                    prop_assert!(set.contains(&path));
                }
            }
        }

        #[test]
        fn merge_and_compare_agree(live in arbitrary_object(), config in arbitrary_object()) {
            let merged = merge("Pod", &live, &config);
            // Merging again changes nothing, and every configured field has config's value.
            prop_assert_eq!(merge("Pod", &merged, &config), merged.clone());
            let changed = compare("Pod", &merged, &merge("Pod", &merged, &config)).changed();
            prop_assert!(changed.is_empty());
            let comparison = compare("Pod", &live, &merged);
            prop_assert!(comparison.removed.difference(&fields_of("Pod", &live)).is_empty());
        }
    }
}
