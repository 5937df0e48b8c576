//! `metadata.managedFields`: which field manager owns which fields of an object, kept on every
//! write as kube-apiserver's field manager keeps it (k8s.io/apimachinery/pkg/util/managedfields),
//! and server-side apply, which merges an applied configuration by those owners.
//!
//! A create, update or non-apply patch is an `Update` by the request's field manager: the
//! fields it adds or changes move to that manager's `Update` entry, away from every other
//! entry, and the fields it removes leave every entry. An apply gives its manager an `Apply`
//! entry holding exactly the configuration's fields; it fails with 409 when it would change a
//! field another manager owns, unless forced (then the field changes hands), and it removes the
//! fields its manager applied last time, no longer applies, and nobody else owns. Entries left
//! with no fields are dropped. The field sets themselves are `managed_fields`.
//!
//! Invariant: every stored list of entries decodes: at most [`APPLY_MANAGERS_MAX`] `Apply` and
//! [`UPDATE_MANAGERS_MAX`] `Update` entries, each with valid FieldsV1.

use serde_json::{json, Value};

use super::api::{ApiError, ApiRequest, Verb};
use super::calls::Call;
use super::object;
use kactor_kube::managed_fields::{self, path_text, Comparison, FieldSet};
use kactor_kube::patch::PatchType;
use kactor_kube::registry::ResourceType;
use kactor_kube::status::Cause;

/// The most `Update` entries an object keeps: kube's `DefaultMaxUpdateManagers`. Past it the
/// oldest are merged into one entry, [`ANCIENT_CHANGES_MANAGER`].
pub const UPDATE_MANAGERS_MAX: usize = 10;

/// The manager the oldest `Update` entries are merged into: kube's.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// The manager kube credits with every field of an object that has no managedFields when it is
/// first applied to, so that the apply does not take them over silently.
pub const BEFORE_FIRST_APPLY_MANAGER: &str = "before-first-apply";

/// The longest field manager name: kube's `FieldManagerMaxLength`.
pub const FIELD_MANAGER_BYTES_MAX: usize = 128;

/// The manager of a write that names none. kube derives one from the User-Agent, which the
/// HTTPS shell does into `ApiRequest::field_manager`; this names writes from clients that
/// send neither (kactor's own components over the mesh).
pub const UNKNOWN_FIELD_MANAGER: &str = "unknown";

/// The most `Apply` entries an object may have: an apply by one more manager is refused (422).
/// kube has no such limit (the object's size bounds it); kactor bounds it so that every write's
/// work on managedFields is bounded.
pub const APPLY_MANAGERS_MAX: usize = 32;

/// The longest managedFields list a client may send; a longer one is ignored, as kube ignores
/// one it cannot decode. Room for every `Apply` and `Update` entry, before the cap on updates.
pub const MANAGED_FIELDS_ENTRIES_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One entry of managedFields.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    /// RFC 3339, seconds, UTC: when the manager last changed a field (or applied).
    time: Option<String>,
    subresource: String,
    fields: FieldSet,
}

/// kube's manager identifier (`BuildManagerIdentifier`): an entry as JSON in
/// `ManagedFieldsEntry`'s field order, without its time and fields, and for an applier
/// without its apiVersion. Conflicts are listed in its order.
#[derive(serde::Serialize)]
struct Identifier<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    manager: &'a str,
    operation: &'a str,
    #[serde(rename = "apiVersion", skip_serializing_if = "str::is_empty")]
    api_version: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    subresource: &'a str,
}

impl Entry {
    /// Whether this is the entry `writer` keeps for `operation`: same manager, operation and
    /// subresource, and for an update the same apiVersion.
    fn belongs_to(&self, writer: &Writer, operation: Operation) -> bool {
        self.manager == writer.manager
            && self.operation == operation
            && self.subresource == writer.subresource
            && (operation == Operation::Apply || self.api_version == writer.api_version)
    }

