//! The durable write-ahead log that hosts use to persist actor state (the Raft replica's
//! term, vote and log records go through it).
//!
//! Records are opaque byte strings; the caller encodes them with the codec. On disk the WAL
//! is a directory of segment files `wal-<16 hex digit seq>.log`. Each record is
//!
//! ```text
//! [u32 LE length word][u32 LE crc32][payload]
//! ```
//!
//! The length word holds the payload length in its low 31 bits and, in bit 31, the checkpoint
//! flag, which may only be set on the first record of a segment. The CRC (crc32, IEEE) covers
//! the length word and the payload: an all-zero header, which is what a crash leaves behind
//! when the file size reached the disk but the data did not, can then never pass as a valid
//! empty record, and a flipped length bit is caught even when the new length still fits.
//!
//! Writes go through one group-commit writer thread: it takes everything queued (up to
//! [`GROUP_COMMIT_RECORDS_MAX`] records), writes it, calls `fsync` once, then completes every
//! [`CommitTicket`] of the group. Tickets complete in append order, because durability is a
//! single watermark over append sequence numbers.
//!
//! A rebase (a batch whose first record is a checkpoint of the whole durable state) starts a
//! new segment; once it is durable, older segments are deleted, and replay starts at the newest
//! checkpoint.
//!
//! Invariant: a sealed (non-last) segment is always whole, because the writer fsyncs a segment
//! before it creates the next one. Damage in a sealed segment is therefore corruption, and only
//! the tail of the last segment may be torn.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::watch;

use crate::sync::{self, thread, Arc, Condvar, Mutex};

/// Largest record payload: a snapshot (checkpoint) record must fit in one record, and a
/// snapshot is as large as the largest message the mesh carries (`MESSAGE_BYTES_MAX`).
pub const WAL_RECORD_BYTES_MAX: u32 = 256 * 1024 * 1024;
/// Bytes of the per-record header: the length word and the CRC.
pub const WAL_RECORD_HEADER_BYTES: u32 = 8;
/// Roll to a new segment once the current one reaches this size: bounds the file read at once
/// during replay.
pub const WAL_SEGMENT_BYTES_TARGET: u64 = 64 * 1024 * 1024;
/// Largest segment file that `open` reads: one record may start just below the target, so a
/// bigger file was not written by this WAL and is refused before it is read into memory.
pub const WAL_SEGMENT_BYTES_MAX: u64 =
    WAL_SEGMENT_BYTES_TARGET + WAL_RECORD_HEADER_BYTES as u64 + WAL_RECORD_BYTES_MAX as u64;
/// Records written per fsync: amortises the fsync while keeping each group's latency bounded.
/// It is also the largest batch a single `append` accepts.
pub const GROUP_COMMIT_RECORDS_MAX: u32 = 1024;
/// Queued, not yet written records: past it `append` blocks, which pushes back on producers.
pub const GROUP_COMMIT_QUEUE_RECORDS_MAX: u32 = 4 * GROUP_COMMIT_RECORDS_MAX;
/// Queued, not yet written bytes (headers included): bounds memory; holds a max-sized record
/// and 64 MiB of ordinary records behind it.
pub const GROUP_COMMIT_QUEUE_BYTES_MAX: u64 = WAL_RECORD_BYTES_MAX as u64 + 64 * 1024 * 1024;
/// Small records are coalesced into one `write(2)` up to this size; bigger payloads go direct.
const WAL_WRITE_BUFFER_BYTES_MAX: usize = 1024 * 1024;
/// Bit 31 of the length word marks the checkpoint record that starts a rebased segment.
const RECORD_CHECKPOINT_FLAG: u32 = 1 << 31;
/// Name of the writer thread, as shown by `top -H` and in panics.
const WAL_WRITER_THREAD_NAME: &str = "kactor-wal";

const _: () = assert!(WAL_RECORD_BYTES_MAX < RECORD_CHECKPOINT_FLAG);
const _: () = assert!(GROUP_COMMIT_RECORDS_MAX <= GROUP_COMMIT_QUEUE_RECORDS_MAX);
const _: () = assert!(
    GROUP_COMMIT_QUEUE_BYTES_MAX >= WAL_RECORD_BYTES_MAX as u64 + WAL_RECORD_HEADER_BYTES as u64
);

/// What can go wrong with the WAL. Cloneable, because one failed fsync fails a whole group of
/// tickets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    /// An IO call failed. After a failed write or fsync the WAL refuses further appends.
    #[error("wal: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::sync::Arc<io::Error>,
    },
    /// The log holds damage that is not a torn tail; nothing was dropped or truncated.
    #[error("wal: corrupt segment {}, offset {offset}: {reason}", segment.display())]
    Corrupt {
        segment: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A record larger than [`WAL_RECORD_BYTES_MAX`] was appended; nothing was enqueued.
    #[error("wal: record of {bytes} bytes exceeds WAL_RECORD_BYTES_MAX ({WAL_RECORD_BYTES_MAX})")]
    RecordTooLarge { bytes: u64 },
    /// A batch exceeds [`GROUP_COMMIT_RECORDS_MAX`] records or [`GROUP_COMMIT_QUEUE_BYTES_MAX`]
    /// bytes; split it (tickets complete in order, so waiting for the last one suffices).
    #[error(
        "wal: batch of {records} records and {bytes} bytes exceeds GROUP_COMMIT_RECORDS_MAX \
         ({GROUP_COMMIT_RECORDS_MAX}) or GROUP_COMMIT_QUEUE_BYTES_MAX ({GROUP_COMMIT_QUEUE_BYTES_MAX})"
    )]
    BatchTooLarge { records: u64, bytes: u64 },
    /// `append(records, true)` needs the checkpoint as its first record.
    #[error("wal: a rebase batch must start with a checkpoint record, but it is empty")]
    EmptyRebase,
    /// The WAL accepts no more appends: it is shutting down, or an earlier write or fsync
    /// failed and only a reopen can tell what reached the disk.
    #[error("wal: closed: {reason}")]
    Closed { reason: String },
}

fn io_error(context: impl Into<String>, source: io::Error) -> WalError {
    // std's Arc on purpose: an immutable error payload shared by the tickets of a failed group
    // is not synchronisation, and loom's Arc is not an `Error`.
    WalError::Io {
        context: context.into(),
        source: std::sync::Arc::new(source),
    }
}

/// What `open` found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Every record from the newest checkpoint on (or from the beginning), in append order.
    pub records: Vec<Vec<u8>>,
    /// Bytes of torn tail cut from the last segment (0 after a clean shutdown).
    pub truncated_tail_bytes: u64,
}

// ---------------------------------------------------------------------------------------------
// Record format.

