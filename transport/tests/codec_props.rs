//! Property tests of the codec: representative messages round-trip, and arbitrary bytes
//! never make `decode` panic.

use std::collections::BTreeMap;

use kactor_transport::codec::{decode, encode};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
enum Entry {
    Noop,
    Put { key: String, value: Vec<u8> },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
enum Message {
    Vote {
        term: u64,
        candidate: u64,
        last_log: Option<(u64, u64)>,
    },
    Append {
        term: u64,
        entries: Vec<Entry>,
        commit: Option<u64>,
    },
    Labels(BTreeMap<String, String>),
    Nested(Vec<Option<Vec<u64>>>),
    Unit,
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        Just(Entry::Noop),
        (".{0,16}", prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(key, value)| Entry::Put { key, value }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u64>(), any::<u64>(), any::<Option<(u64, u64)>>()).prop_map(
            |(term, candidate, last_log)| Message::Vote {
                term,
                candidate,
                last_log
            }
        ),
        (
            any::<u64>(),
            prop::collection::vec(entry(), 0..8),
            any::<Option<u64>>()
        )
            .prop_map(|(term, entries, commit)| Message::Append {
                term,
                entries,
                commit
            }),
        prop::collection::btree_map(".{0,8}", ".{0,8}", 0..8).prop_map(Message::Labels),
        prop::collection::vec(any::<Option<Vec<u64>>>(), 0..8).prop_map(Message::Nested),
        Just(Message::Unit),
    ]
}

proptest! {
    #[test]
    fn round_trip(msg in message()) {
        let bytes = encode(&msg).expect("encode");
        let back: Message = decode(&bytes).expect("decode");
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn trailing_byte_is_refused(msg in message(), extra in any::<u8>()) {
        let mut bytes = encode(&msg).expect("encode");
        bytes.push(extra);
        prop_assert!(decode::<Message>(&bytes).is_err());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        // Ok or Err are both fine; a panic fails the test.
        let _ = decode::<Message>(&bytes);
    }

    #[test]
    fn decode_then_encode_is_identity_on_success(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(msg) = decode::<Message>(&bytes) {
            // bincode varints are canonical-ish; re-encoding must at least decode equal.
            let again = encode(&msg).expect("encode");
            prop_assert_eq!(decode::<Message>(&again).expect("decode"), msg);
        }
    }
}