    fn identifier(&self) -> String {
        let api_version = match self.operation {
            Operation::Apply => "",
            Operation::Update => &self.api_version,
        };
        let identifier = Identifier {
            manager: &self.manager,
            operation: self.operation.as_str(),
            api_version,
            subresource: &self.subresource,
        };
        serde_json::to_string(&identifier).expect("strings serialize")
    }

    /// How a conflict names this manager: kube's `printManager`.
    fn printed(&self) -> String {
        let mut printed = serde_json::to_string(&self.manager).expect("strings serialize");
        if !self.subresource.is_empty() {
            printed.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            printed.push_str(&format!(" using {}", self.api_version));
        }
        printed
    }

    fn decode(value: &Value) -> Result<Entry, String> {
        let text = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("");
        let operation = match text("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err("operation must be `Apply` or `Update`".into()),
        };
        if text("apiVersion").is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        if text("fieldsType") != "FieldsV1" {
            return Err(format!("invalid fieldsType {:?}", text("fieldsType")));
        }
        let fields = match value.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(fields) => FieldSet::from_fields_v1(fields).map_err(|e| e.to_string())?,
        };
        Ok(Entry {
            manager: text("manager").to_string(),
            operation,
            api_version: text("apiVersion").to_string(),
            time: value
                .get("time")
                .and_then(Value::as_str)
                .map(str::to_string),
            subresource: text("subresource").to_string(),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut entry = json!({
            "operation": self.operation.as_str(),
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        for (name, value) in [
            ("manager", self.manager.as_str()),
            ("time", self.time.as_deref().unwrap_or("")),
            ("subresource", self.subresource.as_str()),
        ] {
            if !value.is_empty() {
                entry[name] = value.into();
            }
        }
        entry
    }
}

/// An object's managedFields, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Managers {
    entries: Vec<Entry>,
}

impl Managers {
    /// Reads a managedFields list as kube does (`DecodeManagedFields`): every entry must be
    /// valid; of two entries of one manager identity the later wins.
    fn decode(value: &Value) -> Result<Managers, String> {
        let Value::Array(items) = value else {
            return Err("managedFields is not a list".into());
        };
        if items.len() > MANAGED_FIELDS_ENTRIES_MAX {
            return Err(format!("more than {MANAGED_FIELDS_ENTRIES_MAX} entries"));
        }
        let mut managers = Managers::default();
        for (index, item) in items.iter().enumerate() {
            let entry = Entry::decode(item).map_err(|e| format!("entry {index}: {e}"))?;
            let identifier = entry.identifier();
            managers.entries.retain(|e| e.identifier() != identifier);
            managers.entries.push(entry);
        }
        let applies = managers.count(Operation::Apply);
        if applies > APPLY_MANAGERS_MAX {
            return Err(format!(
                "{applies} Apply entries; at most {APPLY_MANAGERS_MAX}"
            ));
        }
        Ok(managers)
    }

    /// The entries as a managedFields list, in kube's order (`sortEncodedManagedFields`):
    /// appliers first, then oldest first, then by manager, apiVersion and subresource.
    fn encode(&self) -> Option<Value> {
        if self.entries.is_empty() {
            return None;
        }
        let mut sorted: Vec<&Entry> = self.entries.iter().collect();
        sorted.sort_by(|a, b| {
            let order = |e: &Entry| (e.operation, e.time.clone().unwrap_or_default());
            let names = |e: &Entry| {
                (
                    e.manager.clone(),
                    e.api_version.clone(),
                    e.subresource.clone(),
                )
            };
            order(a)
                .cmp(&order(b))
                .then_with(|| names(a).cmp(&names(b)))
        });
        Some(Value::Array(
            sorted.into_iter().map(Entry::encode).collect(),
        ))
    }

    fn count(&self, operation: Operation) -> usize {
        self.entries
            .iter()
            .filter(|e| e.operation == operation)
            .count()
    }

    /// The index of `writer`'s entry for `operation`, made (empty) if it has none.
    fn slot(&mut self, writer: &Writer, operation: Operation) -> usize {
        if let Some(index) = self
            .entries
            .iter()
            .position(|e| e.belongs_to(writer, operation))
        {
            return index;
        }
        self.entries.push(Entry {
            manager: writer.manager.clone(),
            operation,
            api_version: writer.api_version.clone(),
            time: None,
            subresource: writer.subresource.clone(),
            fields: FieldSet::new(),
        });
        self.entries.len() - 1
    }

    /// The fields of every entry.
    fn owned(&self) -> FieldSet {
        let mut owned = FieldSet::new();
        for entry in &self.entries {
            owned.extend(&entry.fields);
        }
        owned
    }

    fn drop_empty(&mut self) {
        self.entries.retain(|entry| !entry.fields.is_empty());
    }

    /// Merges the oldest `Update` entries into [`ANCIENT_CHANGES_MANAGER`]'s entry of their
    /// apiVersion until at most [`UPDATE_MANAGERS_MAX`] are left: kube's `capManagersManager`.
    fn cap_updates(&mut self) {
        // A round either merges two entries into one or turns one into its version's bucket,
        // which happens at most once per entry.
        let rounds_max = 2 * self.entries.len() + 1;
        for _ in 0..rounds_max {
            let mut updates: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].operation == Operation::Update)
                .collect();
            if updates.len() <= UPDATE_MANAGERS_MAX {
                return;
            }
            updates.sort_by_key(|&i| (self.entries[i].time.clone(), self.entries[i].identifier()));
            self.merge_oldest(&updates);
        }
        assert!(
            self.count(Operation::Update) <= UPDATE_MANAGERS_MAX,
            "the cap holds"
        );
    }