fn record_crc(length_word: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&length_word.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn encode_header(payload: &[u8], checkpoint: bool) -> [u8; WAL_RECORD_HEADER_BYTES as usize] {
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    assert!(
        length <= WAL_RECORD_BYTES_MAX,
        "append validates record sizes"
    );
    let length_word = length
        | if checkpoint {
            RECORD_CHECKPOINT_FLAG
        } else {
            0
        };
    let crc = record_crc(length_word, payload);
    let mut header = [0u8; WAL_RECORD_HEADER_BYTES as usize];
    header[..4].copy_from_slice(&length_word.to_le_bytes());
    header[4..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// A record that decoded cleanly: `bytes[payload_start..end]` is its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RecordAt {
    checkpoint: bool,
    payload_start: usize,
    end: usize,
}

/// Why the bytes at an offset are not a valid record. Cheap to build: the scan for a valid
/// record after damage calls the decoder at every byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadRecord {
    PartialHeader { available: usize },
    LengthOverMax { length: u32 },
    PastEnd { length: u32, available: usize },
    CrcMismatch { stored: u32, computed: u32 },
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BadRecord::PartialHeader { available } => {
                write!(
                    f,
                    "partial header ({available} of {WAL_RECORD_HEADER_BYTES} bytes)"
                )
            }
            BadRecord::LengthOverMax { length } => {
                write!(
                    f,
                    "length {length} exceeds WAL_RECORD_BYTES_MAX ({WAL_RECORD_BYTES_MAX})"
                )
            }
            BadRecord::PastEnd { length, available } => write!(
                f,
                "length {length} runs past the end of the segment ({available} payload bytes left)"
            ),
            BadRecord::CrcMismatch { stored, computed } => {
                write!(
                    f,
                    "crc mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
        }
    }
}

/// Decodes the record at `offset` without allocating; never panics, whatever `bytes` holds.
fn decode_record(bytes: &[u8], offset: usize) -> Result<RecordAt, BadRecord> {
    let rest = bytes.get(offset..).unwrap_or(&[]);
    let header: &[u8; 8] = match rest.get(..8).map(<&[u8; 8]>::try_from) {
        Some(Ok(header)) => header,
        _ => {
            return Err(BadRecord::PartialHeader {
                available: rest.len(),
            })
        }
    };
    let length_word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let length = length_word & !RECORD_CHECKPOINT_FLAG;
    if length > WAL_RECORD_BYTES_MAX {
        return Err(BadRecord::LengthOverMax { length });
    }
    let available = rest.len() - 8;
    // `length` <= 16 MiB, so the cast is lossless on every platform we build for.
    let payload = match rest.get(8..8 + length as usize) {
        Some(payload) => payload,
        None => return Err(BadRecord::PastEnd { length, available }),
    };
    let computed = record_crc(length_word, payload);
    if computed != stored {
        return Err(BadRecord::CrcMismatch { stored, computed });
    }
    let record = RecordAt {
        checkpoint: length_word & RECORD_CHECKPOINT_FLAG != 0,
        payload_start: offset + 8,
        end: offset + 8 + length as usize,
    };
    assert!(record.end <= bytes.len());
    Ok(record)
}

/// The first offset at or after `from` where a valid record starts, if any. Used to tell a
/// torn tail (nothing valid after the damage) from corruption (valid records follow).
fn find_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes.len().checked_sub(WAL_RECORD_HEADER_BYTES as usize)?;
    (from..=last_start).find(|&offset| decode_record(bytes, offset).is_ok())
}

// ---------------------------------------------------------------------------------------------
// Group commit queue: the handoff between appenders and the writer thread. Built only on
// `crate::sync`, so the loom tests check it without files.

/// Bounds of a [`GroupCommitQueue`]; loom tests shrink them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub(crate) queue_records_max: u32,
    pub(crate) queue_bytes_max: u64,
    pub(crate) group_records_max: u32,
}

impl QueueLimits {
    pub(crate) const PRODUCTION: QueueLimits = QueueLimits {
        queue_records_max: GROUP_COMMIT_QUEUE_RECORDS_MAX,
        queue_bytes_max: GROUP_COMMIT_QUEUE_BYTES_MAX,
        group_records_max: GROUP_COMMIT_RECORDS_MAX,
    };
}

/// One `append` call: its records, in order, under one sequence number.
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) records: Vec<Vec<u8>>,
    pub(crate) rebase: bool,
    bytes: u64,
}

/// What the writer takes at once: entries with contiguous sequence numbers.
pub(crate) struct Group {
    pub(crate) entries: Vec<Entry>,
    pub(crate) seq_first: u64,
    pub(crate) seq_last: u64,
    pub(crate) records: u32,
    pub(crate) bytes: u64,
}

struct Failure {
    seq_first: u64,
    seq_last: u64,
    error: WalError,
}

struct QueueState {
    entries: VecDeque<Entry>,
    records_queued: u32,
    bytes_queued: u64,
    /// Sequence number of the next `push`; sequence numbers start at 1.
    seq_next: u64,
    /// Every entry with `seq <= seq_durable` is durable.
    seq_durable: u64,
    /// The group the writer holds, as (seq_first, seq_last).
    in_flight: Option<(u64, u64)>,
    failure: Option<Failure>,
    closing: bool,
}

pub(crate) struct GroupCommitQueue {
    limits: QueueLimits,
    state: Mutex<QueueState>,
    /// Appenders wait here for room in the queue.
    space: Condvar,
    /// The writer waits here for entries.
    work: Condvar,
    /// Ticket holders wait here for the durable watermark.
    durable: Condvar,
}

/// A snapshot of the queue's counters, for assertions in the loom tests.
#[cfg(all(test, kactor_loom))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueStats {
    pub(crate) entries: usize,
    pub(crate) records_queued: u32,
    pub(crate) bytes_queued: u64,
    pub(crate) seq_next: u64,
    pub(crate) seq_durable: u64,
}

fn batch_bytes(records: &[Vec<u8>]) -> u64 {
    let header = u64::from(WAL_RECORD_HEADER_BYTES);
    records
        .iter()
        .map(|record| record.len() as u64 + header)
        .sum()
}

impl GroupCommitQueue {
    pub(crate) fn new(limits: QueueLimits) -> GroupCommitQueue {
        assert!(limits.group_records_max > 0);
        assert!(limits.group_records_max <= limits.queue_records_max);
        GroupCommitQueue {
            limits,
            state: Mutex::new(QueueState {
                entries: VecDeque::new(),
                records_queued: 0,
                bytes_queued: 0,
                seq_next: 1,
                seq_durable: 0,
                in_flight: None,
                failure: None,
                closing: false,
            }),
            space: Condvar::new(),
            work: Condvar::new(),
            durable: Condvar::new(),
        }
    }

    /// Whether a batch could ever enter the queue (it fits an empty queue and one group).
    pub(crate) fn admits(&self, records: &[Vec<u8>]) -> bool {
        records.len() as u64 <= u64::from(self.limits.group_records_max)
            && batch_bytes(records) <= self.limits.queue_bytes_max
    }

