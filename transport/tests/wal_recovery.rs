//! WAL recovery: round trips, rebase, segment roll, torn tails, corruption, hostile lengths.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use kactor_transport::wal::{
    Recovered, Wal, WalError, WAL_RECORD_BYTES_MAX, WAL_RECORD_HEADER_BYTES, WAL_SEGMENT_BYTES_MAX,
    WAL_SEGMENT_BYTES_TARGET,
};
use proptest::prelude::*;

/// Records the largest single allocation, to prove that a hostile length header is never
/// allocated.
struct LargestAllocation;

static LARGEST_ALLOCATION_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION_BYTES.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION_BYTES.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// No test here legitimately allocates this much; a hostile length of ~2 GiB would.
const ALLOCATION_BYTES_SANE_MAX: usize = 1 << 30;

/// Encodes one record exactly as the WAL lays it out on disk (the format is part of the API).
fn encode(payload: &[u8], checkpoint: bool) -> Vec<u8> {
    let length_word = payload.len() as u32 | if checkpoint { 1 << 31 } else { 0 };
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&length_word.to_le_bytes());
    hasher.update(payload);
    let mut bytes = length_word.to_le_bytes().to_vec();
    bytes.extend_from_slice(&hasher.finalize().to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("wal-{seq:016x}.log"))
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|item| item.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    paths
}

fn open(dir: &Path) -> (Wal, Recovered) {
    Wal::open(dir).expect("open")
}

fn records(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
    payloads.iter().map(|payload| payload.to_vec()).collect()
}

fn payload(batch: usize, index: usize) -> Vec<u8> {
    let length = (batch * 31 + index * 7) % 300;
    (0..length).map(|i| (i + batch + index) as u8).collect()
}

#[test]
fn round_trip_many_batches_across_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = Vec::new();
    for round in 0..3 {
        let (wal, recovered) = open(dir.path());
        assert_eq!(recovered.records, expected, "round {round}");
        assert_eq!(recovered.truncated_tail_bytes, 0);
        let mut tickets = Vec::new();
        for batch in 0..60 {
            let batch_records: Vec<Vec<u8>> = (0..batch % 9)
                .map(|index| payload(batch + round, index))
                .collect();
            expected.extend(batch_records.iter().cloned());
            tickets.push(wal.append(batch_records, false));
            if batch % 7 == 0 {
                tickets
                    .drain(..)
                    .try_for_each(|ticket| ticket.wait())
                    .expect("durable");
            }
        }
        tickets
            .into_iter()
            .try_for_each(|ticket| ticket.wait())
            .expect("durable");
    }
    let (_, recovered) = open(dir.path());
    assert_eq!(recovered.records, expected);
}

#[test]
fn rebase_deletes_old_segments_and_replay_starts_at_the_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    wal.append(records(&[b"a", b"b"]), false)
        .wait()
        .expect("append");
    wal.append(records(&[b"c"]), false).wait().expect("append");
    assert_eq!(segments(dir.path()).len(), 1);
    let ticket = wal.append(records(&[b"checkpoint-1", b"d"]), true);
    wal.append(records(&[b"e"]), false).wait().expect("append");
    ticket.wait().expect("rebase");
    assert_eq!(segments(dir.path()), vec![segment_path(dir.path(), 2)]);
    drop(wal);

    let (wal, recovered) = open(dir.path());
    assert_eq!(recovered.records, records(&[b"checkpoint-1", b"d", b"e"]));
    wal.append(records(&[b"checkpoint-2"]), true)
        .wait()
        .expect("rebase");
    wal.append(records(&[b"f"]), false).wait().expect("append");
    assert_eq!(segments(dir.path()), vec![segment_path(dir.path(), 3)]);
    drop(wal);

    let (wal, recovered) = open(dir.path());
    assert_eq!(recovered.records, records(&[b"checkpoint-2", b"f"]));
    drop(wal);
}

#[test]
fn rebase_into_an_empty_wal_uses_the_first_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    wal.append(records(&[b"checkpoint"]), true)
        .wait()
        .expect("rebase");
    drop(wal);
    assert_eq!(segments(dir.path()), vec![segment_path(dir.path(), 1)]);
    let (_, recovered) = open(dir.path());
    assert_eq!(recovered.records, records(&[b"checkpoint"]));
}

