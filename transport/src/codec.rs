//! The one codec: every protocol message crosses the wire as bincode 2 (serde API), one
//! message per frame (or per run of fragments, for messages larger than a frame).
//!
//! Invariant: `decode` refuses trailing bytes, and never allocates more than
//! [`FRAME_BYTES_MAX`] for a message that fits a frame, nor more than
//! [`MESSAGE_BYTES_MAX`] for any message: what a message may claim follows its real size.

use serde::{de::DeserializeOwned, Serialize};

use crate::frame::{FRAME_BYTES_MAX, MESSAGE_BYTES_MAX};

/// Standard bincode config (varint integers, little endian) with a byte limit.
fn config<const LIMIT: usize>() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<LIMIT>,
> {
    bincode::config::standard().with_limit::<LIMIT>()
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode message: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error("cannot decode message: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("message decoded from {consumed} of {len} bytes: {trailing} trailing bytes", trailing = len - consumed)]
    TrailingBytes { consumed: usize, len: usize },
}

/// Encodes one message. Fails if the encoding would exceed [`MESSAGE_BYTES_MAX`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::serde::encode_to_vec(value, config::<MESSAGE_BYTES_MAX>())?;
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: MESSAGE_BYTES_MAX,
        });
    }
    Ok(bytes)
}

/// Decodes exactly one message from `bytes`; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: MESSAGE_BYTES_MAX,
        });
    }
    let decoded = if bytes.len() <= FRAME_BYTES_MAX {
        bincode::serde::decode_from_slice::<T, _>(bytes, config::<FRAME_BYTES_MAX>())
    } else {
        bincode::serde::decode_from_slice::<T, _>(bytes, config::<MESSAGE_BYTES_MAX>())
    };
    let (value, consumed) = decoded?;
    assert!(consumed <= bytes.len(), "bincode consumed past the input");
    if consumed != bytes.len() {
        return Err(CodecError::TrailingBytes {
            consumed,
            len: bytes.len(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Msg {
        Ping(u64),
        Data { name: String, body: Vec<u8> },
    }

    #[test]
    fn round_trip() {
        let m = Msg::Data {
            name: "x".into(),
            body: vec![1, 2, 3],
        };
        let b = encode(&m).expect("encode");
        assert_eq!(decode::<Msg>(&b).expect("decode"), m);
        assert_eq!(
            decode::<Msg>(&encode(&Msg::Ping(7)).expect("e")).expect("d"),
            Msg::Ping(7)
        );
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut b = encode(&Msg::Ping(7)).expect("encode");
        b.push(0);
        match decode::<Msg>(&b) {
            Err(CodecError::TrailingBytes { consumed, len }) => assert_eq!(consumed + 1, len),
            other => panic!("expected TrailingBytes, got {other:?}"),
        }
    }

    #[test]
    fn huge_length_prefix_refused_without_allocating() {
        // variant 1, name = "" then a body claiming u64::MAX - 1 bytes.
        let b = [1u8, 0, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(decode::<Msg>(&b), Err(CodecError::Decode(_))));
        let big = vec![0u8; MESSAGE_BYTES_MAX + 1];
        assert!(matches!(
            decode::<Msg>(&big),
            Err(CodecError::TooLarge { .. })
        ));
        assert!(matches!(
            encode(&big),
            Err(CodecError::TooLarge { .. }) | Err(CodecError::Encode(_))
        ));
    }
}