    /// Enqueues one batch and returns its sequence number; blocks while the queue is full.
    pub(crate) fn push(&self, records: Vec<Vec<u8>>, rebase: bool) -> Result<u64, WalError> {
        assert!(self.admits(&records), "the caller checks `admits` first");
        let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
        let bytes = batch_bytes(&records);
        let mut state = sync::lock(&self.state);
        loop {
            if let Some(failure) = &state.failure {
                return Err(closed_after(&failure.error));
            }
            if state.closing {
                let reason = "the WAL is shutting down".to_string();
                return Err(WalError::Closed { reason });
            }
            let records_fit = state.records_queued + count <= self.limits.queue_records_max;
            let bytes_fit = state.bytes_queued + bytes <= self.limits.queue_bytes_max;
            if records_fit && bytes_fit {
                break;
            }
            assert!(
                !state.entries.is_empty(),
                "an empty queue admits any admissible batch"
            );
            state = sync::wait(&self.space, state);
        }
        let seq = state.seq_next;
        state.seq_next += 1;
        state.records_queued += count;
        state.bytes_queued += bytes;
        state.entries.push_back(Entry {
            seq,
            records,
            rebase,
            bytes,
        });
        assert!(state.records_queued <= self.limits.queue_records_max);
        assert!(state.bytes_queued <= self.limits.queue_bytes_max);
        drop(state);
        self.work.notify_one();
        Ok(seq)
    }

    /// Takes the next group: every queued entry, up to `group_records_max` records (at least
    /// one entry). Blocks while the queue is empty; `None` once closing and drained, or failed.
    pub(crate) fn take_group(&self) -> Option<Group> {
        let mut state = sync::lock(&self.state);
        assert!(state.in_flight.is_none(), "one writer, one group at a time");
        while state.entries.is_empty() {
            if state.closing || state.failure.is_some() {
                return None;
            }
            state = sync::wait(&self.work, state);
        }
        if state.failure.is_some() {
            return None;
        }
        let mut group = Group {
            entries: Vec::new(),
            seq_first: state.seq_durable + 1,
            seq_last: state.seq_durable,
            records: 0,
            bytes: 0,
        };
        while let Some(entry) = state.entries.front() {
            let count = entry.records.len() as u32;
            if !group.entries.is_empty() && group.records + count > self.limits.group_records_max {
                break;
            }
            let Some(entry) = state.entries.pop_front() else {
                break;
            };
            assert_eq!(
                entry.seq,
                group.seq_last + 1,
                "sequence numbers are contiguous"
            );
            group.seq_last = entry.seq;
            group.records += count;
            group.bytes += entry.bytes;
            state.records_queued -= count;
            state.bytes_queued -= entry.bytes;
            group.entries.push(entry);
        }
        assert!(!group.entries.is_empty());
        state.in_flight = Some((group.seq_first, group.seq_last));
        drop(state);
        self.space.notify_all();
        Some(group)
    }

    /// Reports the group's outcome: on success the durable watermark moves to its last entry;
    /// on failure the queue fails this group, refuses the rest and every later push.
    pub(crate) fn complete(&self, group: &Group, result: Result<(), WalError>) {
        let mut state = sync::lock(&self.state);
        assert_eq!(state.in_flight, Some((group.seq_first, group.seq_last)));
        assert_eq!(
            state.seq_durable + 1,
            group.seq_first,
            "groups complete in order"
        );
        state.in_flight = None;
        match result {
            Ok(()) => state.seq_durable = group.seq_last,
            Err(error) => {
                let (seq_first, seq_last) = (group.seq_first, group.seq_last);
                state.failure = Some(Failure {
                    seq_first,
                    seq_last,
                    error,
                });
                state.entries.clear();
                state.records_queued = 0;
                state.bytes_queued = 0;
            }
        }
        drop(state);
        self.durable.notify_all();
        self.space.notify_all();
    }

    /// Stops accepting pushes; the writer drains what is queued, then `take_group` ends.
    pub(crate) fn close(&self) {
        sync::lock(&self.state).closing = true;
        self.work.notify_all();
        self.space.notify_all();
    }

    /// The writer thread is gone (it panicked, or could not start): fail everything not yet
    /// durable so that no ticket waits forever.
    pub(crate) fn abandon(&self, reason: &str) {
        let mut state = sync::lock(&self.state);
        state.closing = true;
        let pending = state.seq_next - 1 > state.seq_durable;
        if state.failure.is_none() && pending {
            let error = WalError::Closed {
                reason: reason.to_string(),
            };
            let (seq_first, seq_last) = (state.seq_durable + 1, state.seq_next - 1);
            state.failure = Some(Failure {
                seq_first,
                seq_last,
                error,
            });
        }
        state.entries.clear();
        state.records_queued = 0;
        state.bytes_queued = 0;
        state.in_flight = None;
        drop(state);
        self.durable.notify_all();
        self.space.notify_all();
        self.work.notify_all();
    }

    /// The outcome of entry `seq`, or `None` while it is still pending.
    pub(crate) fn outcome(&self, seq: u64) -> Option<Result<(), WalError>> {
        let state = sync::lock(&self.state);
        assert!(
            seq > 0 && seq < state.seq_next,
            "seq was handed out by push"
        );
        outcome_locked(&state, seq)
    }

    /// Blocks until entry `seq` and every entry before it are durable, or failed.
    pub(crate) fn wait_durable(&self, seq: u64) -> Result<(), WalError> {
        let mut state = sync::lock(&self.state);
        assert!(
            seq > 0 && seq < state.seq_next,
            "seq was handed out by push"
        );
        loop {
            if let Some(outcome) = outcome_locked(&state, seq) {
                return outcome;
            }
            state = sync::wait(&self.durable, state);
        }
    }

    #[cfg(all(test, kactor_loom))]
    pub(crate) fn stats(&self) -> QueueStats {
        let state = sync::lock(&self.state);
        QueueStats {
            entries: state.entries.len(),
            records_queued: state.records_queued,
            bytes_queued: state.bytes_queued,
            seq_next: state.seq_next,
            seq_durable: state.seq_durable,
        }
    }
}

fn outcome_locked(state: &QueueState, seq: u64) -> Option<Result<(), WalError>> {
    if seq <= state.seq_durable {
        return Some(Ok(()));
    }
    let failure = state.failure.as_ref()?;
    assert_eq!(failure.seq_first, state.seq_durable + 1);
    if seq <= failure.seq_last {
        Some(Err(failure.error.clone()))
    } else {
        Some(Err(closed_after(&failure.error)))
    }
}

fn closed_after(error: &WalError) -> WalError {
    let reason = format!(
        "an earlier write or fsync failed ({error}); a failed fsync cannot be retried safely, \
         so the WAL refuses appends until it is reopened"
    );
    WalError::Closed { reason }
}

// ---------------------------------------------------------------------------------------------
// Segment files.

/// The file operations the writer needs; a seam for fault injection in tests.
pub(crate) trait SegmentFile: Send {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn sync_data(&mut self) -> io::Result<()>;
}