#[test]
fn segment_rolls_past_the_target_and_replays_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    let record_bytes = 4 * 1024 * 1024;
    let count = (WAL_SEGMENT_BYTES_TARGET / record_bytes as u64) as usize + 3;
    let expected: Vec<Vec<u8>> = (0..count).map(|i| vec![i as u8; record_bytes]).collect();
    for chunk in expected.chunks(5) {
        wal.append(chunk.to_vec(), false).wait().expect("append");
    }
    drop(wal);
    let paths = segments(dir.path());
    assert_eq!(paths.len(), 2, "{paths:?}");
    let first_bytes = fs::metadata(&paths[0]).expect("stat").len();
    let record_on_disk = record_bytes as u64 + u64::from(WAL_RECORD_HEADER_BYTES);
    assert!(first_bytes >= WAL_SEGMENT_BYTES_TARGET);
    assert!(first_bytes < WAL_SEGMENT_BYTES_TARGET + record_on_disk);
    let (_, recovered) = open(dir.path());
    assert!(recovered.records == expected, "replay differs");
}

/// Writes the WAL's records, returns the segment bytes and where the last record starts.
fn template_segment(payloads: &[&[u8]]) -> (Vec<u8>, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = open(dir.path());
    for payload in payloads {
        wal.append(vec![payload.to_vec()], false)
            .wait()
            .expect("append");
    }
    drop(wal);
    let bytes = fs::read(segment_path(dir.path(), 1)).expect("read");
    let last = payloads.last().map_or(0, |p| p.len()) + WAL_RECORD_HEADER_BYTES as usize;
    let last_start = bytes.len() - last;
    assert_eq!(
        bytes,
        payloads
            .iter()
            .flat_map(|p| encode(p, false))
            .collect::<Vec<_>>()
    );
    (bytes, last_start)
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record_is_truncated() {
    let payloads: [&[u8]; 4] = [
        b"first",
        b"second record",
        b"third",
        b"the last record, torn",
    ];
    let (bytes, last_start) = template_segment(&payloads);
    for cut in last_start + 1..bytes.len() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 1);
        fs::write(&path, &bytes[..cut]).expect("write");
        let (wal, recovered) = open(dir.path());
        assert_eq!(recovered.records, records(&payloads[..3]), "cut at {cut}");
        assert_eq!(recovered.truncated_tail_bytes, (cut - last_start) as u64);
        assert_eq!(fs::metadata(&path).expect("stat").len(), last_start as u64);
        wal.append(records(&[b"after"]), false)
            .wait()
            .expect("append after truncation");
        drop(wal);
        let (_, recovered) = open(dir.path());
        assert_eq!(
            recovered.records,
            records(&[payloads[0], payloads[1], payloads[2], b"after"])
        );
        assert_eq!(recovered.truncated_tail_bytes, 0);
    }
}

#[test]
fn zero_filled_tail_is_torn_not_records() {
    let payloads: [&[u8]; 2] = [b"one", b"two"];
    let (mut bytes, _) = template_segment(&payloads);
    let clean = bytes.len();
    bytes.extend_from_slice(&[0u8; 4096]);
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(segment_path(dir.path(), 1), &bytes).expect("write");
    let (_, recovered) = open(dir.path());
    assert_eq!(recovered.records, records(&payloads));
    assert_eq!(recovered.truncated_tail_bytes, 4096);
    let length = fs::metadata(segment_path(dir.path(), 1))
        .expect("stat")
        .len();
    assert_eq!(length, clean as u64);
}

fn assert_corrupt_at(bytes: &[u8], expected_offset: u64, what: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = segment_path(dir.path(), 1);
    fs::write(&path, bytes).expect("write");
    match Wal::open(dir.path()) {
        Err(WalError::Corrupt {
            segment,
            offset,
            reason,
        }) => {
            assert_eq!(segment, path, "{what}");
            assert_eq!(offset, expected_offset, "{what}: {reason}");
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        fs::read(&path).expect("read"),
        bytes,
        "{what}: corruption must not be cut"
    );
}

#[test]
fn flipped_byte_in_the_first_of_three_records_is_corruption() {
    let payloads: [&[u8]; 3] = [b"alpha record", b"beta", b"gamma"];
    let (bytes, _) = template_segment(&payloads);
    let first_len = payloads[0].len() + WAL_RECORD_HEADER_BYTES as usize;
    for index in 0..first_len {
        for mask in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[index] ^= mask;
            assert_corrupt_at(&damaged, 0, &format!("byte {index} ^ {mask:#x}"));
        }
    }
}

