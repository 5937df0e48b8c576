//! The watch cache of one resource type: every object as of `revision`, and a bounded
//! window of recent changes. One store watch feeds it; every client list and watch of
//! that type is served from it, without a Raft round per watcher.
//!
//! It is filled in Kubernetes' reflector order: a list at one revision, then the store's
//! watch from the next. Until that list is in, the cache is not `synced` and serves no one.

use std::collections::{BTreeMap, VecDeque};

use crate::store::Revision;

/// Changes a cache keeps for watches that start in the past: kube-apiserver's default
/// watch cache holds 100 per type; we keep more, since a relisting informer costs more
/// than the memory. A watch from before the window gets 410 Expired and relists.
pub const CACHE_HISTORY_EVENTS_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CachedObject {
    pub create_revision: Revision,
    pub mod_revision: Revision,
    /// The object's JSON, with `metadata.resourceVersion` set to `mod_revision`.
    pub json: Vec<u8>,
    /// What garbage collection looks at, read once when the object arrives.
    pub summary: ObjectSummary,
}

/// The metadata the collector scans, so a scan parses no JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ObjectSummary {
    pub uid: String,
    /// The uids of `metadata.ownerReferences`.
    pub owners: Vec<String>,
    pub terminating: bool,
    pub finalizers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheChange {
    pub revision: Revision,
    pub key: Vec<u8>,
    /// The object after the change; `None` when it was deleted.
    pub object: Option<CachedObject>,
    /// The object before the change; `None` when it was created.
    pub prev: Option<CachedObject>,
}

/// Why a watch cannot be served from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheGap {
    /// The revision is older than the window: 410 Expired.
    Expired { oldest: Revision },
    /// The cache has not reached the revision yet: wait.
    Ahead { revision: Revision },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatchCache {
    objects: BTreeMap<Vec<u8>, CachedObject>,
    history: VecDeque<CacheChange>,
    /// Every change up to and including this revision is applied.
    revision: Revision,
    /// Changes after this revision are all in `history`.
    oldest: Revision,
    synced: bool,
    /// Objects listed so far while (re)filling: swapped in whole when the list ends, so
    /// readers never see half a list (kube-runtime's reflector does the same).
    filling: BTreeMap<Vec<u8>, CachedObject>,
}

impl Default for WatchCache {
    fn default() -> Self {
        WatchCache::new()
    }
}

impl WatchCache {
    pub fn new() -> WatchCache {
        WatchCache {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            revision: 0,
            oldest: 0,
            synced: false,
            filling: BTreeMap::new(),
        }
    }

    pub fn synced(&self) -> bool {
        self.synced
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Drops everything: the store watch broke (compaction overtook it), so the cache
    /// relists. Watches served from it are ended by the caller.
    pub fn reset(&mut self) {
        *self = WatchCache::new();
    }

    /// One page of the initial list.
    pub fn fill(&mut self, key: Vec<u8>, object: CachedObject) {
        assert!(!self.synced, "filling a synced cache");
        self.filling.insert(key, object);
    }

    /// The list at `revision` is complete: the cache is synced at it.
    pub fn finish_fill(&mut self, revision: Revision) {
        assert!(!self.synced, "finishing a fill twice");
        assert!(
            self.filling.values().all(|o| o.mod_revision <= revision),
            "listed an object newer than the list"
        );
        self.objects = std::mem::take(&mut self.filling);
        self.history.clear();
        self.revision = revision;
        self.oldest = revision;
        self.synced = true;
    }

    /// Applies one change. Changes arrive in revision order; within a revision several
    /// keys may change (a transaction).
    pub fn apply(&mut self, revision: Revision, key: Vec<u8>, object: Option<CachedObject>) {
        assert!(self.synced, "a change before the list");
        assert!(
            revision > self.oldest,
            "a change inside the list's revision"
        );
        assert!(revision >= self.revision, "changes out of order");
        let prev = match &object {
            Some(object) => {
                assert_eq!(object.mod_revision, revision);
                self.objects.insert(key.clone(), object.clone())
            }
            None => self.objects.remove(&key),
        };
        // A delete of a key the cache never had changes nothing a watcher could see.
        if object.is_none() && prev.is_none() {
            self.revision = revision;
            return;
        }
        self.history.push_back(CacheChange {
            revision,
            key,
            object,
            prev,
        });
        self.revision = revision;
        while self.history.len() > CACHE_HISTORY_EVENTS_MAX {
            let dropped = self.history.pop_front().expect("non-empty");
            self.oldest = self.oldest.max(dropped.revision);
        }
        // Dropping only part of a revision would make a watch from inside it miss events.
        while self
            .history
            .front()
            .is_some_and(|c| c.revision <= self.oldest)
        {
            self.history.pop_front();
        }
    }

    /// Nothing changed up to `revision` (a store bookmark).
    pub fn progress(&mut self, revision: Revision) {
        assert!(self.synced, "progress before the list");
        self.revision = self.revision.max(revision);
    }

    pub fn get(&self, key: &[u8]) -> Option<&CachedObject> {
        self.objects.get(key)
    }

    /// Objects whose keys start with `prefix`, from `after` (exclusive) on.
    pub fn objects<'a>(
        &'a self,
        prefix: &'a [u8],
        after: &[u8],
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a CachedObject)> + 'a {
        use std::ops::Bound;
        let start = if after.is_empty() {
            Bound::Included(prefix.to_vec())
        } else {
            Bound::Excluded(after.to_vec())
        };
        self.objects
            .range((start, Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(prefix))
    }