    /// Merges the oldest of `updates` (indices, oldest first) that is not a bucket into its
    /// version's bucket, made if missing. When every update is a bucket (of as many apiVersions,
    /// which only a client's list can hold), the oldest merges into the next oldest.
    fn merge_oldest(&mut self, updates: &[usize]) {
        assert!(updates.len() > 1, "only past the cap");
        let is_bucket =
            |e: &Entry| e.manager == ANCIENT_CHANGES_MANAGER && e.subresource.is_empty();
        let oldest = updates
            .iter()
            .copied()
            .find(|&i| !is_bucket(&self.entries[i]))
            .unwrap_or(updates[0]);
        let version = self.entries[oldest].api_version.clone();
        let target = match is_bucket(&self.entries[oldest]) {
            true => updates.iter().copied().find(|&i| i != oldest),
            false => (0..self.entries.len()).find(|&i| {
                self.entries[i].operation == Operation::Update
                    && is_bucket(&self.entries[i])
                    && self.entries[i].api_version == version
            }),
        };
        let merged = self.entries.remove(oldest);
        match target.map(|i| if i > oldest { i - 1 } else { i }) {
            Some(bucket) => {
                let bucket = &mut self.entries[bucket];
                bucket.fields.extend(&merged.fields);
                bucket.time = merged.time.max(bucket.time.take());
            }
            None => self.entries.push(Entry {
                manager: ANCIENT_CHANGES_MANAGER.into(),
                subresource: String::new(),
                ..merged
            }),
        }
    }
}

/// What of an object a write may own: kube's reset fields (a subresource's strategy resets
/// everything else, the main resource's resets the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tracked {
    Everything,
    AllButStatus,
    OnlyStatus,
}

/// Who writes, as a managedFields entry names it, and when.
pub(crate) struct Writer {
    pub resource: &'static ResourceType,
    pub manager: String,
    pub api_version: String,
    pub subresource: String,
    /// RFC 3339, seconds, UTC, from the request's stamp.
    pub time: String,
    pub tracked: Tracked,
}