impl SegmentFile for File {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        Write::write_all(self, bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

/// Opens segment files for appending: `create` makes a new file and fails if it exists.
pub(crate) trait SegmentOpener: Send + Sync {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn SegmentFile>>;
}

struct FsOpener;

impl SegmentOpener for FsOpener {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn SegmentFile>> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(create)
            .open(path)?;
        Ok(Box::new(file))
    }
}

fn segment_name(seq: u64) -> String {
    format!("wal-{seq:016x}.log")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    let lower_hex = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex.len() != 16 || !lower_hex {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    seq: u64,
    path: PathBuf,
}

/// The segments in `dir`, oldest first. Other files are left alone.
fn list_segments(dir: &Path) -> Result<Vec<Segment>, WalError> {
    let context = || format!("list {}", dir.display());
    let mut segments = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| io_error(context(), e))? {
        let item = item.map_err(|e| io_error(context(), e))?;
        let name = item.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_name) {
            segments.push(Segment {
                seq,
                path: item.path(),
            });
        }
    }
    segments.sort_by_key(|segment| segment.seq);
    Ok(segments)
}

/// Makes creations and deletions of entries in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), WalError> {
    let context = || format!("fsync directory {}", dir.display());
    let handle = File::open(dir).map_err(|e| io_error(context(), e))?;
    handle.sync_all().map_err(|e| io_error(context(), e))
}

/// Deletes `segments` (superseded by a checkpoint) and fsyncs `dir`. Failures are only logged:
/// replay starts at the newest checkpoint anyway, and the next `open` retries the deletion.
fn delete_segments(dir: &Path, segments: &[Segment]) {
    if segments.is_empty() {
        return;
    }
    for segment in segments {
        if let Err(error) = fs::remove_file(&segment.path) {
            let path = segment.path.display();
            tracing::warn!(%error, "wal: cannot delete superseded segment {path}");
        }
    }
    if let Err(error) = sync_dir(dir) {
        tracing::warn!(%error, "wal: cannot fsync directory after deleting segments");
    }
    tracing::info!(
        segments = segments.len(),
        "wal: deleted segments superseded by a checkpoint"
    );
}

/// The writer thread's side of the disk: the open last segment.
struct SegmentWriter {
    dir: PathBuf,
    opener: Box<dyn SegmentOpener>,
    file: Box<dyn SegmentFile>,
    seq: u64,
    /// Logical size of the current segment, buffered bytes included.
    bytes: u64,
    /// Bytes were written (or buffered) since the last fsync of the current segment.
    dirty: bool,
    buffer: Vec<u8>,
    /// After the next fsync, delete the segments older than this one (a rebase happened).
    delete_before_seq: Option<u64>,
}

impl SegmentWriter {
    fn path(&self) -> PathBuf {
        self.dir.join(segment_name(self.seq))
    }

    /// Writes one group and makes it durable with one fsync (plus one per segment roll).
    fn commit(&mut self, entries: &[Entry]) -> Result<(), WalError> {
        for entry in entries {
            for (index, payload) in entry.records.iter().enumerate() {
                let checkpoint = entry.rebase && index == 0;
                if checkpoint {
                    self.start_checkpoint_segment()?;
                } else if self.bytes >= WAL_SEGMENT_BYTES_TARGET {
                    self.roll()?;
                }
                self.append_record(payload, checkpoint)?;
            }
        }
        self.sync()?;
        if let Some(seq) = self.delete_before_seq.take() {
            assert!(seq <= self.seq);
            match list_segments(&self.dir) {
                Ok(segments) => {
                    let older = segments.partition_point(|segment| segment.seq < seq);
                    delete_segments(&self.dir, &segments[..older]);
                }
                Err(error) => tracing::warn!(%error, "wal: cannot list superseded segments"),
            }
        }
        Ok(())
    }

    fn append_record(&mut self, payload: &[u8], checkpoint: bool) -> Result<(), WalError> {
        assert!(
            !checkpoint || self.bytes == 0,
            "a checkpoint starts its segment"
        );
        let header = encode_header(payload, checkpoint);
        self.buffer.extend_from_slice(&header);
        if payload.len() >= WAL_WRITE_BUFFER_BYTES_MAX {
            self.flush()?;
            let path = self.path();
            let context = || format!("write segment {}", path.display());
            self.file
                .write_all(payload)
                .map_err(|e| io_error(context(), e))?;
        } else {
            self.buffer.extend_from_slice(payload);
            if self.buffer.len() >= WAL_WRITE_BUFFER_BYTES_MAX {
                self.flush()?;
            }
        }
        self.bytes += u64::from(WAL_RECORD_HEADER_BYTES) + payload.len() as u64;
        self.dirty = true;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WalError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buffer);
        self.buffer.clear();
        result.map_err(|e| io_error(format!("write segment {}", self.path().display()), e))
    }

    /// Flushes and fsyncs the current segment if it changed.
    //
    // A failed fsync cannot be retried safely: Linux may already have dropped the dirty pages
    // and cleared the error, so a second fsync can report success for data that never reached
    // the disk (the 2018 "fsyncgate"). The caller therefore fails the group and the WAL stops;
    // a reopen re-reads what actually is on disk.
    fn sync(&mut self) -> Result<(), WalError> {
        self.flush()?;
        if !self.dirty {
            return Ok(());
        }
        let started = Instant::now();
        let result = self.file.sync_data();
        let took = started.elapsed();
        crate::metrics::metrics()
            .etcd_disk_wal_fsync_duration_seconds
            .observe(took.as_secs_f64());
        let fsync_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        tracing::debug!(fsync_us, segment = self.seq, "wal: fsync");
        result.map_err(|e| io_error(format!("fsync segment {}", self.path().display()), e))?;
        self.dirty = false;
        Ok(())
    }

    /// Seals the current segment (fsynced whole) and starts the next one.
    fn roll(&mut self) -> Result<(), WalError> {
        self.sync()?;
        let seq = self.seq + 1;
        let path = self.dir.join(segment_name(seq));
        let context = || format!("create segment {}", path.display());
        self.file = self
            .opener
            .open(&path, true)
            .map_err(|e| io_error(context(), e))?;
        sync_dir(&self.dir)?;
        self.seq = seq;
        self.bytes = 0;
        assert!(!self.dirty && self.buffer.is_empty());
        tracing::debug!(segment = seq, "wal: rolled to a new segment");
        Ok(())
    }

    fn start_checkpoint_segment(&mut self) -> Result<(), WalError> {
        if self.bytes > 0 {
            self.roll()?;
        }
        assert_eq!(self.bytes, 0);
        self.delete_before_seq = Some(self.seq);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Recovery.

/// Reads a segment file whole, refusing files that this WAL cannot have written.
fn read_segment(segment: &Segment) -> Result<Vec<u8>, WalError> {
    let context = || format!("read segment {}", segment.path.display());
    let mut file = File::open(&segment.path).map_err(|e| io_error(context(), e))?;
    let length = file.metadata().map_err(|e| io_error(context(), e))?.len();
    if length > WAL_SEGMENT_BYTES_MAX {
        return Err(WalError::Corrupt {
            segment: segment.path.clone(),
            offset: 0,
            reason: format!(
                "{length} bytes exceeds WAL_SEGMENT_BYTES_MAX ({WAL_SEGMENT_BYTES_MAX})"
            ),
        });
    }
    let mut bytes = Vec::with_capacity(length as usize);
    let limit = WAL_SEGMENT_BYTES_MAX + 1;
    Read::by_ref(&mut file)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(context(), e))?;
    if bytes.len() as u64 > WAL_SEGMENT_BYTES_MAX {
        let reason = "segment grew past WAL_SEGMENT_BYTES_MAX while being read".to_string();
        return Err(WalError::Corrupt {
            segment: segment.path.clone(),
            offset: 0,
            reason,
        });
    }
    Ok(bytes)
}

