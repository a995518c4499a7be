//! The workloads of bench/README.md on sled directly. Keys, values and random orders come from
//! `data.rs` (the twin of bench/data.mjs) and are generated outside the timed blocks, as
//! the JS harness does, so both sides time the store and nothing else.

use std::error::Error;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::blocks::Blocks;
use crate::data::{key, mixed_pool, pool, shuffled, value, MIXED_POOL, POOL};
use crate::Args;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Operations per timed block for point operations (the JS harness uses the same).
const BLOCK: usize = 1000;
/// Calls per timed block for `read-many` and `scan-range` (100 keys / entries each).
const CALL_BLOCK: usize = 10;

/// Loads `0..n` untimed, in batches (setup for every non-fill workload).
fn prefill(db: &sled::Db, a: &Args) -> Res<()> {
    for start in (0..a.n).step_by(BLOCK) {
        let mut batch = sled::Batch::default();
        for i in start..(start + BLOCK as u32).min(a.n) {
            batch.insert(&key(i.into()), value(a.seed, i.into(), a.value_size));
        }
        db.apply_batch(batch)?;
    }
    Ok(())
}

/// Generates one block's keys and values (untimed).
fn entries(a: &Args, order: &[u32]) -> Vec<([u8; 16], Vec<u8>)> {
    order
        .iter()
        .map(|&i| (key(i.into()), value(a.seed, i.into(), a.value_size)))
        .collect()
}

fn fill(db: &sled::Db, a: &Args, order: &[u32], batched: bool) -> Res<Blocks> {
    let mut b = Blocks::new();
    for chunk in order.chunks(BLOCK) {
        let block = entries(a, chunk);
        b.time(chunk.len() as u64, || -> Res<()> {
            if batched {
                let mut batch = sled::Batch::default();
                for (k, v) in block {
                    batch.insert(&k, v);
                }
                db.apply_batch(batch)?;
            } else {
                for (k, v) in block {
                    db.insert(k, v)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(b)
}

/// Runs blocks of `per_block` operations until the minimums are met; `block(j)` performs
/// one block starting at pool position `j`.
fn repeat(a: &Args, per_block: u64, mut block: impl FnMut(usize) -> Res<()>) -> Res<Blocks> {
    let mut b = Blocks::new();
    let mut j = 0;
    while !b.enough(a.min_ops, a.min_time) {
        let start = Instant::now();
        block(j)?;
        b.record(per_block, start.elapsed());
        j += 1;
    }
    Ok(b)
}

fn keys_of(indices: &[u32]) -> Vec<[u8; 16]> {
    indices.iter().map(|&i| key(i.into())).collect()
}

/// `read-workers`: two threads on one shared Db; each round both read a block from
/// their own pool and the round counts 2 blocks over the slower thread's time.
fn read_workers(db: &sled::Db, a: &Args) -> Res<Blocks> {
    const WORKERS: u32 = 2;
    let barrier = Arc::new(Barrier::new(WORKERS as usize + 1));
    let (tx, rx) = std::sync::mpsc::channel::<Duration>();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let (db, barrier, tx, stop) = (db.clone(), barrier.clone(), tx.clone(), stop.clone());
        let keys = keys_of(&pool(a.seed.wrapping_add(3 + w), a.n, 0, POOL));
        handles.push(thread::spawn(move || -> Res<()> {
            let mut at = 0;
            loop {
                barrier.wait();
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return Ok(());
                }
                let start = Instant::now();
                for _ in 0..BLOCK {
                    black_box(db.get(keys[at % keys.len()])?);
                    at += 1;
                }
                tx.send(start.elapsed())?;
            }
        }));
    }
    let mut b = Blocks::new();
    while !b.enough(a.min_ops, a.min_time) {
        barrier.wait();
        let slowest = (0..WORKERS)
            .map(|_| rx.recv())
            .try_fold(Duration::ZERO, |m, d| d.map(|d| m.max(d)))?;
        b.record(u64::from(WORKERS) * BLOCK as u64, slowest);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    barrier.wait();
    for h in handles {
        h.join().map_err(|_| "worker panicked")??;
    }
    Ok(b)
}

pub fn run(a: &Args) -> Res<Blocks> {
    let db = sled::Config::new().path(&a.path).open()?;
    if !a.workload.starts_with("fill-") {
        prefill(&db, a)?;
    }
    let reads = |offset| keys_of(&pool(a.seed.wrapping_add(2), a.n, offset, POOL));
    let blocks = match a.workload.as_str() {
        "fill-seq" => fill(&db, a, &(0..a.n).collect::<Vec<_>>(), false)?,
        "fill-rand" => fill(&db, a, &shuffled(a.seed, a.n), false)?,
        "fill-batch" => fill(&db, a, &(0..a.n).collect::<Vec<_>>(), true)?,
        "read-rand" | "read-miss" => {
            let keys = reads(if a.workload == "read-miss" { a.n } else { 0 });
            repeat(a, BLOCK as u64, |j| {
                for k in 0..BLOCK {
                    black_box(db.get(keys[(j * BLOCK + k) % keys.len()])?);
                }
                Ok(())
            })?
        }
        "read-many" => {
            // sled has no multi-get: a call is 100 gets, as sled-node's getMany does
            let keys = reads(0);
            repeat(a, CALL_BLOCK as u64, |j| {
                for c in 0..CALL_BLOCK {
                    let at = (j * CALL_BLOCK + c) * 100;
                    for k in 0..100 {
                        black_box(db.get(keys[(at + k) % keys.len()])?);
                    }
                }
                Ok(())
            })?
        }
        "scan-full" => repeat(a, a.n.into(), |_| {
            let mut count = 0u32;
            for entry in db.iter() {
                black_box(entry?);
                count += 1;
            }
            if count != a.n {
                return Err(format!("scan saw {count} entries, expected {}", a.n).into());
            }
            Ok(())
        })?,
        "scan-range" => {
            let starts = reads(0);
            repeat(a, CALL_BLOCK as u64, |j| {
                for c in 0..CALL_BLOCK {
                    let start = starts[(j * CALL_BLOCK + c) % starts.len()];
                    for entry in db.range(start..).take(100) {
                        black_box(entry?);
                    }
                }
                Ok(())
            })?
        }
        "mixed" => {
            let steps: Vec<_> = mixed_pool(a.seed, a.n, MIXED_POOL)
                .into_iter()
                .map(|(i, w)| {
                    (
                        key(i.into()),
                        w.then(|| value(a.seed, i.into(), a.value_size)),
                    )
                })
                .collect();
            repeat(a, BLOCK as u64, |j| {
                for k in 0..BLOCK {
                    let (key, write) = &steps[(j * BLOCK + k) % steps.len()];
                    match write {
                        Some(v) => black_box(db.insert(key, v.as_slice())?),
                        None => black_box(db.get(key)?),
                    };
                }
                Ok(())
            })?
        }
        "read-workers" => read_workers(&db, a)?,
        other => return Err(format!("unknown workload {other}").into()),
    };
    db.flush()?;
    Ok(blocks)
}
