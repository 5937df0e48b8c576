//! The MVCC keyspace that Raft replicates: etcd's revisioned key-value model.
//!
//! Every key keeps its versions since the compaction revision, each stamped with the
//! revision that wrote it; a delete is a tombstone version. One global revision counts
//! mutations. Reads at a past revision, watches from a past revision and compaction all
//! work from these histories; `changes` indexes which keys each revision touched, so a
//! watcher can be fed revision by revision without scanning the keyspace.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::api::*;
use crate::raft::StateMachine;

/// One version of a key: its value and metadata as of `mod_revision`, or a tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version {
    pub mod_revision: Revision,
    /// `None` marks the delete at `mod_revision`.
    pub live: Option<Live>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Live {
    pub create_revision: Revision,
    pub version: u64,
    pub value: Vec<u8>,
    pub lease: LeaseId,
}

impl Version {
    fn key_value(&self, key: &[u8], keys_only: bool) -> Option<KeyValue> {
        let live = self.live.as_ref()?;
        Some(KeyValue {
            key: key.to_vec(),
            create_revision: live.create_revision,
            mod_revision: self.mod_revision,
            version: live.version,
            value: if keys_only {
                Vec::new()
            } else {
                live.value.clone()
            },
            lease: live.lease,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Lease {
    pub ttl_s: u64,
    pub keys: BTreeSet<Vec<u8>>,
}

/// The replicated keyspace.
///
/// Invariant: every history is non-empty, ascends strictly by `mod_revision`, and its
/// revisions lie in `(compact_revision' , revision]` except possibly the first, which is
/// the newest version at or below the compaction revision and is live.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mvcc {
    /// The revision of the latest mutation (1 for an empty store, as in etcd).
    pub revision: Revision,
    /// Reads below this revision fail; watches must start above it.
    pub compact_revision: Revision,
    pub histories: BTreeMap<Vec<u8>, Vec<Version>>,
    /// The keys each revision above `compact_revision` changed.
    pub changes: BTreeMap<Revision, Vec<Vec<u8>>>,
    pub leases: BTreeMap<LeaseId, Lease>,
    /// The next id `LeaseGrant { id: 0 }` tries.
    pub lease_next: LeaseId,
    /// What the kept versions cost, against `KEYSPACE_BYTES_MAX`.
    pub bytes: u64,
}

impl Default for Mvcc {
    fn default() -> Self {
        Mvcc {
            revision: 1,
            compact_revision: 0,
            histories: BTreeMap::new(),
            changes: BTreeMap::new(),
            leases: BTreeMap::new(),
            lease_next: 1,
            bytes: 0,
        }
    }
}

/// What a version costs against the quota. The key counts twice: it is stored in the
/// history and in its revision's change list (a conservative count after compaction).
fn version_bytes(key: &[u8], version: &Version) -> u64 {
    let value = version.live.as_ref().map_or(0, |live| live.value.len());
    (2 * key.len() + value) as u64 + VERSION_OVERHEAD_BYTES
}

/// A mutation in progress: every write of one command shares one new revision.
struct Writer {
    revision: Revision,
    wrote: bool,
}

impl Mvcc {
    /// The version of `key` as of `revision`, if the key was live then.
    pub fn get_at(&self, key: &[u8], revision: Revision) -> Option<KeyValue> {
        let history = self.histories.get(key)?;
        version_at(history, revision)?.key_value(key, false)
    }

    pub fn get(&self, key: &[u8]) -> Option<KeyValue> {
        self.get_at(key, Revision::MAX)
    }

    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse, StoreError> {
        let at = self.readable_revision(request.revision)?;
        Ok(self.range_at(request, at))
    }

    /// `request` as of revision `at`, which the caller has checked is readable.
    fn range_at(&self, request: &RangeRequest, at: Revision) -> RangeResponse {
        let limit = match request.limit {
            0 => RANGE_KEYS_MAX,
            n => (n as usize).min(RANGE_KEYS_MAX),
        };
        let mut response = RangeResponse {
            revision: self.revision,
            kvs: Vec::new(),
            more: false,
            count: 0,
        };
        let mut bytes = 0usize;
        for (key, history) in self.histories.range(request.span.bounds()) {
            if !request.span.contains(key) {
                break;
            }
            let Some(version) = version_at(history, at) else {
                continue;
            };
            let Some(live) = &version.live else {
                continue; // deleted as of `at`
            };
            response.count += 1;
            if request.count_only {
                continue;
            }
            let value_bytes = if request.keys_only {
                0
            } else {
                live.value.len()
            };
            let kv_bytes = key.len() + value_bytes;
            let full = response.kvs.len() >= limit
                || (!response.kvs.is_empty() && bytes + kv_bytes > RANGE_REPLY_BYTES_MAX);
            if full {
                // Only counted: copying what is not returned made every page of a
                // paged list cost a copy of the rest of the range.
                response.more = true;
            } else {
                bytes += kv_bytes;
                response
                    .kvs
                    .extend(version.key_value(key, request.keys_only));
            }
        }
        assert!(response.kvs.len() as u64 <= response.count);
        assert!(
            request.count_only || response.more == ((response.kvs.len() as u64) < response.count)
        );
        response
    }

    fn readable_revision(&self, revision: Revision) -> Result<Revision, StoreError> {
        match revision {
            0 => Ok(self.revision),
            r if r > self.revision => Err(StoreError::FutureRevision {
                revision: self.revision,
            }),
            r if r < self.compact_revision => Err(StoreError::Compacted {
                compact_revision: self.compact_revision,
            }),
            r => Ok(r),
        }
    }

    /// The events of one revision, in the order the command wrote them (as etcd).
    pub fn events_at(&self, revision: Revision) -> Vec<Event> {
        let Some(keys) = self.changes.get(&revision) else {
            return Vec::new();
        };
        keys.iter()
            .map(|key| {
                let history = &self.histories[key];
                let at = history
                    .iter()
                    .position(|v| v.mod_revision == revision)
                    .expect("a change names a version of its revision");
                let prev_kv = at
                    .checked_sub(1)
                    .and_then(|p| history[p].key_value(key, false));
                match history[at].key_value(key, false) {
                    Some(kv) => Event {
                        kind: EventKind::Put,
                        kv,
                        prev_kv,
                    },
                    None => Event {
                        kind: EventKind::Delete,
                        kv: KeyValue {
                            key: key.clone(),
                            create_revision: 0,
                            mod_revision: revision,
                            version: 0,
                            value: Vec::new(),
                            lease: 0,
                        },
                        prev_kv,
                    },
                }
            })
            .collect()
    }

    fn begin(&self) -> Writer {
        Writer {
            revision: self.revision + 1,
            wrote: false,
        }
    }

    fn commit(&mut self, writer: Writer) -> Revision {
        if writer.wrote {
            assert_eq!(writer.revision, self.revision + 1);
            assert!(self.changes.contains_key(&writer.revision));
            self.revision = writer.revision;
        }
        self.revision
    }

    fn put(
        &mut self,
        writer: &mut Writer,
        put: &PutRequest,
    ) -> Result<Option<KeyValue>, StoreError> {
        if put.lease != 0 && !self.leases.contains_key(&put.lease) {
            return Err(StoreError::LeaseNotFound { id: put.lease });
        }
        let cost = (2 * put.key.len() + put.value.len()) as u64 + VERSION_OVERHEAD_BYTES;
        if self.bytes + cost > KEYSPACE_BYTES_MAX {
            return Err(StoreError::NoSpace { bytes: self.bytes });
        }
        let previous = self.get(&put.key);
        if let Some(old) = previous.as_ref().filter(|old| old.lease != 0) {
            if let Some(lease) = self.leases.get_mut(&old.lease) {
                lease.keys.remove(&put.key);
            }
        }
        if put.lease != 0 {
            let lease = self.leases.get_mut(&put.lease).expect("checked above");
            lease.keys.insert(put.key.clone());
        }
        let live = Live {
            create_revision: previous
                .as_ref()
                .map_or(writer.revision, |old| old.create_revision),
            version: previous.as_ref().map_or(1, |old| old.version + 1),
            value: put.value.clone(),
            lease: put.lease,
        };
        self.push_version(writer, &put.key, Some(live));
        Ok(previous.filter(|_| put.prev_kv))
    }

    fn delete(&mut self, writer: &mut Writer, delete: &DeleteRequest) -> (u64, Vec<KeyValue>) {
        let live: Vec<KeyValue> = self
            .histories
            .range(delete.span.bounds())
            .take_while(|(key, _)| delete.span.contains(key))
            .filter_map(|(key, history)| history.last()?.key_value(key, false))
            .collect();
        for kv in &live {
            if let Some(lease) = self.leases.get_mut(&kv.lease) {
                lease.keys.remove(&kv.key);
            }
            self.push_version(writer, &kv.key, None);
        }
        let deleted = live.len() as u64;
        (deleted, if delete.prev_kv { live } else { Vec::new() })
    }

    fn push_version(&mut self, writer: &mut Writer, key: &[u8], live: Option<Live>) {
        let history = self.histories.entry(key.to_vec()).or_default();
        assert!(
            history
                .last()
                .is_none_or(|v| v.mod_revision < writer.revision),
            "one command writes a key at most once"
        );
        let version = Version {
            mod_revision: writer.revision,
            live,
        };
        self.bytes += version_bytes(key, &version);
        history.push(version);
        self.changes
            .entry(writer.revision)
            .or_default()
            .push(key.to_vec());
        writer.wrote = true;
    }

    fn compare(&self, compare: &Compare) -> bool {
        let current = self.get(&compare.key);
        let ordering = match (&compare.target, &current) {
            (CompareTarget::Value(_), None) => return false,
            (CompareTarget::Value(v), Some(kv)) => kv.value.as_slice().cmp(v.as_slice()),
            (CompareTarget::Version(v), kv) => kv.as_ref().map_or(0, |kv| kv.version).cmp(v),
            (CompareTarget::CreateRevision(r), kv) => {
                kv.as_ref().map_or(0, |kv| kv.create_revision).cmp(r)
            }
            (CompareTarget::ModRevision(r), kv) => {
                kv.as_ref().map_or(0, |kv| kv.mod_revision).cmp(r)
            }
            (CompareTarget::Lease(l), kv) => kv.as_ref().map_or(0, |kv| kv.lease).cmp(l),
        };
        match compare.result {
            CompareResult::Equal => ordering.is_eq(),
            CompareResult::NotEqual => ordering.is_ne(),
            CompareResult::Greater => ordering.is_gt(),
            CompareResult::Less => ordering.is_lt(),
        }
    }

    fn txn(&mut self, txn: &TxnRequest) -> StoreOutput {
        let succeeded = txn.compare.iter().all(|c| self.compare(c));
        let ops = if succeeded {
            &txn.success
        } else {
            &txn.failure
        };
        // A put to a missing lease fails the whole transaction before anything is written.
        for op in ops {
            if let TxnOp::Put(put) = op {
                if put.lease != 0 && !self.leases.contains_key(&put.lease) {
                    return StoreOutput::Error(StoreError::LeaseNotFound { id: put.lease });
                }
            }
        }
        let mut writer = self.begin();
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            responses.push(match op {
                // Reads inside a transaction see its earlier writes (as in etcd).
                TxnOp::Range(range) => match self.range_in_txn(range, &writer) {
                    Ok(response) => TxnOpResponse::Range(response),
                    Err(error) => return self.abort_txn(writer, error),
                },
                // Leases were checked above; the quota can still run out midway.
                TxnOp::Put(put) => match self.put(&mut writer, put) {
                    Ok(prev_kv) => TxnOpResponse::Put { prev_kv },
                    Err(error) => return self.abort_txn(writer, error),
                },
                TxnOp::Delete(delete) => {
                    let (deleted, prev_kvs) = self.delete(&mut writer, delete);
                    TxnOpResponse::Delete { deleted, prev_kvs }
                }
            });
        }
        let revision = self.commit(writer);
        StoreOutput::Txn {
            revision,
            succeeded,
            responses,
        }
    }

    fn range_in_txn(
        &self,
        range: &RangeRequest,
        writer: &Writer,
    ) -> Result<RangeResponse, StoreError> {
        let mut response = if range.revision == 0 {
            // The latest includes this transaction's writes so far.
            self.range_at(range, Revision::MAX)
        } else {
            self.range(range)?
        };
        if writer.wrote {
            response.revision = writer.revision;
        }
        Ok(response)
    }

    /// Transactions that fail midway (a read of a compacted revision, the quota) undo
    /// their writes, so a command is all or nothing.
    fn abort_txn(&mut self, writer: Writer, error: StoreError) -> StoreOutput {
        if writer.wrote {
            self.undo(writer.revision);
        }
        StoreOutput::Error(error)
    }

    fn undo(&mut self, revision: Revision) {
        let keys = self.changes.remove(&revision).unwrap_or_default();
        for key in keys {
            let history = self.histories.get_mut(&key).expect("changed key");
            let undone = history.pop().expect("a version at the revision");
            assert_eq!(undone.mod_revision, revision);
            self.bytes -= version_bytes(&key, &undone);
            if let Some(live) = &undone.live {
                if let Some(lease) = self.leases.get_mut(&live.lease) {
                    lease.keys.remove(&key);
                }
            }
            let restored = history.last().and_then(|v| v.live.as_ref());
            if let Some(lease) = restored.and_then(|live| self.leases.get_mut(&live.lease)) {
                lease.keys.insert(key.clone());
            }
            if history.is_empty() {
                self.histories.remove(&key);
            }
        }
    }

    fn compact(&mut self, revision: Revision) -> StoreOutput {
        if revision <= self.compact_revision {
            return StoreOutput::Error(StoreError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        if revision > self.revision {
            return StoreOutput::Error(StoreError::FutureRevision {
                revision: self.revision,
            });
        }
        self.compact_revision = revision;
        let mut freed = 0;
        self.histories.retain(|key, history| {
            // Keep the newest version at or below the compaction revision if it is live.
            let newer = history.partition_point(|v| v.mod_revision <= revision);
            let keep_from = match newer.checked_sub(1) {
                Some(at) if history[at].live.is_some() => at,
                _ => newer,
            };
            freed += history
                .drain(..keep_from)
                .map(|v| version_bytes(key, &v))
                .sum::<u64>();
            !history.is_empty()
        });
        self.bytes -= freed;
        self.changes = self.changes.split_off(&(revision + 1));
        StoreOutput::Compacted { revision }
    }

    fn lease_grant(&mut self, id: LeaseId, ttl_s: u64) -> StoreOutput {
        let id = if id == 0 { self.free_lease_id() } else { id };
        if self.leases.contains_key(&id) {
            return StoreOutput::Error(StoreError::LeaseExists { id });
        }
        let ttl_s = ttl_s.clamp(LEASE_TTL_S_MIN, LEASE_TTL_S_MAX);
        self.leases.insert(
            id,
            Lease {
                ttl_s,
                keys: BTreeSet::new(),
            },
        );
        StoreOutput::LeaseGranted { id, ttl_s }
    }

    fn free_lease_id(&mut self) -> LeaseId {
        // Bounded: at most `leases.len() + 1` probes find a free id.
        while self.lease_next == 0 || self.leases.contains_key(&self.lease_next) {
            self.lease_next = self.lease_next.wrapping_add(1);
        }
        let id = self.lease_next;
        self.lease_next = self.lease_next.wrapping_add(1);
        id
    }

    fn lease_revoke(&mut self, id: LeaseId) -> StoreOutput {
        let Some(lease) = self.leases.remove(&id) else {
            return StoreOutput::Error(StoreError::LeaseNotFound { id });
        };
        let mut writer = self.begin();
        for key in &lease.keys {
            assert_eq!(
                self.get(key).map(|kv| kv.lease),
                Some(id),
                "lease keys are live"
            );
            self.push_version(&mut writer, key, None);
        }
        StoreOutput::LeaseRevoked {
            revision: self.commit(writer),
        }
    }

    /// Checks the structure's invariants (tests and debug runs call this; O(keyspace)).
    pub fn assert_invariants(&self) {
        assert!(self.compact_revision <= self.revision);
        let bytes: u64 = self
            .histories
            .iter()
            .flat_map(|(key, history)| history.iter().map(move |v| version_bytes(key, v)))
            .sum();
        assert_eq!(
            bytes, self.bytes,
            "the byte count follows the kept versions"
        );
        for (key, history) in &self.histories {
            assert!(!history.is_empty(), "empty history kept");
            assert!(history
                .windows(2)
                .all(|w| w[0].mod_revision < w[1].mod_revision));
            assert!(history.last().unwrap().mod_revision <= self.revision);
            if history[0].mod_revision <= self.compact_revision {
                assert!(history[0].live.is_some(), "compacted tombstone kept");
            }
            for version in history
                .iter()
                .filter(|v| v.mod_revision > self.compact_revision)
            {
                assert!(self.changes[&version.mod_revision].contains(key));
            }
        }
        for (id, lease) in &self.leases {
            for key in &lease.keys {
                assert_eq!(self.get(key).map(|kv| kv.lease), Some(*id));
            }
        }
    }
}

/// The newest version at or below `revision`.
fn version_at(history: &[Version], revision: Revision) -> Option<&Version> {
    let newer = history.partition_point(|v| v.mod_revision <= revision);
    history.get(newer.checked_sub(1)?)
}

impl StateMachine for Mvcc {
    type Command = StoreCommand;
    type Query = StoreQuery;
    type Output = StoreOutput;

    fn apply(&mut self, command: &StoreCommand) -> StoreOutput {
        if let Err(error) = validate(command) {
            return StoreOutput::Error(error);
        }
        let revision_before = self.revision;
        let output = match command {
            StoreCommand::Put(put) => {
                let mut writer = self.begin();
                match self.put(&mut writer, put) {
                    Ok(prev_kv) => StoreOutput::Put {
                        revision: self.commit(writer),
                        prev_kv,
                    },
                    Err(error) => StoreOutput::Error(error),
                }
            }
            StoreCommand::Delete(delete) => {
                let mut writer = self.begin();
                let (deleted, prev_kvs) = self.delete(&mut writer, delete);
                StoreOutput::Delete {
                    revision: self.commit(writer),
                    deleted,
                    prev_kvs,
                }
            }
            StoreCommand::Txn(txn) => self.txn(txn),
            StoreCommand::Compact { revision } => self.compact(*revision),
            StoreCommand::LeaseGrant { id, ttl_s } => self.lease_grant(*id, *ttl_s),
            StoreCommand::LeaseRevoke { id } => self.lease_revoke(*id),
        };
        assert!(self.revision == revision_before || self.revision == revision_before + 1);
        output
    }

    fn query(&self, query: &StoreQuery) -> StoreOutput {
        match query {
            StoreQuery::Range(range) => match self.range(range) {
                Ok(response) => StoreOutput::Range(response),
                Err(error) => StoreOutput::Error(error),
            },
            StoreQuery::Leases => StoreOutput::Leases(
                self.leases
                    .iter()
                    .map(|(id, lease)| LeaseInfo {
                        id: *id,
                        ttl_s: lease.ttl_s,
                        keys: lease.keys.len() as u64,
                    })
                    .collect(),
            ),
            StoreQuery::Header => StoreOutput::Header {
                revision: self.revision,
                compact_revision: self.compact_revision,
            },
        }
    }
}
