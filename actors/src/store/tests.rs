//! The MVCC keyspace against a reference that keeps a whole copy of the keyspace per
//! revision: every output, every readable past revision and every revision's events agree.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::raft::StateMachine;

type Keyspace = BTreeMap<Vec<u8>, KeyValue>;

/// The simplest correct store: `states[r - 1]` is the keyspace at revision `r`.
struct Reference {
    states: Vec<Keyspace>,
    compact_revision: Revision,
    leases: BTreeMap<LeaseId, u64>,
    /// Ids are never reused: a client holding a revoked id must not keep another alive.
    lease_next: LeaseId,
}

impl Reference {
    fn new() -> Reference {
        Reference {
            states: vec![Keyspace::new()],
            compact_revision: 0,
            leases: BTreeMap::new(),
            lease_next: 1,
        }
    }

    fn revision(&self) -> Revision {
        self.states.len() as Revision
    }

    fn latest(&self) -> &Keyspace {
        self.states.last().unwrap()
    }

    fn range(&self, range: &RangeRequest, working: &Keyspace) -> Result<RangeResponse, StoreError> {
        let state = match range.revision {
            0 => working,
            r if r > self.revision() => {
                return Err(StoreError::FutureRevision {
                    revision: self.revision(),
                })
            }
            r if r < self.compact_revision => {
                return Err(StoreError::Compacted {
                    compact_revision: self.compact_revision,
                })
            }
            r => &self.states[r as usize - 1],
        };
        let matching: Vec<KeyValue> = state
            .values()
            .filter(|kv| range.span.contains(&kv.key))
            .cloned()
            .collect();
        let limit = if range.limit == 0 {
            usize::MAX
        } else {
            range.limit as usize
        };
        let kvs: Vec<KeyValue> = if range.count_only {
            Vec::new()
        } else {
            matching
                .iter()
                .take(limit)
                .map(|kv| KeyValue {
                    value: if range.keys_only {
                        Vec::new()
                    } else {
                        kv.value.clone()
                    },
                    ..kv.clone()
                })
                .collect()
        };
        Ok(RangeResponse {
            revision: self.revision(),
            more: !range.count_only && kvs.len() < matching.len(),
            count: matching.len() as u64,
            kvs,
        })
    }

    fn put(
        &self,
        working: &mut Keyspace,
        put: &PutRequest,
        revision: Revision,
    ) -> Option<KeyValue> {
        let previous = working.get(&put.key).cloned();
        let kv = KeyValue {
            key: put.key.clone(),
            create_revision: previous.as_ref().map_or(revision, |p| p.create_revision),
            mod_revision: revision,
            version: previous.as_ref().map_or(1, |p| p.version + 1),
            value: put.value.clone(),
            lease: put.lease,
        };
        working.insert(put.key.clone(), kv);
        previous.filter(|_| put.prev_kv)
    }

    fn delete(working: &mut Keyspace, delete: &DeleteRequest) -> (u64, Vec<KeyValue>) {
        let gone: Vec<KeyValue> = working
            .values()
            .filter(|kv| delete.span.contains(&kv.key))
            .cloned()
            .collect();
        for kv in &gone {
            working.remove(&kv.key);
        }
        let prev = if delete.prev_kv {
            gone.clone()
        } else {
            Vec::new()
        };
        (gone.len() as u64, prev)
    }

    /// Pushes `working` as a new revision if it differs from the latest.
    fn commit(&mut self, working: Keyspace, wrote: bool) -> Revision {
        if wrote {
            self.states.push(working);
        }
        self.revision()
    }

    fn compare(&self, compare: &Compare) -> bool {
        let kv = self.latest().get(&compare.key);
        let ordering = match &compare.target {
            CompareTarget::Value(v) => match kv {
                None => return false,
                Some(kv) => kv.value.cmp(v),
            },
            CompareTarget::Version(v) => kv.map_or(0, |kv| kv.version).cmp(v),
            CompareTarget::CreateRevision(r) => kv.map_or(0, |kv| kv.create_revision).cmp(r),
            CompareTarget::ModRevision(r) => kv.map_or(0, |kv| kv.mod_revision).cmp(r),
            CompareTarget::Lease(l) => kv.map_or(0, |kv| kv.lease).cmp(l),
        };
        match compare.result {
            CompareResult::Equal => ordering.is_eq(),
            CompareResult::NotEqual => ordering.is_ne(),
            CompareResult::Greater => ordering.is_gt(),
            CompareResult::Less => ordering.is_lt(),
        }
    }