#[test]
fn flipped_byte_in_a_middle_record_reports_its_offset() {
    let payloads: [&[u8]; 3] = [b"alpha", b"beta record", b"gamma"];
    let (mut bytes, _) = template_segment(&payloads);
    let second = payloads[0].len() + WAL_RECORD_HEADER_BYTES as usize;
    bytes[second + 10] ^= 0x10;
    assert_corrupt_at(&bytes, second as u64, "middle record payload");
}

#[test]
fn oversize_length_header_is_never_allocated() {
    for length_word in [0x7fff_fff0u32, u32::MAX, WAL_RECORD_BYTES_MAX + 1] {
        let mut hostile = length_word.to_le_bytes().to_vec();
        hostile.extend_from_slice(&[0xab; 4]);
        // In the middle (a valid record follows): corruption.
        let mut bytes = encode(b"before", false);
        let offset = bytes.len() as u64;
        bytes.extend_from_slice(&hostile);
        bytes.extend_from_slice(&encode(b"after", false));
        assert_corrupt_at(&bytes, offset, &format!("length word {length_word:#x}"));
        // At the tail: torn, and truncated.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = encode(b"before", false);
        bytes.extend_from_slice(&hostile);
        bytes.extend_from_slice(&[0x55; 100]);
        fs::write(segment_path(dir.path(), 1), &bytes).expect("write");
        let (_, recovered) = open(dir.path());
        assert_eq!(recovered.records, records(&[b"before"]));
        assert_eq!(recovered.truncated_tail_bytes, 108);
    }
    let largest = LARGEST_ALLOCATION_BYTES.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_BYTES_SANE_MAX,
        "allocated {largest} bytes"
    );
}

#[test]
fn foreign_files_are_ignored_and_oversized_segments_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("README"), b"not a segment").expect("write");
    fs::write(dir.path().join("wal-1.log"), b"bad name").expect("write");
    let (wal, recovered) = open(dir.path());
    assert!(recovered.records.is_empty());
    wal.append(records(&[b"x"]), false).wait().expect("append");
    drop(wal);
    assert_eq!(open(dir.path()).1.records, records(&[b"x"]));

    // A segment bigger than any this WAL writes is refused before it is read (sparse file).
    let dir = tempfile::tempdir().expect("tempdir");
    let file = fs::File::create(segment_path(dir.path(), 1)).expect("create");
    file.set_len(WAL_SEGMENT_BYTES_MAX + 1).expect("set_len");
    let result = Wal::open(dir.path());
    assert!(
        matches!(result, Err(WalError::Corrupt { offset: 0, .. })),
        "{result:?}"
    );
}

#[derive(Debug, Clone)]
struct Batch {
    records: Vec<Vec<u8>>,
    rebase: bool,
}

fn batch_strategy() -> impl Strategy<Value = Batch> {
    let record = prop::collection::vec(any::<u8>(), 0..200);
    (
        prop::collection::vec(record, 0..12),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(records, rebase)| Batch {
            rebase: rebase && !records.is_empty(),
            records,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_replay_as_their_concatenation(
        batches in prop::collection::vec(batch_strategy(), 1..25),
        reopen_at in 0usize..25,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let (mut wal, _) = open(dir.path());
        let mut tickets = Vec::new();
        for (index, batch) in batches.iter().enumerate() {
            if index == reopen_at {
                tickets.drain(..).try_for_each(|t: kactor_transport::wal::CommitTicket| t.wait())
                    .expect("durable");
                drop(wal);
                let (reopened, recovered) = open(dir.path());
                prop_assert_eq!(&recovered.records, &expected);
                wal = reopened;
            }
            if batch.rebase {
                expected.clear();
            }
            expected.extend(batch.records.iter().cloned());
            tickets.push(wal.append(batch.records.clone(), batch.rebase));
        }
        tickets.into_iter().try_for_each(|t| t.wait()).expect("durable");
        drop(wal);
        let (_, recovered) = open(dir.path());
        prop_assert_eq!(recovered.records, expected);
        prop_assert_eq!(recovered.truncated_tail_bytes, 0);
    }
}