pub(crate) fn writer_of(call: &Call) -> Writer {
    let resource = call.resource;
    let subresource = call.subresource().unwrap_or("").to_string();
    let tracked = match subresource.as_str() {
        "status" => Tracked::OnlyStatus,
        "" if super::admission::status_is_reset(resource) => Tracked::AllButStatus,
        _ => Tracked::Everything,
    };
    let manager = match call.request.field_manager.as_str() {
        "" => UNKNOWN_FIELD_MANAGER,
        named => named,
    };
    Writer {
        resource,
        manager: manager.to_string(),
        api_version: resource.api_version(),
        subresource,
        time: kactor_kube::time::timestamp(call.stamp.unix_ms),
        tracked,
    }
}

/// Top-level fields no manager owns: kube's stripMeta.
const UNTRACKED_ROOT: &[&str] = &["apiVersion", "kind"];

/// Metadata no manager owns: kube's stripMeta, plus the deletion fields, which kactor's server
/// sets outside any write a manager makes.
const UNTRACKED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The part of an object the writer may own.
fn tracked_view(value: &Value, tracked: Tracked) -> Value {
    let mut view = value.clone();
    let root = view.as_object_mut().expect("objects are JSON objects");
    for field in UNTRACKED_ROOT {
        root.remove(*field);
    }
    if let Some(Value::Object(meta)) = root.get_mut("metadata") {
        for field in UNTRACKED_METADATA {
            meta.remove(*field);
        }
    }
    match tracked {
        Tracked::Everything => {}
        Tracked::AllButStatus => {
            root.remove("status");
        }
        Tracked::OnlyStatus => root.retain(|name, _| name == "status"),
    }
    view
}

fn managed_fields_of(value: &Value) -> Option<&Value> {
    value
        .get("metadata")?
        .get("managedFields")
        .filter(|v| !v.is_null())
}

/// The entries a write starts from: kube's `decodeManagedFields`. A client may set them: an
/// empty list, or one empty entry, resets them; a list that decodes replaces them; anything
/// else (nothing sent, a list that does not decode) leaves the live object's.
fn baseline(live: &Value, sent: Option<&Value>) -> Managers {
    if let Some(sent) = sent.filter(|sent| !sent.is_null()) {
        let reset = match sent.as_array().map(Vec::as_slice) {
            Some([]) => true,
            Some([only]) => only.as_object().is_some_and(|entry| entry.is_empty()),
            _ => false,
        };
        if reset {
            return Managers::default();
        }
        if let Ok(managers) = Managers::decode(sent) {
            if !managers.entries.is_empty() {
                return managers;
            }
        }
    }
    managed_fields_of(live)
        .and_then(|entries| Managers::decode(entries).ok())
        .unwrap_or_default()
}

/// Records an `Update` by `writer` that turned `live` (with its managedFields; `{}` for a
/// create) into `new` (without), and gives `new` its managedFields. `sent` is the managedFields
/// the client sent, None for a subresource write: kube never takes them from one.
pub(crate) fn record_update(writer: &Writer, live: &Value, new: &mut Value, sent: Option<&Value>) {
    let mut managers = baseline(live, sent);
    let kind = writer.resource.kind;
    let comparison = managed_fields::compare(
        kind,
        &tracked_view(live, writer.tracked),
        &tracked_view(new, writer.tracked),
    );
    let changed = comparison.changed();
    for entry in &mut managers.entries {
        entry.fields = entry
            .fields
            .difference(&changed)
            .difference(&comparison.removed);
    }
    if !changed.is_empty() {
        let slot = managers.slot(writer, Operation::Update);
        let entry = &mut managers.entries[slot];
        entry.fields.extend(&changed);
        entry.time = Some(writer.time.clone());
    }
    managers.drop_empty();
    managers.cap_updates();
    assert!(
        managers.count(Operation::Apply) <= APPLY_MANAGERS_MAX,
        "an update adds no applier"
    );
    attach(live, new, managers);
}

/// An apply's outcome: the object (without managedFields, before defaulting and validation)
/// and its entries.
pub(crate) struct Applied {
    pub object: Value,
    pub managers: Managers,
}