    /// The changes after `revision`, for a watch that starts there.
    pub fn changes_after(
        &self,
        revision: Revision,
    ) -> Result<impl Iterator<Item = &CacheChange>, CacheGap> {
        if revision < self.oldest {
            return Err(CacheGap::Expired {
                oldest: self.oldest,
            });
        }
        if revision > self.revision {
            return Err(CacheGap::Ahead {
                revision: self.revision,
            });
        }
        Ok(self.history.iter().filter(move |c| c.revision > revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(revision: Revision, body: &str) -> CachedObject {
        CachedObject {
            create_revision: revision,
            mod_revision: revision,
            json: body.as_bytes().to_vec(),
            summary: ObjectSummary::default(),
        }
    }

    #[test]
    fn fill_then_changes_serve_watches_from_the_list_revision() {
        let mut cache = WatchCache::new();
        cache.fill(b"/a".to_vec(), object(3, "a"));
        assert!(!cache.synced());
        cache.finish_fill(5);
        assert_eq!(cache.revision(), 5);
        cache.apply(6, b"/b".to_vec(), Some(object(6, "b")));
        cache.apply(7, b"/a".to_vec(), None);
        let after_5: Vec<Revision> = cache
            .changes_after(5)
            .unwrap()
            .map(|c| c.revision)
            .collect();
        assert_eq!(after_5, vec![6, 7]);
        assert_eq!(
            cache.changes_after(4).err(),
            Some(CacheGap::Expired { oldest: 5 })
        );
        assert_eq!(
            cache.changes_after(8).err(),
            Some(CacheGap::Ahead { revision: 7 })
        );
        let deleted = cache.changes_after(6).unwrap().next().unwrap();
        assert_eq!(deleted.prev.as_ref().unwrap().json, b"a");
        assert!(deleted.object.is_none());
        assert_eq!(cache.objects(b"/", b"").count(), 1);
    }

    #[test]
    fn the_window_drops_whole_revisions() {
        let mut cache = WatchCache::new();
        cache.finish_fill(1);
        for i in 0..CACHE_HISTORY_EVENTS_MAX as u64 + 10 {
            let revision = 2 + i / 2;
            let key = format!("/k{i}").into_bytes();
            let mut o = object(revision, "x");
            o.create_revision = revision;
            cache.apply(revision, key, Some(o));
        }
        let oldest = cache.oldest;
        assert!(cache.history.iter().all(|c| c.revision > oldest));
        assert!(cache.history.len() <= CACHE_HISTORY_EVENTS_MAX);
        assert!(cache.changes_after(oldest).is_ok());
        assert!(cache.changes_after(oldest - 1).is_err());
    }
}