    fn apply(&mut self, command: &StoreCommand) -> StoreOutput {
        if let Err(error) = validate(command) {
            return StoreOutput::Error(error);
        }
        let revision = self.revision() + 1;
        let mut working = self.latest().clone();
        match command {
            StoreCommand::Put(put) => {
                if put.lease != 0 && !self.leases.contains_key(&put.lease) {
                    return StoreOutput::Error(StoreError::LeaseNotFound { id: put.lease });
                }
                let prev_kv = self.put(&mut working, put, revision);
                StoreOutput::Put {
                    revision: self.commit(working, true),
                    prev_kv,
                }
            }
            StoreCommand::Delete(delete) => {
                let (deleted, prev_kvs) = Self::delete(&mut working, delete);
                StoreOutput::Delete {
                    revision: self.commit(working, deleted > 0),
                    deleted,
                    prev_kvs,
                }
            }
            StoreCommand::Txn(txn) => {
                let succeeded = txn.compare.iter().all(|c| self.compare(c));
                let ops = if succeeded {
                    &txn.success
                } else {
                    &txn.failure
                };
                let missing_lease = ops.iter().find_map(|op| match op {
                    TxnOp::Put(put) if put.lease != 0 && !self.leases.contains_key(&put.lease) => {
                        Some(put.lease)
                    }
                    _ => None,
                });
                if let Some(id) = missing_lease {
                    return StoreOutput::Error(StoreError::LeaseNotFound { id });
                }
                let mut wrote = false;
                let mut responses = Vec::new();
                for op in ops {
                    responses.push(match op {
                        TxnOp::Range(range) => match self.range(range, &working) {
                            Ok(mut response) => {
                                if wrote {
                                    response.revision = revision;
                                }
                                TxnOpResponse::Range(response)
                            }
                            Err(error) => return StoreOutput::Error(error),
                        },
                        TxnOp::Put(put) => {
                            wrote = true;
                            TxnOpResponse::Put {
                                prev_kv: self.put(&mut working, put, revision),
                            }
                        }
                        TxnOp::Delete(delete) => {
                            let (deleted, prev_kvs) = Self::delete(&mut working, delete);
                            wrote |= deleted > 0;
                            TxnOpResponse::Delete { deleted, prev_kvs }
                        }
                    });
                }
                StoreOutput::Txn {
                    revision: self.commit(working, wrote),
                    succeeded,
                    responses,
                }
            }
            StoreCommand::Compact { revision: r } => {
                if *r <= self.compact_revision {
                    StoreOutput::Error(StoreError::Compacted {
                        compact_revision: self.compact_revision,
                    })
                } else if *r > self.revision() {
                    StoreOutput::Error(StoreError::FutureRevision {
                        revision: self.revision(),
                    })
                } else {
                    self.compact_revision = *r;
                    StoreOutput::Compacted { revision: *r }
                }
            }
            StoreCommand::LeaseGrant { id, ttl_s } => {
                let id = if *id == 0 {
                    let free = (self.lease_next..).find(|i| !self.leases.contains_key(i));
                    self.lease_next = free.unwrap() + 1;
                    free.unwrap()
                } else {
                    *id
                };
                if self.leases.contains_key(&id) {
                    return StoreOutput::Error(StoreError::LeaseExists { id });
                }
                let ttl_s = (*ttl_s).clamp(LEASE_TTL_S_MIN, LEASE_TTL_S_MAX);
                self.leases.insert(id, ttl_s);
                StoreOutput::LeaseGranted { id, ttl_s }
            }
            StoreCommand::LeaseRevoke { id } => {
                if self.leases.remove(id).is_none() {
                    return StoreOutput::Error(StoreError::LeaseNotFound { id: *id });
                }
                let before = working.len();
                working.retain(|_, kv| kv.lease != *id);
                let wrote = working.len() < before;
                StoreOutput::LeaseRevoked {
                    revision: self.commit(working, wrote),
                }
            }
        }
    }

    /// The events of revision `r`: the difference between it and the revision before.
    fn events_at(&self, r: Revision) -> Vec<Event> {
        let before = &self.states[r as usize - 2];
        let after = &self.states[r as usize - 1];
        let mut keys: Vec<&Vec<u8>> = before.keys().chain(after.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| match after.get(k) {
                Some(kv) => Event {
                    kind: EventKind::Put,
                    kv: kv.clone(),
                    prev_kv: before.get(k).cloned(),
                },
                None => Event {
                    kind: EventKind::Delete,
                    kv: KeyValue {
                        key: k.clone(),
                        create_revision: 0,
                        mod_revision: r,
                        version: 0,
                        value: Vec::new(),
                        lease: 0,
                    },
                    prev_kv: before.get(k).cloned(),
                },
            })
            .collect()
    }
}

const KEYS: [&[u8]; 5] = [b"a", b"ab", b"abc", b"b", b"c"];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(KEYS.to_vec()).prop_map(|k| k.to_vec())
}

