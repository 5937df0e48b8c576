//! The store's requests and responses: etcd's KV, Txn, Compact and Lease API as typed
//! values. They travel inside Raft entries (commands), ReadIndex reads (queries) and the
//! store's own messages (watch, lease keep-alive, serializable reads).

use std::ops::Bound;

use serde::{Deserialize, Serialize};

/// The store's global revision: every mutation that changes a key bumps it by one.
pub type Revision = u64;
/// A lease's id; 0 means "no lease".
pub type LeaseId = u64;

/// Bytes in a key. etcd has no separate key limit; ours keeps a key well inside one frame.
pub const KEY_BYTES_MAX: usize = 32 * 1024;
/// Bytes in a value: etcd's default `--max-request-bytes` is 1.5 MiB; we stay under it
/// so that an AppendEntries carrying a few values still fits one 8 MiB frame.
pub const VALUE_BYTES_MAX: usize = 1024 * 1024;
/// Operations in one transaction branch, and comparisons: etcd's `--max-txn-ops` default.
pub const TXN_OPS_MAX: usize = 128;
/// Key-values one range reply carries at most (etcd clients page with `limit`).
pub const RANGE_KEYS_MAX: usize = 10_000;
/// Bytes of keys and values one range reply carries at most: under the 8 MiB frame.
pub const RANGE_REPLY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Bytes the keyspace may hold (keys and values of every version kept, plus a fixed cost
/// per version): etcd's `--quota-backend-bytes`. The whole keyspace travels as one
/// snapshot, which must stay inside the mesh's 256 MiB message maximum: half of it.
pub const KEYSPACE_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// What one version costs beyond its key and value (revisions, version, lease).
pub const VERSION_OVERHEAD_BYTES: u64 = 48;
/// Lease TTLs are clamped into this range (etcd's minimum is about 1.5 election timeouts).
pub const LEASE_TTL_S_MIN: u64 = 2;
pub const LEASE_TTL_S_MAX: u64 = 9_000_000_000;

/// The keys an operation touches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeySpan {
    /// Exactly one key.
    Key(Vec<u8>),
    /// Every key starting with these bytes (an empty prefix is every key).
    Prefix(Vec<u8>),
    /// `start <= key < end` (etcd's range_end).
    Interval { start: Vec<u8>, end: Vec<u8> },
    /// Every key at or after `start` (etcd's range_end = "\0").
    From(Vec<u8>),
}

impl KeySpan {
    pub fn contains(&self, key: &[u8]) -> bool {
        match self {
            KeySpan::Key(k) => k.as_slice() == key,
            KeySpan::Prefix(p) => key.starts_with(p),
            KeySpan::Interval { start, end } => start.as_slice() <= key && key < end.as_slice(),
            KeySpan::From(start) => start.as_slice() <= key,
        }
    }

    /// Bounds for a `BTreeMap<Vec<u8>, _>::range`, a superset of the span (a prefix has
    /// no finite upper bound in general: callers stop at the first key it does not contain).
    pub fn bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        match self {
            KeySpan::Key(k) => (Bound::Included(k.clone()), Bound::Included(k.clone())),
            KeySpan::Prefix(p) => (Bound::Included(p.clone()), Bound::Unbounded),
            KeySpan::Interval { start, end } if start < end => {
                (Bound::Included(start.clone()), Bound::Excluded(end.clone()))
            }
            // An empty interval: a range that holds nothing.
            KeySpan::Interval { start, .. } => (
                Bound::Included(start.clone()),
                Bound::Excluded(start.clone()),
            ),
            KeySpan::From(start) => (Bound::Included(start.clone()), Bound::Unbounded),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            KeySpan::Key(k) | KeySpan::Prefix(k) | KeySpan::From(k) => k.len(),
            KeySpan::Interval { start, end } => start.len().max(end.len()),
        }
    }
}