/// Applies `config`, an applied configuration already read by `patch::parse_apply_
/// configuration`, to `live` (`{}` when the object does not exist) by `writer`: structured-
/// merge-diff's `Updater.Apply`, behind kube's field manager.
pub(crate) fn apply(
    writer: &Writer,
    live: &Value,
    config: &Value,
    force: bool,
) -> Result<Applied, ApiError> {
    check_configuration(writer, config)?;
    let mut managers = match managed_fields_of(live) {
        None => Managers::default(),
        Some(entries) => Managers::decode(entries)
            .map_err(|e| ApiError::internal(format!("failed to decode managed fields: {e}")))?,
    };
    let mut before = live.clone();
    object::metadata_mut(&mut before).remove("managedFields");
    let kind = writer.resource.kind;
    if managers.entries.is_empty() {
        credit_existing_fields(writer, &before, &mut managers);
    }
    let applied = managed_fields::fields_of(kind, &tracked_view(config, writer.tracked));
    let slot = managers.slot(writer, Operation::Apply);
    let previous = std::mem::replace(&mut managers.entries[slot].fields, applied);
    managers.entries[slot].time = Some(writer.time.clone());
    let mut after = managed_fields::merge(kind, &before, config);
    prune(kind, &mut after, &previous, &managers);
    let comparison = managed_fields::compare(
        kind,
        &tracked_view(&before, writer.tracked),
        &tracked_view(&after, writer.tracked),
    );
    take_ownership(writer, &mut managers, &comparison, force)?;
    managers.drop_empty();
    if managers.count(Operation::Apply) > APPLY_MANAGERS_MAX {
        return Err(too_many_appliers(writer, &after));
    }
    Ok(Applied {
        object: after,
        managers,
    })
}

/// kube's `skipNonAppliedManager`: the first apply to an object without managedFields credits
/// its fields to [`BEFORE_FIRST_APPLY_MANAGER`] first.
fn credit_existing_fields(writer: &Writer, live: &Value, managers: &mut Managers) {
    assert!(
        managers.entries.is_empty(),
        "only an object without managedFields"
    );
    let fields =
        managed_fields::fields_of(writer.resource.kind, &tracked_view(live, writer.tracked));
    if fields.is_empty() {
        return; // a new object
    }
    managers.entries.push(Entry {
        manager: BEFORE_FIRST_APPLY_MANAGER.into(),
        operation: Operation::Update,
        api_version: writer.api_version.clone(),
        time: Some(writer.time.clone()),
        subresource: String::new(),
        fields,
    });
}

/// Removes from `merged` what the applier applied last time (`previous`) and no longer does,
/// unless another manager owns it: structured-merge-diff's `prune`. A field owned by someone
/// keeps the fields above it; a list element owned by no one goes with what is under it.
fn prune(kind: &str, merged: &mut Value, previous: &FieldSet, managers: &Managers) {
    if previous.is_empty() {
        return;
    }
    let owned = managers.owned().with_named_fields_as_members();
    let dropped = previous.with_named_fields_as_members().difference(&owned);
    managed_fields::remove(kind, merged, &dropped);
}

/// Moves the fields an apply changes to the applier: without `force`, a changed field another
/// manager owns is a conflict; with it, that manager loses the field. Fields the apply removed
/// leave every other manager.
fn take_ownership(
    writer: &Writer,
    managers: &mut Managers,
    comparison: &Comparison,
    force: bool,
) -> Result<(), ApiError> {
    let changed = comparison.changed();
    let mine = managers
        .entries
        .iter()
        .position(|e| e.belongs_to(writer, Operation::Apply));
    assert!(mine.is_some(), "the applier has an entry");
    let mut conflicts = Vec::new();
    for (index, entry) in managers.entries.iter().enumerate() {
        let clash = entry.fields.intersection(&changed);
        if Some(index) != mine && !clash.is_empty() {
            conflicts.push((index, clash));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflict_error(managers, &conflicts));
    }
    for (index, clash) in conflicts {
        let entry = &mut managers.entries[index];
        entry.fields = entry.fields.difference(&clash);
    }
    for (index, entry) in managers.entries.iter_mut().enumerate() {
        if Some(index) != mine {
            entry.fields = entry.fields.difference(&comparison.removed);
        }
    }
    Ok(())
}