fn span() -> impl Strategy<Value = KeySpan> {
    prop_oneof![
        key().prop_map(KeySpan::Key),
        prop::sample::select(vec![&b""[..], b"a", b"ab", b"b"])
            .prop_map(|p| KeySpan::Prefix(p.to_vec())),
        (key(), key()).prop_map(|(start, end)| KeySpan::Interval { start, end }),
        key().prop_map(KeySpan::From),
    ]
}

fn range() -> impl Strategy<Value = RangeRequest> {
    (span(), 0..12u64, 0..4u64, any::<bool>(), any::<bool>()).prop_map(
        |(span, revision, limit, count_only, keys_only)| RangeRequest {
            span,
            revision,
            limit,
            count_only,
            keys_only,
        },
    )
}

fn put() -> impl Strategy<Value = PutRequest> {
    (
        key(),
        0..3u8,
        prop_oneof![4 => Just(0u64), 1 => 1..3u64],
        any::<bool>(),
    )
        .prop_map(|(key, value, lease, prev_kv)| PutRequest {
            key,
            value: vec![value],
            lease,
            prev_kv,
        })
}

fn delete() -> impl Strategy<Value = DeleteRequest> {
    (span(), any::<bool>()).prop_map(|(span, prev_kv)| DeleteRequest { span, prev_kv })
}

fn compare() -> impl Strategy<Value = Compare> {
    let target = prop_oneof![
        (0..3u8).prop_map(|v| CompareTarget::Value(vec![v])),
        (0..3u64).prop_map(CompareTarget::Version),
        (0..8u64).prop_map(CompareTarget::CreateRevision),
        (0..8u64).prop_map(CompareTarget::ModRevision),
        (0..3u64).prop_map(CompareTarget::Lease),
    ];
    let result = prop::sample::select(vec![
        CompareResult::Equal,
        CompareResult::NotEqual,
        CompareResult::Greater,
        CompareResult::Less,
    ]);
    (key(), result, target).prop_map(|(key, result, target)| Compare {
        key,
        result,
        target,
    })
}

fn txn_op() -> impl Strategy<Value = TxnOp> {
    prop_oneof![
        range().prop_map(TxnOp::Range),
        put().prop_map(TxnOp::Put),
        delete().prop_map(TxnOp::Delete),
    ]
}

fn command() -> impl Strategy<Value = StoreCommand> {
    prop_oneof![
        6 => put().prop_map(StoreCommand::Put),
        2 => delete().prop_map(StoreCommand::Delete),
        3 => (
            prop::collection::vec(compare(), 0..3),
            prop::collection::vec(txn_op(), 0..4),
            prop::collection::vec(txn_op(), 0..4),
        )
            .prop_map(|(compare, success, failure)| StoreCommand::Txn(TxnRequest {
                compare,
                success,
                failure,
            })),
        1 => (0..12u64).prop_map(|revision| StoreCommand::Compact { revision }),
        1 => (0..3u64, 0..10u64).prop_map(|(id, ttl_s)| StoreCommand::LeaseGrant { id, ttl_s }),
        1 => (0..3u64).prop_map(|id| StoreCommand::LeaseRevoke { id }),
    ]
}

fn all_keys() -> RangeRequest {
    RangeRequest::latest(KeySpan::Prefix(Vec::new()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mvcc_matches_a_copy_per_revision(commands in prop::collection::vec(command(), 1..40)) {
        let mut mvcc = Mvcc::default();
        let mut reference = Reference::new();
        for command in &commands {
            let expected = reference.apply(command);
            let got = mvcc.apply(command);
            prop_assert_eq!(&got, &expected, "after {:?}", command);
            mvcc.assert_invariants();
            prop_assert_eq!(mvcc.revision, reference.revision());
            // Every readable revision reads as the reference's copy of it.
            for revision in reference.compact_revision.max(1)..=reference.revision() {
                let request = RangeRequest { revision, ..all_keys() };
                let latest = reference.latest().clone();
                prop_assert_eq!(mvcc.range(&request), reference.range(&request, &latest));
            }
            // Every revision above the compaction has its events, and they are the diff
            // (the store emits them in write order, the reference in key order).
            for revision in (reference.compact_revision + 1).max(2)..=reference.revision() {
                let mut events = mvcc.events_at(revision);
                events.sort_by(|a, b| a.kv.key.cmp(&b.kv.key));
                prop_assert_eq!(events, reference.events_at(revision));
            }
        }
    }
}

#[test]
fn a_lease_revoke_deletes_its_keys_in_one_revision() {
    let mut mvcc = Mvcc::default();
    let granted = mvcc.apply(&StoreCommand::LeaseGrant { id: 0, ttl_s: 10 });
    let StoreOutput::LeaseGranted { id, ttl_s } = granted else {
        panic!("{granted:?}")
    };
    assert_eq!((id, ttl_s), (1, 10));
    for key in [b"x".to_vec(), b"y".to_vec()] {
        let put = PutRequest {
            key,
            value: b"v".to_vec(),
            lease: id,
            prev_kv: false,
        };
        mvcc.apply(&StoreCommand::Put(put));
    }
    assert_eq!(mvcc.revision, 3);
    let revoked = mvcc.apply(&StoreCommand::LeaseRevoke { id });
    assert_eq!(revoked, StoreOutput::LeaseRevoked { revision: 4 });
    let events = mvcc.events_at(4);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == EventKind::Delete));
    assert_eq!(mvcc.get(b"x"), None);
    let again = mvcc.apply(&StoreCommand::LeaseRevoke { id });
    assert_eq!(again, StoreOutput::Error(StoreError::LeaseNotFound { id }));
}