/// Whether the segment starts with a valid checkpoint record.
fn starts_with_checkpoint(segment: &Segment) -> Result<bool, WalError> {
    let context = || format!("read segment {}", segment.path.display());
    let file = File::open(&segment.path).map_err(|e| io_error(context(), e))?;
    let mut header = [0u8; WAL_RECORD_HEADER_BYTES as usize];
    let mut reader =
        file.take(u64::from(WAL_RECORD_HEADER_BYTES) + u64::from(WAL_RECORD_BYTES_MAX));
    let mut read = 0;
    while read < header.len() {
        match reader.read(&mut header[read..]) {
            Ok(0) => return Ok(false),
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(context(), e)),
        }
    }
    let length_word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if length_word & RECORD_CHECKPOINT_FLAG == 0 {
        return Ok(false);
    }
    // The take() above bounds this read by WAL_RECORD_BYTES_MAX, whatever the header says.
    let mut bytes = header.to_vec();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(context(), e))?;
    Ok(matches!(decode_record(&bytes, 0), Ok(record) if record.checkpoint))
}

/// Index of the segment replay starts at: the newest that starts with a valid checkpoint.
fn replay_start(segments: &[Segment]) -> Result<usize, WalError> {
    for (index, segment) in segments.iter().enumerate().rev() {
        if starts_with_checkpoint(segment)? {
            return Ok(index);
        }
    }
    Ok(0)
}

/// Where replay of one segment stands.
struct SegmentReplay<'a> {
    segment: &'a Segment,
    bytes: &'a [u8],
    is_start: bool,
    is_last: bool,
}

impl SegmentReplay<'_> {
    fn corrupt(&self, offset: usize, reason: String) -> WalError {
        let segment = self.segment.path.clone();
        WalError::Corrupt {
            segment,
            offset: offset as u64,
            reason,
        }
    }

    /// Appends the segment's records to `out`; returns the length of its valid prefix.
    fn run(&self, out: &mut Vec<Vec<u8>>) -> Result<usize, WalError> {
        let mut offset = 0;
        let mut records: u64 = 0;
        while offset < self.bytes.len() {
            match decode_record(self.bytes, offset) {
                Ok(record) => {
                    if record.checkpoint && !(self.is_start && offset == 0) {
                        let reason = "checkpoint flag on a record that does not start \
                                      the replay"
                            .to_string();
                        return Err(self.corrupt(offset, reason));
                    }
                    out.push(self.bytes[record.payload_start..record.end].to_vec());
                    assert!(record.end > offset);
                    offset = record.end;
                    records += 1;
                }
                Err(bad) => return self.damaged(offset, bad),
            }
        }
        let segment = self.segment.seq;
        tracing::debug!(segment, records, bytes = offset, "wal: replayed segment");
        Ok(offset)
    }

    /// Damage at `offset`: a torn tail if this is the last segment and nothing valid follows.
    fn damaged(&self, offset: usize, bad: BadRecord) -> Result<usize, WalError> {
        if !self.is_last {
            return Err(self.corrupt(offset, format!("{bad} in a sealed segment")));
        }
        if let Some(next) = find_valid_record(self.bytes, offset + 1) {
            let reason = format!("{bad}, but a valid record follows at offset {next}");
            return Err(self.corrupt(offset, reason));
        }
        Ok(offset)
    }
}

/// Cuts the torn tail of the last segment at `valid` bytes and makes the cut durable.
fn truncate_tail(segment: &Segment, valid: u64, dropped: u64, bad: &str) -> Result<(), WalError> {
    assert!(dropped > 0);
    let path = segment.path.display();
    tracing::warn!(
        segment = %path,
        offset = valid,
        bytes_dropped = dropped,
        "wal: truncating torn tail of {path} at offset {valid} ({dropped} bytes dropped): {bad}"
    );
    let context = || format!("truncate segment {path}");
    let file = OpenOptions::new()
        .write(true)
        .open(&segment.path)
        .map_err(|e| io_error(context(), e))?;
    file.set_len(valid).map_err(|e| io_error(context(), e))?;
    file.sync_all().map_err(|e| io_error(context(), e))
}

/// Replays `segments` (the suffix from the replay start) into a [`Recovered`].
fn replay(segments: &[Segment]) -> Result<Recovered, WalError> {
    let mut recovered = Recovered {
        records: Vec::new(),
        truncated_tail_bytes: 0,
    };
    for (index, segment) in segments.iter().enumerate() {
        let bytes = read_segment(segment)?;
        let is_last = index + 1 == segments.len();
        let replay = SegmentReplay {
            segment,
            bytes: &bytes,
            is_start: index == 0,
            is_last,
        };
        let valid = replay.run(&mut recovered.records)?;
        assert!(valid <= bytes.len());
        if valid < bytes.len() {
            assert!(is_last);
            let bad = decode_record(&bytes, valid)
                .err()
                .map(|bad| bad.to_string());
            let dropped = (bytes.len() - valid) as u64;
            truncate_tail(segment, valid as u64, dropped, &bad.unwrap_or_default())?;
            recovered.truncated_tail_bytes = dropped;
        }
    }
    Ok(recovered)
}

// ---------------------------------------------------------------------------------------------
// The WAL.

/// A durable write-ahead log with group commit. Dropping it drains the queue (every ticket
/// completes) and joins the writer thread.
pub struct Wal {
    dir: PathBuf,
    queue: Arc<GroupCommitQueue>,
    progress: watch::Receiver<u64>,
    writer: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens (or creates) the WAL in `dir` and replays it from the newest checkpoint. A torn
    /// tail of the last segment is truncated; any other damage is `WalError::Corrupt`.
    pub fn open(dir: &Path) -> Result<(Wal, Recovered), WalError> {
        Wal::open_with(dir, Box::new(FsOpener))
    }

    pub(crate) fn open_with(
        dir: &Path,
        opener: Box<dyn SegmentOpener>,
    ) -> Result<(Wal, Recovered), WalError> {
        fs::create_dir_all(dir).map_err(|e| io_error(format!("create {}", dir.display()), e))?;
        let segments = list_segments(dir)?;
        let start = replay_start(&segments)?;
        let recovered = replay(&segments[start..])?;
        delete_segments(dir, &segments[..start]);
        let writer = Wal::open_writer(dir, segments.last(), opener)?;
        let records = recovered.records.len();
        let truncated = recovered.truncated_tail_bytes;
        tracing::info!(dir = %dir.display(), records, truncated, "wal: opened");
        let wal = Wal::start(dir, writer)?;
        Ok((wal, recovered))
    }