/// kube's apply conflict (`NewConflictError`): 409 Conflict, one cause per field, and a
/// message that lists the fields by manager.
fn conflict_error(managers: &Managers, conflicts: &[(usize, FieldSet)]) -> ApiError {
    let mut by_manager: Vec<(String, String, Vec<String>)> = conflicts
        .iter()
        .map(|(index, clash)| {
            let entry = &managers.entries[*index];
            let paths = clash.paths().iter().map(|path| path_text(path)).collect();
            (entry.identifier(), entry.printed(), paths)
        })
        .collect();
    by_manager.sort();
    let count: usize = by_manager.iter().map(|(_, _, paths)| paths.len()).sum();
    assert!(count > 0, "a conflict names a field");
    let message = match by_manager.as_slice() {
        [(_, manager, paths)] if count == 1 => {
            format!(
                "Apply failed with 1 conflict: conflict with {manager}: {}",
                paths[0]
            )
        }
        _ => {
            let mut lines = Vec::with_capacity(count + by_manager.len());
            for (_, manager, paths) in &by_manager {
                lines.push(format!("conflicts with {manager}:"));
                lines.extend(paths.iter().map(|path| format!("- {path}")));
            }
            format!("Apply failed with {count} conflicts: {}", lines.join("\n"))
        }
    };
    let mut error = ApiError::new(409, "Conflict", message);
    for (_, manager, paths) in &by_manager {
        error.details.causes.extend(paths.iter().map(|path| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {manager}"),
            field: path.clone(),
        }));
    }
    error
}

fn too_many_appliers(writer: &Writer, object: &Value) -> ApiError {
    let cause = Cause {
        reason: "FieldValueTooMany".into(),
        message: format!(
            "Too many: {}: must have at most {APPLY_MANAGERS_MAX} field managers that apply",
            APPLY_MANAGERS_MAX + 1
        ),
        field: "metadata.managedFields".into(),
    };
    let resource = writer.resource;
    ApiError::invalid(
        resource.group,
        resource.kind,
        object::name(object),
        vec![cause],
    )
}

