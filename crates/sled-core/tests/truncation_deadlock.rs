//! sled 0.34.7 as published can stop for good when it shrinks its file: `bump_tip` waits
//! for a truncation queued on sled's IO pool while it holds the segment accountant's
//! lock, and every pool thread can be waiting for that lock. The workspace builds sled
//! with the truncation on a thread of its own (crates/sled-patch). This is a load that
//! stops the published sled: built against it, this test failed 7 of 8 runs on a 2-core
//! machine, each within 10–17 s. Four threads write and remove 70 KB keys (whose nodes
//! fill segments fast, which are then freed at the file's end) between transactions (each
//! seals a buffer, a write on the pool), while two more threads keep both cores busy.
//! It fails when no write finishes for 10 s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

const RUN: Duration = Duration::from_secs(30);
const STALL: Duration = Duration::from_secs(10);
const BIG_KEY: usize = 70_000;
const WRITERS: u8 = 4;

#[test]
fn shrinking_the_file_under_load_never_stops_the_writers() {
    let dir = TempDir::new();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));

    let mut threads = Vec::new();
    for _ in 0..2 {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut x = 1u64;
            while !stop.load(Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                std::hint::black_box(x);
            }
        }));
    }
    for writer in 0..WRITERS {
        let (db, stop, done) = (db.clone(), stop.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Relaxed) {
                let mut key = vec![writer; BIG_KEY];
                key[1..9].copy_from_slice(&round.to_be_bytes());
                db.insert(&key, "v").unwrap();
                db.remove(&key).unwrap();
                for _ in 0..10 {
                    let res: sled::transaction::TransactionResult<(), ()> = db.transaction(|tx| {
                        tx.insert(&[writer, 2][..], "tx")?;
                        tx.remove(&[writer, 2][..])?;
                        Ok(())
                    });
                    res.unwrap();
                }
                round += 1;
                done.fetch_add(1, Relaxed);
            }
        }));
    }

    let started = Instant::now();
    let (mut seen, mut moved) = (0, Instant::now());
    while started.elapsed() < RUN {
        std::thread::sleep(Duration::from_millis(100));
        let now = done.load(Relaxed);
        if now != seen {
            (seen, moved) = (now, Instant::now());
        }
        // the stuck threads stay stuck; the test process ends with them
        assert!(
            moved.elapsed() < STALL,
            "no write finished for {STALL:?} after {seen} rounds: sled's file truncation deadlock"
        );
    }
    stop.store(true, Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(seen > 0);
}