    fn open_writer(
        dir: &Path,
        last: Option<&Segment>,
        opener: Box<dyn SegmentOpener>,
    ) -> Result<SegmentWriter, WalError> {
        let (seq, create) = match last {
            Some(segment) => (segment.seq, false),
            None => (1, true),
        };
        let path = dir.join(segment_name(seq));
        let context = || format!("open segment {}", path.display());
        let bytes = match last {
            Some(_) => fs::metadata(&path)
                .map_err(|e| io_error(context(), e))?
                .len(),
            None => 0,
        };
        let file = opener
            .open(&path, create)
            .map_err(|e| io_error(context(), e))?;
        if create {
            sync_dir(dir)?;
        }
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            opener,
            file,
            seq,
            bytes,
            dirty: false,
            buffer: Vec::with_capacity(WAL_WRITE_BUFFER_BYTES_MAX),
            delete_before_seq: None,
        })
    }

    fn start(dir: &Path, sink: SegmentWriter) -> Result<Wal, WalError> {
        let queue = Arc::new(GroupCommitQueue::new(QueueLimits::PRODUCTION));
        let (progress_tx, progress) = watch::channel(0u64);
        let writer_queue = queue.clone();
        let writer = thread::Builder::new()
            .name(WAL_WRITER_THREAD_NAME.to_string())
            .spawn(move || run_writer(writer_queue, sink, progress_tx))
            .map_err(|e| io_error("spawn the WAL writer thread", e))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            queue,
            progress,
            writer: Some(writer),
        })
    }

    /// The directory this WAL lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Enqueues `records` after every earlier append and returns a ticket that completes once
    /// they (and everything appended before them) are durable. Blocks only while the queue is
    /// full ([`GROUP_COMMIT_QUEUE_RECORDS_MAX`], [`GROUP_COMMIT_QUEUE_BYTES_MAX`]).
    ///
    /// With `rebase`, the first record is a checkpoint holding the whole durable state: it
    /// starts a new segment and, once durable, every older segment is deleted.
    pub fn append(&self, records: Vec<Vec<u8>>, rebase: bool) -> CommitTicket {
        if let Some(error) = check_batch(&records, rebase) {
            return CommitTicket::done(Err(error));
        }
        assert!(self.queue.admits(&records));
        match self.queue.push(records, rebase) {
            Ok(seq) => CommitTicket {
                state: TicketState::Queued {
                    seq,
                    queue: self.queue.clone(),
                    progress: self.progress.clone(),
                },
            },
            Err(error) => CommitTicket::done(Err(error)),
        }
    }

    /// A ticket that completes once everything appended before it is durable.
    pub fn barrier(&self) -> CommitTicket {
        self.append(Vec::new(), false)
    }
}

/// Why `append` refuses a batch outright, if it does.
fn check_batch(records: &[Vec<u8>], rebase: bool) -> Option<WalError> {
    if rebase && records.is_empty() {
        return Some(WalError::EmptyRebase);
    }
    if let Some(record) = records
        .iter()
        .find(|r| r.len() as u64 > u64::from(WAL_RECORD_BYTES_MAX))
    {
        return Some(WalError::RecordTooLarge {
            bytes: record.len() as u64,
        });
    }
    let bytes = batch_bytes(records);
    let too_many = records.len() as u64 > u64::from(GROUP_COMMIT_RECORDS_MAX);
    if too_many || bytes > GROUP_COMMIT_QUEUE_BYTES_MAX {
        return Some(WalError::BatchTooLarge {
            records: records.len() as u64,
            bytes,
        });
    }
    None
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.queue.close();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("wal: the writer thread panicked");
            }
        }
    }
}

/// Fails every pending ticket if the writer thread ends without draining (a panic).
struct WriterExitGuard {
    queue: Arc<GroupCommitQueue>,
}

impl Drop for WriterExitGuard {
    fn drop(&mut self) {
        self.queue.abandon("the WAL writer thread exited");
    }
}

fn run_writer(queue: Arc<GroupCommitQueue>, mut sink: SegmentWriter, progress: watch::Sender<u64>) {
    let _guard = WriterExitGuard {
        queue: queue.clone(),
    };
    // Ends when the WAL is dropped (close, then drained) or after a failed group.
    while let Some(group) = queue.take_group() {
        let span = tracing::debug_span!(
            "wal_group_commit",
            records = group.records,
            bytes = group.bytes,
            seq_first = group.seq_first,
            seq_last = group.seq_last,
        );
        let _entered = span.enter();
        let result = sink.commit(&group.entries);
        if let Err(error) = &result {
            tracing::error!(%error, "wal: group commit failed; refusing appends until reopened");
        }
        queue.complete(&group, result);
        progress.send_modify(|version| *version = version.wrapping_add(1));
    }
}

/// Completes once the records of one `append` and every earlier append are durable.
///
/// An error means the outcome is unknown: the records may or may not be replayed after a
/// reopen (the write may have reached the disk before the fsync failed).
#[must_use = "an appended record is not durable until its ticket completes"]
pub struct CommitTicket {
    state: TicketState,
}

enum TicketState {
    Done(Result<(), WalError>),
    Queued {
        seq: u64,
        queue: Arc<GroupCommitQueue>,
        progress: watch::Receiver<u64>,
    },
}

impl fmt::Debug for CommitTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            TicketState::Done(result) => f.debug_tuple("CommitTicket").field(result).finish(),
            TicketState::Queued { seq, .. } => {
                f.debug_struct("CommitTicket").field("seq", seq).finish()
            }
        }
    }
}

impl CommitTicket {
    fn done(result: Result<(), WalError>) -> CommitTicket {
        CommitTicket {
            state: TicketState::Done(result),
        }
    }

    /// Blocks the calling thread until the records are durable (or failed). In async code use
    /// [`CommitTicket::durable`].
    pub fn wait(self) -> Result<(), WalError> {
        match self.state {
            TicketState::Done(result) => result,
            TicketState::Queued { seq, queue, .. } => queue.wait_durable(seq),
        }
    }

    /// Waits without blocking a runtime thread until the records are durable (or failed).
    pub async fn durable(self) -> Result<(), WalError> {
        let (seq, queue, mut progress) = match self.state {
            TicketState::Done(result) => return result,
            TicketState::Queued {
                seq,
                queue,
                progress,
            } => (seq, queue, progress),
        };
        loop {
            // Mark the current version seen before looking, so a completion that lands after
            // the look changes the version and wakes `changed`.
            progress.borrow_and_update();
            if let Some(outcome) = queue.outcome(seq) {
                return outcome;
            }
            if progress.changed().await.is_err() {
                let reason = "the WAL writer thread exited".to_string();
                return queue
                    .outcome(seq)
                    .unwrap_or(Err(WalError::Closed { reason }));
            }
        }
    }
}

#[cfg(all(test, not(kactor_loom)))]
mod tests {
    use super::*;
    use crate::sync::{AtomicU32, Ordering};

