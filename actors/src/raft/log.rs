//! The in-memory Raft log above the latest snapshot.

use serde::{Deserialize, Serialize};

use super::{Entry, Index, Term};

/// A log position: the index of an entry and the term it was created in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct LogPosition {
    pub index: Index,
    pub term: Term,
}

/// Entries `snapshot.index + 1 ..= last` and the position the snapshot ends at.
///
/// Invariant: entry terms never decrease along the log, and `entries[k]` has index
/// `snapshot.index + 1 + k`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RaftLog<C> {
    pub snapshot: LogPosition,
    pub entries: Vec<Entry<C>>,
}

impl<C: Clone> RaftLog<C> {
    pub fn new(snapshot: LogPosition, entries: Vec<Entry<C>>) -> Self {
        let log = RaftLog { snapshot, entries };
        log.assert_terms_monotone();
        log
    }

    pub fn last(&self) -> LogPosition {
        match self.entries.last() {
            Some(entry) => LogPosition {
                index: self.last_index(),
                term: entry.term,
            },
            None => self.snapshot,
        }
    }

    pub fn last_index(&self) -> Index {
        self.snapshot.index + self.entries.len() as Index
    }

    pub fn first_index(&self) -> Index {
        self.snapshot.index + 1
    }

    /// The term of the entry at `index`; `None` if compacted away (below the snapshot)
    /// or not yet appended.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot.index {
            return Some(self.snapshot.term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    pub fn entry(&self, index: Index) -> Option<&Entry<C>> {
        if index <= self.snapshot.index {
            return None;
        }
        self.entries.get((index - self.snapshot.index - 1) as usize)
    }

    /// Entries from `from` on, at most `count_max` of them.
    pub fn slice(&self, from: Index, count_max: usize) -> Vec<Entry<C>> {
        assert!(from > self.snapshot.index, "slice below the snapshot");
        let start = (from - self.snapshot.index - 1) as usize;
        let start = start.min(self.entries.len());
        let end = (start + count_max).min(self.entries.len());
        self.entries[start..end].to_vec()
    }

    /// Appends one entry at the end.
    pub fn push(&mut self, entry: Entry<C>) {
        assert!(
            entry.term >= self.last().term,
            "entry terms must not decrease"
        );
        self.entries.push(entry);
    }

    /// Drops every entry at `from` and after.
    pub fn truncate_from(&mut self, from: Index) {
        assert!(
            from > self.snapshot.index,
            "cannot truncate into the snapshot"
        );
        let keep = (from - self.snapshot.index - 1) as usize;
        self.entries.truncate(keep);
    }

    /// Replaces everything from `first` on with `entries` (what a WAL `Append` record means).
    pub fn splice(&mut self, first: Index, entries: &[Entry<C>]) {
        assert!(first > self.snapshot.index, "splice into the snapshot");
        assert!(first <= self.last_index() + 1, "splice leaves a gap");
        self.truncate_from(first);
        self.entries.extend_from_slice(entries);
        self.assert_terms_monotone();
    }

    /// Forgets entries up to and including `upto`, which become part of a snapshot.
    pub fn compact_to(&mut self, upto: LogPosition) {
        assert!(
            upto.index >= self.snapshot.index,
            "compaction goes backwards"
        );
        if upto.index <= self.last_index() && self.term_at(upto.index) == Some(upto.term) {
            let drop = (upto.index - self.snapshot.index) as usize;
            self.entries.drain(..drop);
        } else {
            // The snapshot is ahead of or disagrees with our log: none of it survives.
            self.entries.clear();
        }
        self.snapshot = upto;
        self.assert_terms_monotone();
    }

    /// First index of the run of entries with the same term as the entry at `index`.
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let term = self.term_at(index).expect("index must be in the log");
        let mut first = index;
        while first > self.first_index() && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Last index holding an entry of `term`, if any entry of that term is present.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let mut index = self.last_index();
        while index > self.snapshot.index {
            let at = self.term_at(index).expect("in range");
            if at == term {
                return Some(index);
            }
            if at < term {
                return None;
            }
            index -= 1;
        }
        None
    }

    fn assert_terms_monotone(&self) {
        debug_assert!(
            self.entries
                .windows(2)
                .all(|pair| pair[0].term <= pair[1].term),
            "entry terms decrease"
        );
        debug_assert!(self
            .entries
            .first()
            .is_none_or(|first| first.term >= self.snapshot.term));
    }
}
