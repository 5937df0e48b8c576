//! One API call's progress through the store: the steps of each verb, as a small state
//! machine per call. Every write is a compare-and-swap transaction on the object's
//! revision (its resourceVersion), so concurrent read-modify-writes never lose an update.

use std::collections::BTreeSet;

use serde_json::Value;

use super::actor::{CallId, Gateway, Purpose};
use super::admission;
use super::allocation;
use super::api::*;
use super::object;
use super::ownership;
use super::rbac;
use super::reviews;
use super::serve;
use super::tokens;
use crate::kernel::Outbox;
use crate::raft::ClientRequest;
use crate::store::{
    Compare, CompareResult, CompareTarget, DeleteRequest, KeySpan, KeyValue, PutRequest,
    RangeRequest, Revision, StoreCommand, StoreOutput, StoreQuery, TxnOp, TxnOpResponse,
    TxnRequest,
};
use kactor_kube::patch::{self, PatchType};
use kactor_kube::registry::{by_plural, ResourceType};

/// Where a call is: what it waits for next.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Step {
    Start,
    /// A linearizable read of the addressed object.
    ReadObject,
    /// A linearizable read of the store's revision (a consistent list or watch).
    ReadRevision,
    /// The cache must reach `revision` before the call is served from it.
    AwaitCache {
        revision: Revision,
    },
    /// A continued list page, read from the store at the first page's revision.
    ReadPage,
    /// The namespace of a new object, which the cache has not seen.
    ReadNamespace {
        object: Vec<u8>,
    },
    /// The quotas of the namespace: `object` is being created, or `existing` deleted.
    ReadQuotas {
        object: Option<Vec<u8>>,
        existing: Option<KeyValue>,
    },
    /// The transaction's outcome. `written` is what was put (None for a delete).
    Commit {
        written: Option<Vec<u8>>,
        existing: Option<KeyValue>,
        created: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Call {
    pub caller: Caller,
    pub user: User,
    pub stamp: Stamp,
    pub request: ApiRequest,
    pub resource: &'static ResourceType,
    pub step: Step,
    /// Compare-and-swap races lost so far.
    pub conflicts: u32,
    /// Ticks spent in `AwaitCache`.
    pub waited_ticks: u32,
    /// What the caller hears with a success (e.g. unknown fields dropped under `Warn`).
    pub warnings: Warnings,
    /// The keys of the service addresses the gateway picked for this attempt (see
    /// `allocation`): one another writer took first is picked again.
    pub chosen_addresses: BTreeSet<Vec<u8>>,
}

impl Call {
    pub fn new(
        caller: Caller,
        request: ApiRequest,
        user: User,
        stamp: Stamp,
    ) -> Result<Call, ApiError> {
        let path = &request.path;
        let resource = by_plural(&path.group, &path.plural).ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                format!(
                    "the server could not find the requested resource ({})",
                    path.plural
                ),
            )
        })?;
        if request.body.len() > REQUEST_BODY_BYTES_MAX {
            return Err(ApiError::new(
                413,
                "RequestEntityTooLarge",
                format!("request body is larger than {REQUEST_BODY_BYTES_MAX} bytes"),
            ));
        }
        if resource.namespaced != path.namespace.is_some()
            && !matches!(
                request.verb,
                Verb::List | Verb::Watch | Verb::DeleteCollection
            )
        {
            let detail = if resource.namespaced {
                "a namespace is required"
            } else {
                "the resource is not namespaced"
            };
            return Err(ApiError::bad_request(format!(
                "{}: {detail}",
                resource.plural
            )));
        }
        if let Some(sub) = &path.subresource {
            if !resource.subresources.contains(&sub.as_str()) {
                return Err(ApiError::new(
                    404,
                    "NotFound",
                    format!("{}/{sub} is not served", resource.plural),
                ));
            }
        }
        ownership::check_options(&request)?;
        Ok(Call {
            caller,
            user,
            stamp,
            request,
            resource,
            step: Step::Start,
            conflicts: 0,
            waited_ticks: 0,
            warnings: Warnings::default(),
            chosen_addresses: BTreeSet::new(),
        })
    }

    pub fn name(&self) -> &str {
        self.request.path.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.request.path.namespace.as_deref()
    }

    pub fn key(&self) -> Vec<u8> {
        object::object_key(self.resource, self.namespace(), self.name())
    }

    pub fn subresource(&self) -> Option<&str> {
        self.request.path.subresource.as_deref()
    }

    pub fn not_found(&self) -> ApiError {
        ApiError::not_found(self.resource.group, self.resource.plural, self.name())
    }

    pub fn conflict(&self) -> ApiError {
        ApiError::conflict(self.resource.group, self.resource.plural, self.name())
    }

    /// Whether this call creates its object when it does not exist: an apply to the main
    /// resource, as kube-apiserver does.
    pub fn creates_when_missing(&self) -> bool {
        self.request.verb == Verb::Patch(PatchType::Apply) && self.subresource().is_none()
    }
}

