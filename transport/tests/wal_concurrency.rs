//! WAL group commit under concurrency, async tickets, shutdown, and a real full disk.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use kactor_transport::wal::{CommitTicket, Wal, WalError};

#[path = "support/tiny_disk.rs"]
mod tiny_disk;
use tiny_disk::TinyDisk;

const THREADS: u64 = 8;
const APPENDS_PER_THREAD: u64 = 150;

fn tagged(order: u64, thread: u64, index: u64) -> Vec<u8> {
    let mut record = order.to_le_bytes().to_vec();
    record.extend_from_slice(&thread.to_le_bytes());
    record.extend_from_slice(&index.to_le_bytes());
    record
}

fn order_of(record: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&record[..8]);
    u64::from_le_bytes(bytes)
}

/// Each thread appends under a shared counter, so the counter value is the append order.
fn append_from_threads(wal: &Arc<Wal>) -> u64 {
    let order = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread_id| {
            let (wal, order) = (wal.clone(), order.clone());
            thread::spawn(move || {
                let mut pending: Vec<CommitTicket> = Vec::new();
                for index in 0..APPENDS_PER_THREAD {
                    let ticket = {
                        let mut next = order.lock().expect("order lock");
                        let record = tagged(*next, thread_id, index);
                        *next += 1;
                        wal.append(vec![record], false)
                    };
                    if index % 3 == 0 {
                        ticket.wait().expect("durable");
                    } else {
                        pending.push(ticket);
                    }
                }
                pending
                    .into_iter()
                    .try_for_each(CommitTicket::wait)
                    .expect("durable");
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("appender thread");
    }
    let total = *order.lock().expect("order lock");
    total
}

#[test]
fn many_threads_appending_get_ordered_durable_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path()).expect("open");
    let wal = Arc::new(wal);
    let total = append_from_threads(&wal);
    assert_eq!(total, THREADS * APPENDS_PER_THREAD);
    drop(wal);
    let (_, recovered) = Wal::open(dir.path()).expect("reopen");
    let orders: Vec<u64> = recovered.records.iter().map(|r| order_of(r)).collect();
    assert_eq!(
        orders,
        (0..total).collect::<Vec<_>>(),
        "replay follows append order"
    );
}

#[test]
fn dropping_the_wal_drains_outstanding_tickets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path()).expect("open");
    let tickets: Vec<CommitTicket> = (0..500u64)
        .map(|i| wal.append(vec![i.to_le_bytes().to_vec()], false))
        .collect();
    drop(wal);
    tickets
        .into_iter()
        .try_for_each(CommitTicket::wait)
        .expect("drained on drop");
    let (_, recovered) = Wal::open(dir.path()).expect("reopen");
    assert_eq!(recovered.records.len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tickets_complete_without_blocking_the_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path()).expect("open");
    let wal = Arc::new(wal);
    let tasks: Vec<_> = (0..4u8)
        .map(|task| {
            let wal = wal.clone();
            tokio::spawn(async move {
                for index in 0..50u8 {
                    wal.append(vec![vec![task, index]], false).durable().await?;
                }
                Ok::<(), WalError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("durable");
    }
    let refused = wal.append(Vec::new(), true).durable().await;
    assert!(matches!(refused, Err(WalError::EmptyRebase)));
    drop(wal);
    let (_, recovered) = Wal::open(dir.path()).expect("reopen");
    assert_eq!(recovered.records.len(), 200);
}

/// Appends 4 KiB records until the disk is full; returns the acknowledged ones and the error.
fn fill(wal: &Wal) -> (Vec<Vec<u8>>, WalError) {
    let mut acknowledged = Vec::new();
    for index in 0..1000u32 {
        let record: Vec<u8> = index
            .to_le_bytes()
            .iter()
            .copied()
            .cycle()
            .take(4096)
            .collect();
        match wal.append(vec![record.clone()], false).wait() {
            Ok(()) => acknowledged.push(record),
            Err(error) => return (acknowledged, error),
        }
    }
    panic!("a 64 KiB tmpfs never filled up");
}

fn reopen(path: &Path) -> Vec<Vec<u8>> {
    Wal::open(path).expect("reopen on a full disk").1.records
}

#[test]
fn full_disk_fails_the_ticket_closes_the_wal_and_keeps_acknowledged_records() {
    let tmpfs = match TinyDisk::mount("64k") {
        Ok(tmpfs) => tmpfs,
        Err(reason) => {
            eprintln!("skipping the ENOSPC test: cannot mount a tmpfs ({reason})");
            return;
        }
    };
    let (wal, _) = Wal::open(&tmpfs.path().join("wal")).expect("open");
    let (acknowledged, error) = fill(&wal);
    assert!(!acknowledged.is_empty());
    match &error {
        WalError::Io { source, .. } => assert_eq!(source.raw_os_error(), Some(28), "{error}"),
        other => panic!("expected ENOSPC, got {other:?}"),
    }
    let refused = wal.append(vec![b"more".to_vec()], false).wait();
    assert!(
        matches!(refused, Err(WalError::Closed { .. })),
        "{refused:?}"
    );
    drop(wal);
    // The failed record's outcome is unknown; every acknowledged record must be there.
    let recovered = reopen(&tmpfs.path().join("wal"));
    assert!(recovered.len() >= acknowledged.len());
    assert!(recovered.len() <= acknowledged.len() + 1);
    assert_eq!(recovered[..acknowledged.len()], acknowledged[..]);
}
