//! A minimal key-value machine for Raft's own tests (the store replicates `store::Mvcc`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::raft::StateMachine;

/// Keys a scan returns at most: bounds one reply under the frame limit.
pub const SCAN_KEYS_MAX: usize = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KvMap {
    pub entries: BTreeMap<String, Vec<u8>>,
    /// Count of applied mutations: a cheap fingerprint for tests and status.
    pub revision: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvCommand {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvQuery {
    Get { key: String },
    Prefix { prefix: String, limit: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvOutput {
    /// A mutation applied at this revision; `previous` is the value it replaced.
    Applied {
        revision: u64,
        previous: Option<Vec<u8>>,
    },
    Value(Option<Vec<u8>>),
    Entries(Vec<(String, Vec<u8>)>),
}

impl StateMachine for KvMap {
    type Command = KvCommand;
    type Query = KvQuery;
    type Output = KvOutput;

    fn apply(&mut self, command: &KvCommand) -> KvOutput {
        self.revision += 1;
        let previous = match command {
            KvCommand::Put { key, value } => self.entries.insert(key.clone(), value.clone()),
            KvCommand::Delete { key } => self.entries.remove(key),
        };
        KvOutput::Applied {
            revision: self.revision,
            previous,
        }
    }

    fn query(&self, query: &KvQuery) -> KvOutput {
        match query {
            KvQuery::Get { key } => KvOutput::Value(self.entries.get(key).cloned()),
            KvQuery::Prefix { prefix, limit } => {
                let limit = (*limit as usize).clamp(1, SCAN_KEYS_MAX);
                let found = self
                    .entries
                    .range(prefix.clone()..)
                    .take_while(|(key, _)| key.starts_with(prefix.as_str()))
                    .take(limit)
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                KvOutput::Entries(found)
            }
        }
    }
}