#[test]
fn reads_below_the_compaction_fail_with_its_revision() {
    let mut mvcc = Mvcc::default();
    for value in 0..5u8 {
        let put = PutRequest {
            key: b"k".to_vec(),
            value: vec![value],
            lease: 0,
            prev_kv: false,
        };
        mvcc.apply(&StoreCommand::Put(put));
    }
    assert_eq!(
        mvcc.apply(&StoreCommand::Compact { revision: 4 }),
        StoreOutput::Compacted { revision: 4 }
    );
    let old = RangeRequest {
        revision: 3,
        ..RangeRequest::latest(KeySpan::Key(b"k".to_vec()))
    };
    assert_eq!(
        mvcc.range(&old),
        Err(StoreError::Compacted {
            compact_revision: 4
        })
    );
    let at = RangeRequest { revision: 4, ..old };
    assert_eq!(mvcc.range(&at).unwrap().kvs[0].value, vec![2]);
    assert_eq!(
        mvcc.histories[&b"k".to_vec()].len(),
        3,
        "versions 4, 5, 6 remain"
    );
}

#[test]
fn the_quota_refuses_puts_until_compaction_frees_room() {
    let mut mvcc = Mvcc::default();
    let put = |value: u8| {
        StoreCommand::Put(PutRequest {
            key: b"k".to_vec(),
            value: vec![value; VALUE_BYTES_MAX],
            lease: 0,
            prev_kv: false,
        })
    };
    let mut accepted = 0u64;
    let refused = loop {
        match mvcc.apply(&put(accepted as u8)) {
            StoreOutput::Put { .. } => accepted += 1,
            other => break other,
        }
        assert!(accepted < 1000, "the quota never refused");
    };
    assert!(
        matches!(refused, StoreOutput::Error(StoreError::NoSpace { .. })),
        "{refused:?}"
    );
    assert_eq!(
        accepted,
        KEYSPACE_BYTES_MAX / (VALUE_BYTES_MAX as u64 + 1 + VERSION_OVERHEAD_BYTES)
    );
    // A transaction that runs out midway writes nothing.
    let revision = mvcc.revision;
    let txn = StoreCommand::Txn(TxnRequest {
        compare: vec![],
        success: vec![TxnOp::Put(PutRequest {
            key: b"other".to_vec(),
            value: vec![1; VALUE_BYTES_MAX],
            lease: 0,
            prev_kv: false,
        })],
        failure: vec![],
    });
    assert!(matches!(
        mvcc.apply(&txn),
        StoreOutput::Error(StoreError::NoSpace { .. })
    ));
    assert_eq!(mvcc.revision, revision);
    // Compacting away the old versions makes room again.
    let compacted = mvcc.apply(&StoreCommand::Compact { revision });
    assert_eq!(compacted, StoreOutput::Compacted { revision });
    assert!(matches!(mvcc.apply(&put(9)), StoreOutput::Put { .. }));
    mvcc.assert_invariants();
}

#[test]
fn oversized_and_duplicate_writes_are_refused_without_a_revision() {
    let mut mvcc = Mvcc::default();
    let huge = PutRequest {
        key: b"k".to_vec(),
        value: vec![0; VALUE_BYTES_MAX + 1],
        lease: 0,
        prev_kv: false,
    };
    let refused = mvcc.apply(&StoreCommand::Put(huge));
    assert!(matches!(
        refused,
        StoreOutput::Error(StoreError::Invalid { .. })
    ));
    let put = |value: u8| {
        TxnOp::Put(PutRequest {
            key: b"k".to_vec(),
            value: vec![value],
            lease: 0,
            prev_kv: false,
        })
    };
    let twice = TxnRequest {
        compare: vec![],
        success: vec![put(1), put(2)],
        failure: vec![],
    };
    let refused = mvcc.apply(&StoreCommand::Txn(twice));
    assert!(matches!(
        refused,
        StoreOutput::Error(StoreError::Invalid { .. })
    ));
    assert_eq!(mvcc.revision, 1);
    mvcc.assert_invariants();
}