    fn encoded(payload: &[u8], checkpoint: bool) -> Vec<u8> {
        let mut bytes = encode_header(payload, checkpoint).to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    fn write_segment(dir: &Path, seq: u64, records: &[(&[u8], bool)]) -> PathBuf {
        let bytes: Vec<u8> = records.iter().flat_map(|(p, c)| encoded(p, *c)).collect();
        let path = dir.join(segment_name(seq));
        fs::write(&path, bytes).expect("write segment");
        path
    }

    fn owned(records: &[&[u8]]) -> Vec<Vec<u8>> {
        records.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn record_round_trips_and_zeroes_never_decode() {
        let bytes = encoded(b"hello", true);
        let record = decode_record(&bytes, 0).expect("valid");
        assert!(record.checkpoint);
        assert_eq!(&bytes[record.payload_start..record.end], b"hello");
        // A crash can leave the file size extended with zeroes: that must not be a record.
        assert!(decode_record(&[0u8; 64], 0).is_err());
        assert_eq!(find_valid_record(&[0u8; 64], 0), None);
        let empty = encoded(b"", false);
        assert_eq!(decode_record(&empty, 0).map(|r| r.end), Ok(8));
    }

    #[test]
    fn decode_refuses_lengths_over_the_max_before_reading() {
        let mut bytes = (WAL_RECORD_BYTES_MAX + 1).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 4]);
        let length = WAL_RECORD_BYTES_MAX + 1;
        assert_eq!(
            decode_record(&bytes, 0),
            Err(BadRecord::LengthOverMax { length })
        );
        let short = encoded(b"abcdef", false);
        let available = 3;
        assert_eq!(
            decode_record(&short[..11], 0),
            Err(BadRecord::PastEnd {
                length: 6,
                available
            })
        );
        assert_eq!(
            decode_record(&short[..5], 0),
            Err(BadRecord::PartialHeader { available: 5 })
        );
        assert!(decode_record(&short, usize::MAX).is_err());
    }

    #[test]
    fn segment_names_are_strict() {
        assert_eq!(parse_segment_name(&segment_name(0xab)), Some(0xab));
        assert_eq!(parse_segment_name("wal-00000000000000AB.log"), None);
        assert_eq!(parse_segment_name("wal-ab.log"), None);
        assert_eq!(parse_segment_name("wal-00000000000000ab.log.tmp"), None);
    }

    #[test]
    fn append_refuses_bad_batches_and_keeps_working() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path()).expect("open");
        let huge = vec![0u8; WAL_RECORD_BYTES_MAX as usize + 1];
        let result = wal.append(vec![huge], false).wait();
        assert!(
            matches!(result, Err(WalError::RecordTooLarge { .. })),
            "{result:?}"
        );
        let many = vec![Vec::new(); GROUP_COMMIT_RECORDS_MAX as usize + 1];
        let result = wal.append(many, false).wait();
        assert!(
            matches!(result, Err(WalError::BatchTooLarge { .. })),
            "{result:?}"
        );
        let result = wal.append(Vec::new(), true).wait();
        assert!(matches!(result, Err(WalError::EmptyRebase)), "{result:?}");
        wal.append(vec![b"ok".to_vec()], false)
            .wait()
            .expect("append");
        wal.barrier().wait().expect("barrier");
        drop(wal);
        let (_, recovered) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(recovered.records, owned(&[b"ok"]));
    }

    #[test]
    fn checkpoint_flag_inside_a_segment_is_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(dir.path(), 1, &[(b"a", false), (b"b", true), (b"c", false)]);
        let error = Wal::open(dir.path()).expect_err("corrupt");
        assert!(
            matches!(error, WalError::Corrupt { offset: 9, .. }),
            "{error}"
        );
    }

    #[test]
    fn open_finishes_an_interrupted_rebase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = write_segment(dir.path(), 1, &[(b"a", false), (b"b", false)]);
        write_segment(dir.path(), 2, &[(b"ckpt", true), (b"d", false)]);
        let (wal, recovered) = Wal::open(dir.path()).expect("open");
        assert_eq!(recovered.records, owned(&[b"ckpt", b"d"]));
        assert!(!old.exists(), "the superseded segment is deleted");
        wal.append(vec![b"e".to_vec()], false)
            .wait()
            .expect("append");
        drop(wal);
        let (_, recovered) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(recovered.records, owned(&[b"ckpt", b"d", b"e"]));
    }

    #[test]
    fn torn_checkpoint_falls_back_to_older_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(dir.path(), 1, &[(b"a", false), (b"b", false)]);
        let torn = write_segment(dir.path(), 2, &[(b"checkpoint", true)]);
        let bytes = fs::read(&torn).expect("read");
        fs::write(&torn, &bytes[..bytes.len() - 3]).expect("tear");
        let (wal, recovered) = Wal::open(dir.path()).expect("open");
        assert_eq!(recovered.records, owned(&[b"a", b"b"]));
        assert_eq!(recovered.truncated_tail_bytes, bytes.len() as u64 - 3);
        assert_eq!(fs::metadata(&torn).expect("stat").len(), 0);
        wal.append(vec![b"c".to_vec()], false)
            .wait()
            .expect("append");
        drop(wal);
        let (_, recovered) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(recovered.records, owned(&[b"a", b"b", b"c"]));
    }

    #[test]
    fn damage_in_a_sealed_segment_is_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sealed = write_segment(dir.path(), 1, &[(b"a", false), (b"b", false)]);
        write_segment(dir.path(), 2, &[(b"c", false)]);
        let bytes = fs::read(&sealed).expect("read");
        fs::write(&sealed, &bytes[..bytes.len() - 1]).expect("tear");
        let error = Wal::open(dir.path()).expect_err("corrupt");
        assert!(
            matches!(error, WalError::Corrupt { offset: 9, .. }),
            "{error}"
        );
        assert_eq!(
            fs::metadata(&sealed).expect("stat").len(),
            bytes.len() as u64 - 1
        );
    }

    /// Fails the n-th write (after writing half of it, like a full disk) or the n-th fsync,
    /// counted from 1 across every segment file.
    struct FaultPlan {
        writes: AtomicU32,
        syncs: AtomicU32,
        fail_write_at: u32,
        fail_sync_at: u32,
    }

    struct FaultyFile {
        file: File,
        plan: Arc<FaultPlan>,
    }

    impl SegmentFile for FaultyFile {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            let n = self.plan.writes.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.plan.fail_write_at {
                Write::write_all(&mut self.file, &bytes[..bytes.len() / 2])?;
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            Write::write_all(&mut self.file, bytes)
        }

        fn sync_data(&mut self) -> io::Result<()> {
            let n = self.plan.syncs.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.plan.fail_sync_at {
                return Err(io::Error::from_raw_os_error(5)); // EIO
            }
            self.file.sync_data()
        }
    }

    struct FaultyOpener(Arc<FaultPlan>);

    impl SegmentOpener for FaultyOpener {
        fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn SegmentFile>> {
            let file = OpenOptions::new()
                .append(true)
                .create_new(create)
                .open(path)?;
            Ok(Box::new(FaultyFile {
                file,
                plan: self.0.clone(),
            }))
        }
    }

    fn open_faulty(dir: &Path, fail_write_at: u32, fail_sync_at: u32) -> Wal {
        let plan = FaultPlan {
            writes: AtomicU32::new(0),
            syncs: AtomicU32::new(0),
            fail_write_at,
            fail_sync_at,
        };
        let opener = Box::new(FaultyOpener(Arc::new(plan)));
        Wal::open_with(dir, opener).expect("open").0
    }

    fn os_error(result: &Result<(), WalError>) -> Option<i32> {
        match result {
            Err(WalError::Io { source, .. }) => source.raw_os_error(),
            _ => None,
        }
    }

    #[test]
    fn failed_fsync_fails_the_group_and_closes_the_wal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = open_faulty(dir.path(), 0, 2);
        wal.append(vec![b"a".to_vec()], false)
            .wait()
            .expect("first group");
        let result = wal.append(vec![b"b".to_vec()], false).wait();
        assert_eq!(os_error(&result), Some(5), "{result:?}");
        let result = wal.append(vec![b"c".to_vec()], false).wait();
        assert!(matches!(result, Err(WalError::Closed { .. })), "{result:?}");
        assert!(matches!(wal.barrier().wait(), Err(WalError::Closed { .. })));
        drop(wal);
        // The outcome of the failed group is unknown: "b" may or may not be there; "c" is not.
        let (_, recovered) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(
            recovered.records.first().map(Vec::as_slice),
            Some(&b"a"[..])
        );
        assert!(recovered.records.len() <= 2);
    }

    #[test]
    fn failed_write_leaves_a_torn_tail_that_reopen_truncates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = open_faulty(dir.path(), 2, 0);
        wal.append(vec![b"a".to_vec()], false)
            .wait()
            .expect("first group");
        let result = wal.append(vec![vec![7u8; 100]], false).wait();
        assert_eq!(os_error(&result), Some(28), "{result:?}");
        let result = wal.append(vec![b"c".to_vec()], false).wait();
        assert!(matches!(result, Err(WalError::Closed { .. })), "{result:?}");
        drop(wal);
        let (_, recovered) = Wal::open(dir.path()).expect("reopen");
        assert_eq!(recovered.records, owned(&[b"a"]));
        assert_eq!(recovered.truncated_tail_bytes, 54);
    }
}

