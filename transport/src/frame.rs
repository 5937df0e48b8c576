//! Length-prefixed frames: a 4-byte big-endian payload length, then the payload. A message
//! larger than one frame (a snapshot of a big store) travels as consecutive fragments: each
//! frame's payload starts with a flag saying whether the message continues.
//!
//! Invariant: a frame header announcing more than [`FRAME_BYTES_MAX`] is refused from the
//! header alone, before any allocation or body read, so a peer cannot make us allocate.
//! Invariant: a reassembled message never exceeds [`MESSAGE_BYTES_MAX`].

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest payload a frame may carry. A Raft InstallSnapshot chunk (the largest message any
/// actor sends) must fit, and a peer must not be able to make us allocate more than this.
pub const FRAME_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Most we allocate for a frame body before its bytes arrive; larger bodies grow as they
/// are read, so memory follows what a peer actually sent, not what its header claims.
pub const FRAME_PREALLOC_BYTES_MAX: usize = 64 * 1024;

/// Size of the length prefix: a u32, big-endian.
pub const FRAME_HEADER_BYTES: usize = 4;

const _: () = assert!(
    FRAME_BYTES_MAX <= u32::MAX as usize,
    "length must fit the u32 header"
);

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("stream ended inside a frame header ({got} of {FRAME_HEADER_BYTES} bytes)")]
    TruncatedHeader { got: usize },
    #[error("stream ended inside a frame body ({got} of {len} bytes)")]
    TruncatedBody { got: usize, len: usize },
    #[error("frame io: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame payload has no fragment flag, or an unknown one")]
    BadFragment,
    #[error("fragmented message exceeds the maximum of {MESSAGE_BYTES_MAX} bytes")]
    MessageTooLarge,
}

/// Largest message the mesh carries, across fragments: a snapshot of a store at etcd's
/// default 2 GiB quota would not fit, but Kubernetes clusters of thousands of objects do.
pub const MESSAGE_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Fragment flag: the message ends with this frame.
pub const FRAGMENT_LAST: u8 = 0;
/// Fragment flag: more frames of this message follow.
pub const FRAGMENT_MORE: u8 = 1;
/// Message bytes one frame carries after its flag.
pub const FRAGMENT_BYTES_MAX: usize = FRAME_BYTES_MAX - 1;

/// Splits a message into frame payloads, each starting with its fragment flag.
pub fn fragments(message: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    assert!(
        message.len() <= MESSAGE_BYTES_MAX,
        "message over the maximum"
    );
    let count = message.len().div_ceil(FRAGMENT_BYTES_MAX).max(1);
    (0..count).map(move |i| {
        let chunk = &message[(i * FRAGMENT_BYTES_MAX).min(message.len())
            ..((i + 1) * FRAGMENT_BYTES_MAX).min(message.len())];
        let flag = if i + 1 == count {
            FRAGMENT_LAST
        } else {
            FRAGMENT_MORE
        };
        let mut payload = Vec::with_capacity(chunk.len() + 1);
        payload.push(flag);
        payload.extend_from_slice(chunk);
        payload
    })
}

/// Joins fragments back into messages, one stream at a time.
#[derive(Default)]
pub struct Reassembly {
    partial: Vec<u8>,
}

impl Reassembly {
    /// Takes one frame payload; returns the message it completes, if any.
    pub fn push(&mut self, payload: Vec<u8>) -> Result<Option<Vec<u8>>, FrameError> {
        let (&flag, chunk) = payload.split_first().ok_or(FrameError::BadFragment)?;
        if self.partial.len() + chunk.len() > MESSAGE_BYTES_MAX {
            return Err(FrameError::MessageTooLarge);
        }
        match flag {
            FRAGMENT_MORE => {
                self.partial.extend_from_slice(chunk);
                Ok(None)
            }
            FRAGMENT_LAST if self.partial.is_empty() => {
                // The common case, a message in one frame: drop the flag without copying.
                let mut message = payload;
                message.remove(0);
                Ok(Some(message))
            }
            FRAGMENT_LAST => {
                self.partial.extend_from_slice(chunk);
                Ok(Some(std::mem::take(&mut self.partial)))
            }
            _ => Err(FrameError::BadFragment),
        }
    }
}

/// Reads one frame. `Ok(None)` is a clean end of stream at a frame boundary.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; FRAME_HEADER_BYTES];
    let mut got = 0usize;
    while got < FRAME_HEADER_BYTES {
        let n = r.read(&mut header[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(FrameError::TruncatedHeader { got });
        }
        got += n;
    }
    assert_eq!(got, FRAME_HEADER_BYTES);
    let len = header_len(header)?;
    // Only now, with `len` checked against the maximum, do we allocate, and then only as
    // bytes arrive: a peer that announces 8 MiB and sends nothing costs us little.
    let mut payload = Vec::with_capacity(len.min(FRAME_PREALLOC_BYTES_MAX));
    let mut body = (&mut *r).take(len as u64);
    body.read_to_end(&mut payload).await?;
    if payload.len() < len {
        return Err(FrameError::TruncatedBody {
            got: payload.len(),
            len,
        });
    }
    assert_eq!(payload.len(), len);
    Ok(Some(payload))
}

/// Writes one frame (header then payload). Refuses payloads over [`FRAME_BYTES_MAX`].
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
) -> Result<(), FrameError> {
    let header = header_of(payload.len())?;
    w.write_all(&header).await?;
    w.write_all(payload).await?;
    Ok(())
}

/// Encodes one frame into a buffer. Refuses payloads over [`FRAME_BYTES_MAX`].
pub fn encode_frame(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let header = header_of(payload.len())?;
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    assert_eq!(out.len(), FRAME_HEADER_BYTES + payload.len());
    Ok(out)
}

