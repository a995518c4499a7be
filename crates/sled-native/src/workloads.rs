//! The workloads of bench/README.md on sled directly. Keys, values and random orders come from
//! `data.rs` (the twin of bench/data.mjs) and are generated outside the timed blocks, as
//! the JS harness does, so both sides time the store and nothing else. With `a.copy`
//! every key and value read is copied out of its `IVec` (`sled-native-copy`); writes are
//! the same in both baselines (sled copies what it is given either way).

use std::error::Error;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use crate::blocks::Blocks;
use crate::data::{key, mixed_block, mixed_stream, pool, shuffled, value, POOL};
use crate::usage;
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

/// One point read as each baseline makes it: the borrowed `IVec`, or its bytes copied out.
fn get(db: &sled::Tree, k: &[u8], copy: bool) -> Res<()> {
    let v = db.get(k)?;
    if copy {
        black_box(v.map(|v| v.to_vec()));
    } else {
        black_box(v);
    }
    Ok(())
}

/// One iterated entry as each baseline takes it (see `get`).
fn entry(e: sled::Result<(sled::IVec, sled::IVec)>, copy: bool) -> Res<()> {
    let (k, v) = e?;
    if copy {
        black_box((k.to_vec(), v.to_vec()));
    } else {
        black_box((k, v));
    }
    Ok(())
}

/// Untimed: one full scan, so a store opened from a copy has its pages in sled's cache,
/// as a store that was just filled does (the JS cells do the same through their adapter).
fn warm(db: &sled::Db) -> Res<()> {
    for e in db.iter() {
        black_box(e?);
    }
    Ok(())
}

/// `read-workers`: two threads on one shared Db; each round both read a block from
/// their own pool, and the round counts 2 blocks over its wall-clock time: from the
/// first worker's start to the last worker's end (so it can never exceed 2 threads' worth).
fn read_workers(db: &sled::Db, a: &Args) -> Res<Blocks> {
    const WORKERS: u32 = 2;
    let barrier = Arc::new(Barrier::new(WORKERS as usize + 1));
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Instant)>();
    let copy = a.copy;
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
                    get(&db, &keys[at % keys.len()], copy)?;
                    at += 1;
                }
                tx.send((start, Instant::now()))?;
            }
        }));
    }
    let mut b = Blocks::new();
    while !b.enough(a.min_ops, a.min_time) {
        barrier.wait();
        let spans = (0..WORKERS)
            .map(|_| rx.recv())
            .collect::<Result<Vec<_>, _>>()?;
        let first = spans
            .iter()
            .map(|s| s.0)
            .min()
            .ok_or("no worker answered")?;
        let last = spans
            .iter()
            .map(|s| s.1)
            .max()
            .ok_or("no worker answered")?;
        b.record(u64::from(WORKERS) * BLOCK as u64, last - first);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    barrier.wait();
    for h in handles {
        h.join().map_err(|_| "worker panicked")??;
    }
    Ok(b)
}

/// The timed blocks, and the (machine busy, own) cores over them (see usage.rs).
/// `mixed`: each block's steps are drawn from the stream (keys and values built) before
/// the block is timed, so a step is never replayed, as in bench/workloads.mjs.
fn mixed(db: &sled::Db, a: &Args) -> Res<Blocks> {
    let mut stream = mixed_stream(a.seed);
    let mut b = Blocks::new();
    while !b.enough(a.min_ops, a.min_time) {
        let steps: Vec<_> = mixed_block(&mut stream, a.n, BLOCK)
            .into_iter()
            .map(|(i, w)| {
                (
                    key(i.into()),
                    w.then(|| value(a.seed, i.into(), a.value_size)),
                )
            })
            .collect();
        b.time(BLOCK as u64, || -> Res<()> {
            for (key, write) in &steps {
                match write {
                    Some(v) => {
                        black_box(db.insert(key, v.as_slice())?);
                    }
                    None => get(db, key, a.copy)?,
                }
            }
            Ok(())
        })?;
    }
    Ok(b)
}

pub fn run(a: &Args) -> Res<(Blocks, Option<(f64, f64)>)> {
    let db = sled::Config::new().path(&a.path).open()?;
    if a.loaded {
        warm(&db)?;
    } else if !a.workload.starts_with("fill-") {
        prefill(&db, a)?;
    }
    let copy = a.copy;
    let fill_order = |order: Vec<u32>| -> Vec<u32> {
        let count = a
            .fill
            .map_or(order.len(), |f| (f as usize).min(order.len()));
        order[..count].to_vec()
    };
    let before = usage::sample();
    let reads = |offset| keys_of(&pool(a.seed.wrapping_add(2), a.n, offset, POOL));
    let blocks = match a.workload.as_str() {
        // the store other cells copy: loaded above, nothing timed
        "load" => Blocks::new(),
        "fill-seq" => fill(&db, a, &fill_order((0..a.n).collect()), false)?,
        "fill-rand" => fill(&db, a, &fill_order(shuffled(a.seed, a.n)), false)?,
        "fill-batch" => fill(&db, a, &(0..a.n).collect::<Vec<_>>(), true)?,
        "read-rand" | "read-miss" => {
            let keys = reads(if a.workload == "read-miss" { a.n } else { 0 });
            repeat(a, BLOCK as u64, |j| {
                for k in 0..BLOCK {
                    get(&db, &keys[(j * BLOCK + k) % keys.len()], copy)?;
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
                        get(&db, &keys[(at + k) % keys.len()], copy)?;
                    }
                }
                Ok(())
            })?
        }
        "scan-full" => repeat(a, a.n.into(), |_| {
            let mut count = 0u32;
            for e in db.iter() {
                entry(e, copy)?;
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
                    for e in db.range(start..).take(100) {
                        entry(e, copy)?;
                    }
                }
                Ok(())
            })?
        }
        "mixed" => mixed(&db, a)?,
        "read-workers" => read_workers(&db, a)?,
        other => return Err(format!("unknown workload {other}").into()),
    };
    let cpu = usage::cores(&before, &usage::sample());
    db.flush()?;
    Ok((blocks, cpu))
}