#[cfg(all(test, kactor_loom))]
mod loom_tests {
    //! The group-commit handoff under loom: appenders and one writer over a fake sink.
    use super::*;
    use crate::sync::Mutex;

    #[derive(Default)]
    struct FakeSink {
        written_seqs: Vec<u64>,
        synced_seq: u64,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum WriterMode {
        Correct,
        /// A deliberately broken writer that completes tickets before the fsync.
        CompleteBeforeSync,
        /// Every group fails, as after ENOSPC.
        Fail,
    }

    fn limits(queue_records_max: u32, group_records_max: u32) -> QueueLimits {
        QueueLimits {
            queue_records_max,
            queue_bytes_max: 1024,
            group_records_max,
        }
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        // tokio's loom CI bound: 3 already takes tens of minutes for three appenders.
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(f);
    }

    fn run_writer(queue: &GroupCommitQueue, sink: &Mutex<FakeSink>, mode: WriterMode) {
        while let Some(group) = queue.take_group() {
            {
                let mut sink = sync::lock(sink);
                for entry in &group.entries {
                    let previous = sink.written_seqs.last().copied().unwrap_or(0);
                    assert_eq!(entry.seq, previous + 1, "written in append order");
                    sink.written_seqs.push(entry.seq);
                }
            }
            match mode {
                WriterMode::Correct => {
                    sync::lock(sink).synced_seq = group.seq_last;
                    queue.complete(&group, Ok(()));
                }
                WriterMode::CompleteBeforeSync => {
                    queue.complete(&group, Ok(()));
                    sync::lock(sink).synced_seq = group.seq_last;
                }
                WriterMode::Fail => {
                    let error = io_error("fake fsync", io::Error::from_raw_os_error(28));
                    queue.complete(&group, Err(error));
                }
            }
        }
    }

    /// Pushes `batches` one-record batches, then waits for each ticket in turn.
    fn run_appender(queue: &GroupCommitQueue, sink: &Mutex<FakeSink>, tag: u8, batches: u8) {
        let mut seqs = Vec::new();
        for index in 0..batches {
            if let Ok(seq) = queue.push(vec![vec![tag, index]], false) {
                assert!(
                    seqs.last().is_none_or(|&last| last < seq),
                    "seqs follow append order"
                );
                seqs.push(seq);
            }
            assert!(queue.stats().records_queued <= queue.limits.queue_records_max);
        }
        for &seq in &seqs {
            if queue.wait_durable(seq).is_ok() {
                let synced = sync::lock(sink).synced_seq;
                assert!(
                    synced >= seq,
                    "ticket {seq} completed before its fsync ({synced})"
                );
                for earlier in 1..seq {
                    assert!(matches!(queue.outcome(earlier), Some(Ok(()))), "order");
                }
            }
        }
    }

    fn scenario(appenders: u8, batches: u8, limits: QueueLimits, mode: WriterMode) {
        let queue = Arc::new(GroupCommitQueue::new(limits));
        let sink = Arc::new(Mutex::new(FakeSink::default()));
        let writer = {
            let (queue, sink) = (queue.clone(), sink.clone());
            thread::spawn(move || run_writer(&queue, &sink, mode))
        };
        let handles: Vec<_> = (0..appenders)
            .map(|tag| {
                let (queue, sink) = (queue.clone(), sink.clone());
                thread::spawn(move || run_appender(&queue, &sink, tag, batches))
            })
            .collect();
        for handle in handles {
            handle.join().expect("appender");
        }
        queue.close();
        writer.join().expect("writer");
        let stats = queue.stats();
        assert_eq!(
            (stats.entries, stats.records_queued, stats.bytes_queued),
            (0, 0, 0)
        );
        let pushed = stats.seq_next - 1;
        for seq in 1..=pushed {
            let outcome = queue.outcome(seq);
            assert!(outcome.is_some(), "ticket {seq} never completed");
            assert_eq!(outcome.is_some_and(|o| o.is_ok()), mode != WriterMode::Fail);
        }
        if mode != WriterMode::Fail {
            assert_eq!(stats.seq_durable, pushed, "the writer drains to empty");
            assert_eq!(
                sync::lock(&sink).written_seqs,
                (1..=pushed).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn tickets_complete_in_append_order_after_the_sync() {
        model(|| scenario(2, 2, limits(4, 2), WriterMode::Correct));
    }

    #[test]
    fn three_appenders_share_groups() {
        model(|| scenario(3, 1, limits(3, 3), WriterMode::Correct));
    }

    #[test]
    fn a_full_queue_blocks_appenders_and_drains() {
        model(|| scenario(2, 2, limits(1, 1), WriterMode::Correct));
    }

    #[test]
    fn a_failed_group_completes_every_ticket_with_an_error() {
        model(|| scenario(2, 2, limits(2, 1), WriterMode::Fail));
    }

    #[test]
    fn a_writer_that_completes_before_the_sync_is_caught() {
        let caught = std::panic::catch_unwind(|| {
            model(|| scenario(2, 1, limits(2, 2), WriterMode::CompleteBeforeSync));
        });
        let payload = caught.expect_err("loom must find the early completion");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(message.contains("completed before its fsync"), "{message}");
    }
}