/// What one call step decided.
pub(crate) enum Next {
    /// Ask the store, and wait in `step`.
    Store(ClientRequest<crate::store::Mvcc>, Step),
    /// Wait for the cache.
    Await(Revision),
    Done(ApiOutcome),
}

pub(crate) fn read_key(key: Vec<u8>) -> ClientRequest<crate::store::Mvcc> {
    ClientRequest::Read(StoreQuery::Range(RangeRequest::latest(KeySpan::Key(key))))
}

fn cas(key: &[u8], result: CompareResult, target: CompareTarget) -> Compare {
    Compare {
        key: key.to_vec(),
        result,
        target,
    }
}

pub(crate) fn put_op(key: Vec<u8>, value: Vec<u8>) -> TxnOp {
    TxnOp::Put(PutRequest {
        key,
        value,
        lease: 0,
        prev_kv: false,
    })
}

/// A write to another key in an object's transaction, made only if that key is still at
/// `mod_revision` (0: absent): a quota's new usage, or a service address claimed.
pub(crate) struct GuardedWrite {
    pub key: Vec<u8>,
    pub mod_revision: Revision,
    pub value: Vec<u8>,
}

/// A transaction that applies `ops` only if `key` is at `mod_revision` (0: absent) and
/// every side write's key is unchanged; otherwise it reads `key` and those keys back.
pub(crate) fn guarded_txn(
    key: &[u8],
    mod_revision: Revision,
    ops: Vec<TxnOp>,
    side_writes: &[GuardedWrite],
) -> ClientRequest<crate::store::Mvcc> {
    let mut compare = vec![cas(
        key,
        CompareResult::Equal,
        CompareTarget::ModRevision(mod_revision),
    )];
    let mut success = ops;
    let read = |key: &[u8]| TxnOp::Range(RangeRequest::latest(KeySpan::Key(key.to_vec())));
    // On failure: the object, then each guarded key, to tell what changed.
    let mut failure = vec![read(key)];
    for guarded in side_writes {
        let unchanged = CompareTarget::ModRevision(guarded.mod_revision);
        compare.push(cas(&guarded.key, CompareResult::Equal, unchanged));
        success.push(put_op(guarded.key.clone(), guarded.value.clone()));
        failure.push(read(&guarded.key));
    }
    ClientRequest::Command(StoreCommand::Txn(TxnRequest {
        compare,
        success,
        failure,
    }))
}

pub(crate) fn delete_op(key: Vec<u8>) -> TxnOp {
    TxnOp::Delete(DeleteRequest {
        span: KeySpan::Key(key),
        prev_kv: false,
    })
}

/// A write's claims of service addresses and its releases (nothing for other kinds).
fn addresses(
    call: &Call,
    old: Option<&Value>,
    new: Option<&Value>,
) -> (Vec<GuardedWrite>, Vec<TxnOp>) {
    match call.resource.kind {
        "Service" => allocation::claims(old, new, &call.key()),
        _ => (Vec::new(), Vec::new()),
    }
}

/// Service addresses a write claimed that another service held first.
struct LostAddresses {
    taken: Vec<Vec<u8>>,
    /// The object the write would have made.
    written: Option<Vec<u8>>,
}