/// `group/version, Kind=kind`, as Go prints a GroupVersionKind.
fn group_version_kind(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

/// What kube refuses in an applied configuration, with its words: the wrong type, managedFields,
/// a list whose elements cannot be told apart, a field the kind does not have. kube answers 500
/// for the last two (an unclassified error); they are the client's fault, so kactor says 400.
fn check_configuration(writer: &Writer, config: &Value) -> Result<(), ApiError> {
    let resource = writer.resource;
    if writer.subresource == "scale" {
        return Err(ApiError::bad_request(
            "kactor does not serve server-side apply on the scale subresource".into(),
        ));
    }
    let api_version = config["apiVersion"].as_str().unwrap_or("");
    let kind = config["kind"].as_str().unwrap_or("");
    if api_version != writer.api_version || kind != resource.kind {
        let given = group_version_kind(api_version, kind);
        return Err(ApiError::bad_request(format!(
            "invalid object type: {given}"
        )));
    }
    if config["metadata"].get("managedFields").is_some() {
        return Err(ApiError::bad_request(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let typed = |problem: String| {
        let expected = group_version_kind(&writer.api_version, resource.kind);
        ApiError::bad_request(format!(
            "failed to create typed patch object ({expected}): {problem}"
        ))
    };
    managed_fields::check_lists(resource.kind, config).map_err(typed)?;
    let shaped = object::shape(resource, config.clone()).map_err(typed)?;
    let unknown = managed_fields::fields_of(resource.kind, config)
        .difference(&managed_fields::fields_of(resource.kind, &shaped));
    if let Some(path) = unknown.paths().first() {
        return Err(typed(format!(
            "{}: field not declared in schema",
            path_text(path)
        )));
    }
    Ok(())
}

/// Writes `managers` into `new` as its managedFields, or none when no entry is left. When the
/// write changes nothing but entries' times, `live`'s entries stay as they were (kube's
/// `IgnoreManagedFieldsTimestampsTransformer`), so a repeated apply is a no-op that keeps the
/// resourceVersion.
pub(crate) fn attach(live: &Value, new: &mut Value, managers: Managers) {
    let mut encoded = managers.encode();
    if let (Some(now), Some(before)) = (&encoded, managed_fields_of(live)) {
        if same_but_times(now, before) && same_but_managed_fields(live, new) {
            encoded = Some(before.clone());
        }
    }
    let meta = object::metadata_mut(new);
    match encoded {
        Some(entries) => meta.insert("managedFields".into(), entries),
        None => meta.remove("managedFields"),
    };
}

fn same_but_times(now: &Value, before: &Value) -> bool {
    let timeless = |entries: &Value| -> Vec<String> {
        let mut texts: Vec<String> = entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let mut entry = entry.clone();
                if let Some(fields) = entry.as_object_mut() {
                    fields.remove("time");
                }
                entry.to_string()
            })
            .collect();
        texts.sort();
        texts
    };
    timeless(now) == timeless(before)
}

fn same_but_managed_fields(live: &Value, new: &Value) -> bool {
    let strip = |value: &Value| {
        let mut value = value.clone();
        let meta = object::metadata_mut(&mut value);
        meta.remove("managedFields");
        meta.remove("resourceVersion");
        value
    };
    strip(live) == strip(new)
}

/// kube's checks of the write options kactor reads (`ValidateCreateOptions`,
/// `ValidateUpdateOptions`, `ValidatePatchOptions`): a field manager of at most
/// [`FIELD_MANAGER_BYTES_MAX`] printable characters, one required for an apply, and `force`
/// only on an apply. 422 on the options kind, as kube answers.
pub(crate) fn check_options(request: &ApiRequest) -> Result<(), ApiError> {
    let options = match request.verb {
        Verb::Create => "CreateOptions",
        Verb::Update => "UpdateOptions",
        Verb::Patch(_) => "PatchOptions",
        _ => return Ok(()),
    };
    let apply = request.verb == Verb::Patch(PatchType::Apply);
    let manager = request.field_manager.as_str();
    let mut causes = Vec::new();
    if apply && manager.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value: is required for apply patch".into(),
            field: "fieldManager".into(),
        });
    }
    if !apply && request.force && matches!(request.verb, Verb::Patch(_)) {
        causes.push(Cause::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    if manager.len() > FIELD_MANAGER_BYTES_MAX {
        causes.push(Cause::too_long("fieldManager", FIELD_MANAGER_BYTES_MAX));
    } else if let Some((at, bad)) = manager.char_indices().find(|(_, c)| !is_printable(*c)) {
        let detail = format!("invalid character {bad:?} (at position {at})");
        causes.push(Cause::invalid(
            "fieldManager",
            &format!("{manager:?}"),
            &detail,
        ));
    }
    if causes.is_empty() {
        return Ok(());
    }
    let mut error = ApiError::invalid("meta.k8s.io", options, "", causes);
    let plain = format!("{options} \"\" is invalid: ");
    let summary = error.message.strip_prefix(&plain).unwrap_or("").to_string();
    error.message = format!("{options}.meta.k8s.io \"\" is invalid: {summary}");
    Err(error)
}

/// Go's `unicode.IsPrint`, near enough: no control characters and no space but ' '.
fn is_printable(c: char) -> bool {
    !c.is_control() && (c == ' ' || !c.is_whitespace())
}