/// A key's value and metadata, as etcd's `mvccpb.KeyValue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub create_revision: Revision,
    pub mod_revision: Revision,
    /// Puts since the key was (re)created; 1 on creation.
    pub version: u64,
    pub value: Vec<u8>,
    pub lease: LeaseId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RangeRequest {
    pub span: KeySpan,
    /// Read as of this revision; 0 means the latest.
    pub revision: Revision,
    /// At most this many key-values; 0 means no limit (still bounded by `RANGE_KEYS_MAX`).
    pub limit: u64,
    pub count_only: bool,
    pub keys_only: bool,
}

impl RangeRequest {
    pub fn latest(span: KeySpan) -> RangeRequest {
        RangeRequest {
            span,
            revision: 0,
            limit: 0,
            count_only: false,
            keys_only: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RangeResponse {
    /// The store's revision when the range was served.
    pub revision: Revision,
    pub kvs: Vec<KeyValue>,
    /// More key-values matched than were returned.
    pub more: bool,
    /// Every matching key, returned or not.
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PutRequest {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub lease: LeaseId,
    pub prev_kv: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeleteRequest {
    pub span: KeySpan,
    pub prev_kv: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CompareResult {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// What a comparison looks at. A missing key has version, revisions and lease 0 and no
/// value (so a value comparison on it fails, as in etcd).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CompareTarget {
    Value(Vec<u8>),
    Version(u64),
    CreateRevision(Revision),
    ModRevision(Revision),
    Lease(LeaseId),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Compare {
    pub key: Vec<u8>,
    pub result: CompareResult,
    pub target: CompareTarget,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TxnOp {
    Range(RangeRequest),
    Put(PutRequest),
    Delete(DeleteRequest),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxnRequest {
    pub compare: Vec<Compare>,
    pub success: Vec<TxnOp>,
    pub failure: Vec<TxnOp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TxnOpResponse {
    Range(RangeResponse),
    Put {
        prev_kv: Option<KeyValue>,
    },
    Delete {
        deleted: u64,
        prev_kvs: Vec<KeyValue>,
    },
}

/// A replicated command: it goes through the Raft log and applies on every member.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreCommand {
    Put(PutRequest),
    Delete(DeleteRequest),
    Txn(TxnRequest),
    /// Forget history before this revision.
    Compact {
        revision: Revision,
    },
    /// `id` 0 asks the store to choose one.
    LeaseGrant {
        id: LeaseId,
        ttl_s: u64,
    },
    /// Also how the leader expires a lease: expiry is a committed revoke.
    LeaseRevoke {
        id: LeaseId,
    },
}

/// A read served from the applied state (after ReadIndex, or locally when serializable).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreQuery {
    Range(RangeRequest),
    /// The leases that exist and their granted TTLs.
    Leases,
    /// The revision and compaction revision.
    Header,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreError {
    /// The requested revision is at or below the compaction revision.
    Compacted {
        compact_revision: Revision,
    },
    /// The requested revision is past the store's revision.
    FutureRevision {
        revision: Revision,
    },
    LeaseNotFound {
        id: LeaseId,
    },
    LeaseExists {
        id: LeaseId,
    },
    /// A request that can never succeed (a limit, duplicate keys in one transaction).
    Invalid {
        reason: String,
    },
    /// The keyspace is at its quota: compact, or delete and compact, to make room.
    NoSpace {
        bytes: u64,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Compacted { compact_revision } => write!(
                f,
                "required revision has been compacted (compact revision {compact_revision})"
            ),
            StoreError::FutureRevision { revision } => {
                write!(
                    f,
                    "required revision is a future revision (store is at {revision})"
                )
            }
            StoreError::LeaseNotFound { id } => write!(f, "requested lease {id:x} not found"),
            StoreError::LeaseExists { id } => write!(f, "lease {id:x} already exists"),
            StoreError::Invalid { reason } => write!(f, "invalid request: {reason}"),
            StoreError::NoSpace { bytes } => write!(
                f,
                "database space exceeded ({bytes} of {KEYSPACE_BYTES_MAX} bytes): compact to make room"
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeaseInfo {
    pub id: LeaseId,
    pub ttl_s: u64,
    pub keys: u64,
}

/// What a command or query produced. `revision` is the store's revision after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreOutput {
    Range(RangeResponse),
    Put {
        revision: Revision,
        prev_kv: Option<KeyValue>,
    },
    Delete {
        revision: Revision,
        deleted: u64,
        prev_kvs: Vec<KeyValue>,
    },
    Txn {
        revision: Revision,
        succeeded: bool,
        responses: Vec<TxnOpResponse>,
    },
    Compacted {
        revision: Revision,
    },
    LeaseGranted {
        id: LeaseId,
        ttl_s: u64,
    },
    LeaseRevoked {
        revision: Revision,
    },
    Leases(Vec<LeaseInfo>),
    Header {
        revision: Revision,
        compact_revision: Revision,
    },
    Error(StoreError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change, as etcd's `mvccpb.Event`. A delete's `kv` holds the key and the revision of
/// the delete; `prev_kv` is the value it replaced (when history still has it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
    pub prev_kv: Option<KeyValue>,
}

/// Checks the limits a command must meet before it is proposed (and again when applied,
/// so every member refuses the same commands).
pub fn validate(command: &StoreCommand) -> Result<(), StoreError> {
    let invalid = |reason: String| Err(StoreError::Invalid { reason });
    match command {
        StoreCommand::Put(put) => validate_put(put),
        StoreCommand::Delete(delete) => validate_span(&delete.span),
        StoreCommand::Txn(txn) => {
            let branch_max = txn.success.len().max(txn.failure.len());
            if txn.compare.len() > TXN_OPS_MAX || branch_max > TXN_OPS_MAX {
                return invalid(format!(
                    "too many operations in txn request (at most {TXN_OPS_MAX})"
                ));
            }
            for op in txn.success.iter().chain(&txn.failure) {
                match op {
                    TxnOp::Range(range) => validate_span(&range.span)?,
                    TxnOp::Put(put) => validate_put(put)?,
                    TxnOp::Delete(delete) => validate_span(&delete.span)?,
                }
            }
            validate_disjoint_writes(&txn.success)?;
            validate_disjoint_writes(&txn.failure)
        }
        StoreCommand::Compact { .. } => Ok(()),
        StoreCommand::LeaseGrant { ttl_s, .. } if *ttl_s == 0 => {
            invalid("lease TTL must be positive".into())
        }
        StoreCommand::LeaseGrant { .. } | StoreCommand::LeaseRevoke { .. } => Ok(()),
    }
}

fn validate_put(put: &PutRequest) -> Result<(), StoreError> {
    if put.key.is_empty() {
        return Err(StoreError::Invalid {
            reason: "key is not provided".into(),
        });
    }
    if put.key.len() > KEY_BYTES_MAX || put.value.len() > VALUE_BYTES_MAX {
        return Err(StoreError::Invalid {
            reason: format!(
                "request is too large (key at most {KEY_BYTES_MAX} bytes, value at most {VALUE_BYTES_MAX})"
            ),
        });
    }
    Ok(())
}

fn validate_span(span: &KeySpan) -> Result<(), StoreError> {
    if span.bytes() > KEY_BYTES_MAX {
        return Err(StoreError::Invalid {
            reason: format!("key is too large (at most {KEY_BYTES_MAX} bytes)"),
        });
    }
    Ok(())
}

/// etcd refuses a transaction that writes one key twice ("duplicate key given in txn
/// request"): every key a branch writes has one new version at the txn's revision.
fn validate_disjoint_writes(ops: &[TxnOp]) -> Result<(), StoreError> {
    let puts: Vec<&[u8]> = ops
        .iter()
        .filter_map(|op| match op {
            TxnOp::Put(put) => Some(put.key.as_slice()),
            _ => None,
        })
        .collect();
    let deletes = ops.iter().filter_map(|op| match op {
        TxnOp::Delete(delete) => Some(&delete.span),
        _ => None,
    });
    let mut sorted = puts.clone();
    sorted.sort_unstable();
    let twice = sorted.windows(2).any(|pair| pair[0] == pair[1]);
    let overlap = deletes
        .into_iter()
        .any(|span| puts.iter().any(|key| span.contains(key)));
    if twice || overlap {
        return Err(StoreError::Invalid {
            reason: "duplicate key given in txn request".into(),
        });
    }
    Ok(())
}