/// The object a failed guarded transaction read back.
pub(crate) fn read_back(responses: &[TxnOpResponse]) -> Option<KeyValue> {
    match responses.first() {
        Some(TxnOpResponse::Range(range)) => range.kvs.first().cloned(),
        _ => None,
    }
}

impl Gateway {
    /// Runs a call from its current step until it waits for something.
    pub(crate) fn run_call(&mut self, id: CallId, out: &mut Outbox<Self>) {
        let Some(mut call) = self.take_call(id) else {
            return;
        };
        let next = match call.step {
            Step::Start => self.start(&mut call),
            Step::AwaitCache { revision } => self.serve_cached(&mut call, revision),
            _ => unreachable!("a call waiting for the store is not run"),
        };
        self.follow(id, call, next, out);
    }

    /// Continues a call with the store's answer.
    pub(crate) fn advance_call(&mut self, id: CallId, output: StoreOutput, out: &mut Outbox<Self>) {
        let Some(mut call) = self.take_call(id) else {
            return;
        };
        let next = match output {
            StoreOutput::Error(error) => Ok(Next::Done(ApiOutcome::Err(store_error(error)))),
            output => self.on_output(&mut call, output),
        };
        self.follow(id, call, next, out);
    }

    fn follow(
        &mut self,
        id: CallId,
        mut call: Call,
        next: Result<Next, ApiError>,
        out: &mut Outbox<Self>,
    ) {
        match next.unwrap_or_else(|e| Next::Done(ApiOutcome::Err(e))) {
            Next::Store(body, step) => {
                call.step = step;
                self.put_call(id, call);
                self.store_request(Purpose::Call(id), body, out);
            }
            Next::Await(revision) => {
                call.step = Step::AwaitCache { revision };
                let feed = self.feed_of(call.resource);
                self.put_call(id, call);
                let Some(feed) = feed else { return };
                let cache = &self.feeds[feed].cache;
                if cache.synced() && cache.revision() >= revision {
                    return self.run_call(id, out); // no wait needed: serve now
                }
                self.request_progress(feed, out);
            }
            Next::Done(ApiOutcome::Watching) => {
                let caller = call.caller;
                self.reply(caller, ApiOutcome::Watching, out);
                self.begin_watch(call, out);
            }
            Next::Done(mut outcome) => {
                if let ApiOutcome::Ok { warnings, .. } = &mut outcome {
                    *warnings = std::mem::take(&mut call.warnings);
                }
                self.reply(call.caller, outcome, out)
            }
        }
        self.run_deferred(out);
    }

    fn start(&mut self, call: &mut Call) -> Result<Next, ApiError> {
        rbac::authorize(self, call)?;
        let verb = call.request.verb;
        if call.resource.is_review() {
            return match (verb, call.subresource()) {
                (Verb::Create, None) => reviews::answer(self, call),
                _ => Err(ApiError::method_not_allowed(format!(
                    "{} is not supported on {}",
                    verb.rbac_name(),
                    call.resource.plural
                ))),
            };
        }
        match (verb, call.subresource()) {
            (Verb::Get, _) | (Verb::Update, _) | (Verb::Patch(_), _) | (Verb::Delete, None) => {
                Ok(Next::Store(read_key(call.key()), Step::ReadObject))
            }
            (Verb::Create, Some("binding" | "eviction" | "token")) => {
                Ok(Next::Store(read_key(call.key()), Step::ReadObject))
            }
            (Verb::Create, None) => self.begin_create(call),
            (Verb::List | Verb::Watch | Verb::DeleteCollection, None) => {
                serve::begin_read(self, call)
            }
            _ => Err(ApiError::method_not_allowed(format!(
                "{} is not supported on {}",
                verb.rbac_name(),
                call.resource.plural
            ))),
        }
    }