/// Parses a header into a checked payload length.
pub fn header_len(header: [u8; FRAME_HEADER_BYTES]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > FRAME_BYTES_MAX {
        return Err(FrameError::TooLarge {
            len,
            max: FRAME_BYTES_MAX,
        });
    }
    Ok(len)
}

fn header_of(len: usize) -> Result<[u8; FRAME_HEADER_BYTES], FrameError> {
    if len > FRAME_BYTES_MAX {
        return Err(FrameError::TooLarge {
            len,
            max: FRAME_BYTES_MAX,
        });
    }
    let len_u32 = u32::try_from(len).map_err(|_| FrameError::TooLarge {
        len,
        max: FRAME_BYTES_MAX,
    })?;
    Ok(len_u32.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn round_trip_several_frames_then_clean_eof() {
        block_on(async {
            let (mut a, mut b) = tokio::io::duplex(64 * 1024);
            let payloads: Vec<Vec<u8>> = vec![vec![], vec![1], vec![7; 1000], b"hello".to_vec()];
            for p in &payloads {
                write_frame(&mut a, p).await.expect("write");
            }
            drop(a);
            for p in &payloads {
                assert_eq!(read_frame(&mut b).await.expect("read").as_ref(), Some(p));
            }
            assert!(read_frame(&mut b).await.expect("eof").is_none());
        });
    }

    #[test]
    fn encode_frame_matches_write_frame() {
        let f = encode_frame(b"abc").expect("encode");
        assert_eq!(f, vec![0, 0, 0, 3, b'a', b'b', b'c']);
        block_on(async {
            let mut r: &[u8] = &f;
            assert_eq!(
                read_frame(&mut r).await.expect("read"),
                Some(b"abc".to_vec())
            );
        });
    }

    /// A reader that yields only a header and then fails the test if its body is read:
    /// proves the size check happens before any body read (and thus before allocation).
    struct HeaderOnly {
        header: [u8; FRAME_HEADER_BYTES],
        pos: usize,
    }

    impl AsyncRead for HeaderOnly {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            assert!(
                self.pos < FRAME_HEADER_BYTES,
                "body was read after an oversized header"
            );
            // Body-sized buffers would reveal an allocation; the header buffer is 4 bytes.
            assert!(
                buf.remaining() <= FRAME_HEADER_BYTES,
                "allocated a body buffer"
            );
            let pos = self.pos;
            let n = buf.remaining().min(FRAME_HEADER_BYTES - pos);
            buf.put_slice(&self.header[pos..pos + n]);
            self.pos += n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn oversized_header_refused_without_reading_body() {
        block_on(async {
            for len in [FRAME_BYTES_MAX as u32 + 1, 16 * 1024 * 1024, u32::MAX] {
                let mut r = HeaderOnly {
                    header: len.to_be_bytes(),
                    pos: 0,
                };
                match read_frame(&mut r).await {
                    Err(FrameError::TooLarge { len: got, max }) => {
                        assert_eq!(got, len as usize);
                        assert_eq!(max, FRAME_BYTES_MAX);
                    }
                    other => panic!("expected TooLarge, got {other:?}"),
                }
            }
        });
    }

    #[test]
    fn max_sized_header_is_accepted() {
        assert_eq!(
            header_len((FRAME_BYTES_MAX as u32).to_be_bytes()).expect("max"),
            FRAME_BYTES_MAX
        );
        assert!(encode_frame(&vec![0u8; FRAME_BYTES_MAX + 1]).is_err());
    }

    #[test]
    fn truncated_body_and_header_are_errors() {
        block_on(async {
            let mut r: &[u8] = &[0, 0, 0, 10, 1, 2, 3];
            match read_frame(&mut r).await {
                Err(FrameError::TruncatedBody { got: 3, len: 10 }) => {}
                other => panic!("expected TruncatedBody, got {other:?}"),
            }
            let mut r: &[u8] = &[0, 0];
            match read_frame(&mut r).await {
                Err(FrameError::TruncatedHeader { got: 2 }) => {}
                other => panic!("expected TruncatedHeader, got {other:?}"),
            }
        });
    }

    #[test]
    fn messages_of_every_size_survive_fragmentation() {
        let sizes = [
            0,
            1,
            FRAGMENT_BYTES_MAX,
            FRAGMENT_BYTES_MAX + 1,
            2 * FRAGMENT_BYTES_MAX + 3,
        ];
        for size in sizes {
            let message: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let frames: Vec<Vec<u8>> = fragments(&message).collect();
            assert_eq!(frames.len(), size.div_ceil(FRAGMENT_BYTES_MAX).max(1));
            assert!(frames.iter().all(|f| f.len() <= FRAME_BYTES_MAX));
            let mut reassembly = Reassembly::default();
            let mut out = Vec::new();
            for frame in frames {
                out.extend(reassembly.push(frame).expect("well-formed"));
            }
            assert_eq!(out, vec![message], "size {size}");
        }
    }

    #[test]
    fn bad_flags_and_oversized_messages_are_refused() {
        let mut reassembly = Reassembly::default();
        assert!(matches!(
            reassembly.push(Vec::new()),
            Err(FrameError::BadFragment)
        ));
        assert!(matches!(
            reassembly.push(vec![7, 1, 2]),
            Err(FrameError::BadFragment)
        ));
        let chunk = vec![FRAGMENT_MORE; FRAGMENT_BYTES_MAX + 1];
        let mut refused = false;
        for _ in 0..=MESSAGE_BYTES_MAX / FRAGMENT_BYTES_MAX {
            match reassembly.push(chunk.clone()) {
                Ok(None) => continue,
                Err(FrameError::MessageTooLarge) => {
                    refused = true;
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(refused, "a message past MESSAGE_BYTES_MAX is refused");
    }
}