    fn on_output(&mut self, call: &mut Call, output: StoreOutput) -> Result<Next, ApiError> {
        match (std::mem::replace(&mut call.step, Step::Start), output) {
            (Step::ReadObject, StoreOutput::Range(range)) => match range.kvs.into_iter().next() {
                None if call.creates_when_missing() => {
                    rbac::authorize_verb(self, call, "create")?;
                    self.begin_create(call)
                }
                None => Err(call.not_found()),
                Some(kv) => self.on_existing(call, kv),
            },
            (Step::ReadRevision, StoreOutput::Header { revision, .. }) => Ok(Next::Await(revision)),
            (Step::ReadPage, StoreOutput::Range(range)) => {
                serve::page_from_store(self, call, range)
            }
            (Step::ReadNamespace { object }, StoreOutput::Range(range)) => {
                let namespace = range.kvs.first().map(|kv| self.value_of(kv)).transpose()?;
                admission::check_namespace(call, namespace.as_ref())?;
                Ok(self.read_quotas(call, Some(object), None))
            }
            (Step::ReadQuotas { object, existing }, StoreOutput::Range(range)) => {
                self.commit_with_quotas(call, object, existing, range.kvs)
            }
            (
                Step::Commit {
                    written,
                    existing,
                    created,
                },
                StoreOutput::Txn {
                    revision,
                    succeeded,
                    responses,
                },
            ) => {
                if succeeded {
                    return self.committed(call, written, existing, created, revision);
                }
                let taken = allocation::taken(&responses);
                if !taken.is_empty() {
                    let lost = LostAddresses { taken, written };
                    return self.lost_addresses(call, lost, read_back(&responses), created);
                }
                self.lost_race(call, existing, read_back(&responses), created)
            }
            (step, output) => Err(ApiError::internal(format!(
                "unexpected store output {output:?} at {step:?}"
            ))),
        }
    }

    /// The JSON value of a stored object, with its resourceVersion.
    pub(crate) fn value_of(&self, kv: &KeyValue) -> Result<Value, ApiError> {
        let cached = self.decode(kv).map_err(ApiError::internal)?;
        serde_json::from_slice(&cached.json).map_err(|e| ApiError::internal(e.to_string()))
    }

    fn on_existing(&mut self, call: &mut Call, kv: KeyValue) -> Result<Next, ApiError> {
        let current = self.value_of(&kv)?;
        match (call.request.verb, call.subresource()) {
            (Verb::Get, Some("scale")) => ok(200, &admission::scale_of(&current)),
            (Verb::Get, _) => ok(200, &current),
            (Verb::Delete, _) => self.delete_existing(call, kv, current),
            (Verb::Create, Some("token")) => {
                let request = object::parse(&call.request.body)?;
                let key = &self.config.service_account_key;
                ok(201, &tokens::issue(key, &current, &request, call.stamp)?)
            }
            (Verb::Create, Some("eviction")) => {
                call.request.verb = Verb::Delete;
                call.request.path.subresource = None;
                self.delete_existing(call, kv, current)
            }
            _ => {
                let updated = self.updated(call, &current)?;
                self.write_update(call, kv, &current, updated)
            }
        }
    }

    /// The object an update, patch, status, scale or binding call makes of `current`, with its
    /// managedFields. The call keeps the warnings for its caller.
    fn updated(&self, call: &mut Call, current: &Value) -> Result<Value, ApiError> {
        let body = &call.request.body;
        let writer = ownership::writer_of(call);
        let (proposed, applied) = match (call.request.verb, call.subresource()) {
            (Verb::Patch(PatchType::Apply), _) => {
                let config =
                    patch::parse_apply_configuration(body).map_err(admission::patch_error)?;
                let applied = ownership::apply(&writer, current, &config, call.request.force)?;
                (applied.object, Some(applied.managers))
            }
            (Verb::Patch(patch_type), _) => {
                let patched = patch::apply_patch(call.resource.kind, patch_type, current, body)
                    .map_err(admission::patch_error)?;
                (patched, None)
            }
            (Verb::Update, Some("scale")) => (
                admission::apply_scale(current, &object::parse(body)?)?,
                None,
            ),
            // A binding sets only `spec.nodeName`, which no update may change: it bypasses
            // update validation and the field manager, as kube-apiserver's binding storage does.
            (Verb::Create, Some("binding")) => {
                return admission::apply_binding(call, current, &object::parse(body)?);
            }
            _ => (object::parse(body)?, None),
        };
        // kube takes managedFields from the client only on the main resource.
        let sent = match call.subresource() {
            None => proposed["metadata"].get("managedFields").cloned(),
            Some(_) => None,
        };
        let (mut updated, warnings) = admission::prepare_update(call, current, proposed)?;
        call.warnings = warnings;
        match applied {
            Some(managers) => ownership::attach(current, &mut updated, managers),
            None => ownership::record_update(&writer, current, &mut updated, sent.as_ref()),
        }
        // Addresses are the storage's, as in kube: no field manager owns them.
        self.assign_addresses(call, Some(current), &mut updated)?;
        Ok(updated)
    }

    fn write_update(
        &mut self,
        call: &mut Call,
        kv: KeyValue,
        current: &Value,
        updated: Value,
    ) -> Result<Next, ApiError> {
        if let Some(expected) = object::meta_str(&updated, "resourceVersion") {
            if expected != kv.mod_revision.to_string() {
                return Err(call.conflict());
            }
        }
        let mut stored = updated.clone();
        object::metadata_mut(&mut stored).remove("resourceVersion");
        let mut before = current.clone();
        object::metadata_mut(&mut before).remove("resourceVersion");
        if stored == before {
            return ok(200, current); // a no-op write leaves the resourceVersion alone
        }
        if call.request.dry_run {
            return self.answer(call, object::with_revision(stored, kv.mod_revision), false);
        }
        let graceful = stored["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0)
            > 0;
        if object::is_terminating(&stored) && !super::deletion::held(&stored) && !graceful {
            // The last finalizer is gone: the object is deleted now.
            return Ok(self.read_quotas(call, None, Some(kv)));
        }
        let bytes = self.seal(call, &object::to_bytes(&stored));
        let (claimed, released) = addresses(call, Some(current), Some(&stored));
        let mut ops = vec![put_op(call.key(), bytes)];
        ops.extend(released);
        let body = guarded_txn(&call.key(), kv.mod_revision, ops, &claimed);
        let written = Some(object::to_bytes(&stored));
        Ok(Next::Store(
            body,
            Step::Commit {
                written,
                existing: Some(kv),
                created: false,
            },
        ))
    }

    /// Secrets are sealed at rest; everything else is stored as it is.
    pub(crate) fn seal(&self, call: &Call, plain: &[u8]) -> Vec<u8> {
        if call.resource.kind != "Secret" {
            return plain.to_vec();
        }
        let nonce = call.stamp.entropy ^ (u128::from(call.conflicts) << 100);
        self.config.encryption.seal(plain, nonce)
    }

    fn begin_create(&mut self, call: &mut Call) -> Result<Next, ApiError> {
        let (mut object, warnings) = admission::prepare_create(self, call)?;
        call.warnings = warnings;
        self.assign_addresses(call, None, &mut object)?;
        call.request.path.name = Some(object::name(&object).to_string());
        let bytes = object::to_bytes(&object);
        match admission::namespace_known(self, call)? {
            true => Ok(self.read_quotas(call, Some(bytes), None)),
            false => {
                let namespaces = by_plural("", "namespaces").expect("served");
                let key = object::object_key(namespaces, None, call.namespace().unwrap_or(""));
                Ok(Next::Store(
                    read_key(key),
                    Step::ReadNamespace { object: bytes },
                ))
            }
        }
    }

    /// Reads the namespace's quotas before a create or delete charges or releases them.
    pub(crate) fn read_quotas(
        &self,
        call: &Call,
        object: Option<Vec<u8>>,
        existing: Option<KeyValue>,
    ) -> Next {
        let quotas = by_plural("", "resourcequotas").expect("served");
        let prefix = object::type_prefix(quotas, call.namespace());
        let body = ClientRequest::Read(StoreQuery::Range(RangeRequest::latest(KeySpan::Prefix(
            prefix,
        ))));
        Next::Store(body, Step::ReadQuotas { object, existing })
    }

    fn commit_with_quotas(
        &mut self,
        call: &mut Call,
        object: Option<Vec<u8>>,
        existing: Option<KeyValue>,
        quota_kvs: Vec<KeyValue>,
    ) -> Result<Next, ApiError> {
        let quotas = if call.resource.namespaced && call.namespace().is_some() {
            let values: Vec<(KeyValue, Value)> = quota_kvs
                .into_iter()
                .map(|kv| Ok((kv.clone(), self.value_of(&kv)?)))
                .collect::<Result<_, ApiError>>()?;
            let (counted, sign) = match (&object, &existing) {
                (Some(bytes), _) => (object::parse(bytes)?, 1),
                (None, Some(kv)) => (self.value_of(kv)?, -1),
                (None, None) => unreachable!("a quota step has an object"),
            };
            admission::charge_quotas(call.resource, &counted, sign, &values)?
        } else {
            Vec::new()
        };
        if call.request.dry_run {
            // Admission and quotas passed; nothing is written. A dry-run create has no
            // resourceVersion, a dry-run delete answers the object as it is.
            return match (object, existing) {
                (Some(bytes), _) => self.answer(call, object::parse(&bytes)?, true),
                (None, Some(kv)) => self.answer(call, self.value_of(&kv)?, false),
                (None, None) => unreachable!("checked above"),
            };
        }
        let key = call.key();
        let mut side_writes = quotas;
        match (object, existing) {
            (Some(bytes), _) => {
                let sealed = self.seal(call, &bytes);
                let (claimed, _) = addresses(call, None, Some(&object::parse(&bytes)?));
                side_writes.extend(claimed);
                let body = guarded_txn(&key, 0, vec![put_op(key.clone(), sealed)], &side_writes);
                Ok(Next::Store(
                    body,
                    Step::Commit {
                        written: Some(bytes),
                        existing: None,
                        created: true,
                    },
                ))
            }
            (None, Some(kv)) => {
                let (_, released) = addresses(call, Some(&self.value_of(&kv)?), None);
                let mut ops = vec![delete_op(key.clone())];
                ops.extend(released);
                let body = guarded_txn(&key, kv.mod_revision, ops, &side_writes);
                Ok(Next::Store(
                    body,
                    Step::Commit {
                        written: None,
                        existing: Some(kv),
                        created: false,
                    },
                ))
            }
            (None, None) => unreachable!("checked above"),
        }
    }

    fn committed(
        &mut self,
        call: &mut Call,
        written: Option<Vec<u8>>,
        existing: Option<KeyValue>,
        created: bool,
        revision: Revision,
    ) -> Result<Next, ApiError> {
        let value = match (&written, &existing) {
            (Some(bytes), _) => object::parse(bytes)?,
            (None, Some(kv)) => self.value_of(kv)?,
            (None, None) => unreachable!("a commit writes or deletes"),
        };
        self.answer(call, object::with_revision(value, revision), created)
    }

    /// The answer to a write that made (or, dry run, would make) `value`.
    pub(crate) fn answer(
        &self,
        call: &Call,
        value: Value,
        created: bool,
    ) -> Result<Next, ApiError> {
        let served = match call.subresource() {
            Some("scale") => admission::scale_of(&value),
            Some("binding" | "eviction") => success_status(),
            _ => value,
        };
        // A create answers 201, subresource creates (binding, eviction) included.
        let created = created || call.request.path.subresource.as_deref() == Some("binding");
        ok(if created { 201 } else { 200 }, &served)
    }

    /// Fills in the addresses a service needs (see `allocation::assign`), picking anew on
    /// each attempt.
    fn assign_addresses(
        &self,
        call: &mut Call,
        old: Option<&Value>,
        new: &mut Value,
    ) -> Result<(), ApiError> {
        if call.resource.kind != "Service" {
            return Ok(());
        }
        let seed = (call.stamp.entropy as u64) ^ (u64::from(call.conflicts) << 48);
        let ranges = &self.config.service_ranges;
        call.chosen_addresses = allocation::assign(ranges, old, new, seed).map_err(|causes| {
            ApiError::invalid("", call.resource.kind, object::name(new), causes)
        })?;
        Ok(())
    }

    /// The transaction failed because another service holds an address this write claimed:
    /// one the user chose is refused, one the gateway picked is picked again.
    fn lost_addresses(
        &mut self,
        call: &mut Call,
        lost: LostAddresses,
        current: Option<KeyValue>,
        created: bool,
    ) -> Result<Next, ApiError> {
        let service = lost.written.as_deref().map(object::parse).transpose()?;
        let service = service.unwrap_or_default();
        if let Some(key) = lost
            .taken
            .iter()
            .find(|k| !call.chosen_addresses.contains(*k))
        {
            let cause = allocation::already_allocated(&service, key);
            let name = call.name().to_string();
            return Err(ApiError::invalid(
                "",
                call.resource.kind,
                &name,
                vec![cause],
            ));
        }
        call.conflicts += 1;
        if call.conflicts > self.config.conflict_retries_max {
            return Err(ApiError::internal(allocation::range_full(&lost.taken[0])));
        }
        match (created, current) {
            (true, _) => {
                call.step = Step::Start;
                self.begin_create(call)
            }
            (false, Some(current)) => self.on_existing(call, current),
            (false, None) => Err(call.not_found()),
        }
    }

    /// The transaction's compare failed: `current` is the object now (None: absent).
    fn lost_race(
        &mut self,
        call: &mut Call,
        existing: Option<KeyValue>,
        current: Option<KeyValue>,
        created: bool,
    ) -> Result<Next, ApiError> {
        call.conflicts += 1;
        if created {
            if let Some(current) = current {
                if call.creates_when_missing() {
                    // Someone created the object first: the apply applies to theirs.
                    return self.on_existing(call, current);
                }
                return Err(ApiError::already_exists(
                    call.resource.group,
                    call.resource.plural,
                    call.name(),
                ));
            }
            // A quota changed underneath: charge it again.
            if call.conflicts > self.config.conflict_retries_max {
                return Err(call.conflict());
            }
            call.step = Step::Start;
            return self.begin_create(call);
        }
        let Some(current) = current else {
            return Err(call.not_found());
        };
        let conditional = existing.is_some()
            && (object::parse(&call.request.body)
                .ok()
                .and_then(|b| object::meta_str(&b, "resourceVersion").map(str::to_string))
                .is_some_and(|rv| !rv.is_empty())
                || call.request.delete.precondition_resource_version.is_some());
        if conditional || call.conflicts > self.config.conflict_retries_max {
            return Err(call.conflict());
        }
        self.on_existing(call, current)
    }

    pub(crate) fn tick_calls(&mut self, out: &mut Outbox<Self>) {
        for id in self.waiting_calls() {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            call.waited_ticks += 1;
            if call.waited_ticks > self.config.cache_wait_ticks_max {
                let call = self.calls.remove(&id).expect("present");
                let error = ApiError::new(
                    504,
                    "Timeout",
                    "Too large resource version: the watch cache did not catch up in time".into(),
                );
                self.reply(call.caller, ApiOutcome::Err(error), out);
                continue;
            }
            self.run_call(id, out);
        }
    }

    /// The cache of `feed` advanced: calls waiting for it may go on, and watches get events.
    pub(crate) fn on_cache_advanced(&mut self, feed: usize, out: &mut Outbox<Self>) {
        let resource = self.feeds[feed].resource;
        for id in self.waiting_calls() {
            if self.calls.get(&id).is_some_and(|c| c.resource == resource) {
                self.run_call(id, out);
            }
        }
        serve::pump_watches(self, feed, out);
    }
}

pub(crate) fn ok(code: u16, value: &Value) -> Result<Next, ApiError> {
    Ok(Next::Done(ApiOutcome::ok(code, object::to_bytes(value))))
}

pub(crate) fn success_status() -> Value {
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

fn store_error(error: crate::store::StoreError) -> ApiError {
    use crate::store::StoreError;
    match error {
        StoreError::Compacted { compact_revision } => ApiError::expired(format!(
            "The provided continue parameter is too old to display a consistent list result (compacted at {compact_revision}); start a new list without a continue parameter"
        )),
        StoreError::NoSpace { .. } => ApiError::new(507, "InsufficientStorage", error.to_string()),
        StoreError::FutureRevision { .. } => ApiError::new(504, "Timeout", format!("Too large resource version: {error}")),
        other => ApiError::internal(other.to_string()),
    }
}
