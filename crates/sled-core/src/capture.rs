//! Copy-on-write capture: the consistent point of an online backup (no napi here).
//!
//! sled 0.34.7 has no snapshots. While a backup runs, every write made through the
//! binding first records the *pre-image* of each key it is about to write (its value
//! at the backup point, `None` when absent) unless that key already has one. The
//! backup then scans the live trees and, for each key, prefers the pre-image to what
//! it reads. Memory: one copy of every key written during the backup (and of its old
//! value); `clear()`/`dropTree()` record every entry of the tree first.
//!
//! Why the first recorded value is the value at the point: every write to a key `k`
//! after the point is preceded, on its own thread, by a record attempt for `k` that
//! completed (it inserted a pre-image or found one). So the pre-image that was
//! inserted first was *read* before any write to `k` after the point, hence it is the
//! value at the point (sled's reads and writes of one key are linearizable).
//!
//! Locks (see the crate doc for the whole picture):
//! - `gate` (RwLock): read by every non-transactional write for the length of its record
//!   and its sled write; written only by [`Capture::begin`] while it takes the point.
//! - `state` (Mutex): a leaf lock. Nothing calls sled (or anything else) while holding it.
//! - Transactional writes never take the gate: their thread holds sled's write lock
//!   for the whole callback, and `begin` takes that lock (a no-op transaction) while
//!   holding the gate, so a transaction runs wholly before or wholly after the point.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use sled::IVec;

/// The pre-images of one tree: key -> (value at the point, emitted by the scan).
type Images = HashMap<IVec, (Option<IVec>, bool)>;

#[derive(Default)]
struct TreeImages {
    images: Images,
    /// The last key the backup's scan has read (it reads in key order). A pre-image first
    /// recorded for a key at or before it is of a key the scan found live and emitted:
    /// had the key been absent then, its pre-image would have been recorded earlier (by
    /// the write that removed it) or be `None`. So it is marked emitted, not emitted twice.
    cursor: Option<IVec>,
    /// `dropTree` ran after the point: every entry has a pre-image, and the scan of
    /// the dropped tree may end early or fail.
    dropped: bool,
}

/// Per open database: the capture of the backup running on it, if any.
#[derive(Default)]
pub struct Capture {
    /// A backup owns this capture (one at a time per database).
    busy: AtomicBool,
    /// Pre-images are being recorded (the point was taken and the copy is running).
    active: AtomicBool,
    gate: RwLock<()>,
    /// tree name -> its pre-images; `None` outside a backup.
    state: Mutex<Option<HashMap<Vec<u8>, TreeImages>>>,
}

/// Another backup of this database holds the capture.
#[derive(Debug)]
pub struct Busy;

/// What [`Capture::begin`] returns: the trees at the point and how long writers waited.
pub struct Point {
    pub trees: Vec<(Vec<u8>, sled::Tree)>,
    /// From asking for the gate's write side to releasing it.
    pub pause: Duration,
}

/// One backup's hold on the capture; ends it (and frees its pre-images) when dropped,
/// whatever the outcome.
pub struct Claim(Arc<Capture>);

impl Claim {
    pub fn capture(&self) -> Arc<Capture> {
        self.0.clone()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::Release);
        *self.0.state.lock() = None;
        self.0.busy.store(false, Ordering::Release);
    }
}

impl Capture {
    /// Claims the capture for one backup; `Busy` if another backup holds it.
    pub fn claim(self: &Arc<Self>) -> Result<Claim, Busy> {
        self.busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Claim(self.clone()))
            .map_err(|_| Busy)
    }

    /// Takes the point: waits until no write of this binding is under way (the gate's
    /// write side, then sled's transaction lock through a no-op transaction), lists the
    /// trees and starts recording. Writers wait for the returned `pause`.
    pub fn begin(&self, _claim: &Claim, db: &sled::Db) -> Result<Point, sled::Error> {
        let asked = Instant::now();
        let gate = self.gate.write();
        // dropTree is a gated write, so no tree disappears here; a tree created now by
        // openTree is empty at the point, and it is not copied
        let mut trees = Vec::new();
        for name in db.tree_names() {
            trees.push((name.to_vec(), db.open_tree(&name)?));
        }
        let names: Vec<Vec<u8>> = trees.iter().map(|(name, _)| name.clone()).collect();
        let default: &sled::Tree = db;
        // runs while sled's write side is held: no transaction is half-way through
        let started = default.transaction(|_| {
            let images = names
                .iter()
                .map(|n| (n.clone(), TreeImages::default()))
                .collect();
            *self.state.lock() = Some(images);
            self.active.store(true, Ordering::Release);
            Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
        });
        drop(gate);
        let pause = asked.elapsed();
        match started {
            Ok(()) => Ok(Point { trees, pause }),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e),
            Err(sled::transaction::TransactionError::Abort(())) => Err(sled::Error::ReportableBug(
                "the backup point's empty transaction aborted".into(),
            )),
        }
    }

    /// Runs a non-transactional write `f` of tree `name`: `f` must call
    /// [`Recorder::record`] for each key before writing it.
    pub fn write<T, E: From<sled::Error>>(
        &self,
        name: &[u8],
        tree: &sled::Tree,
        f: impl FnOnce(&Recorder<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let _gate = self.gate.read();
        let recorder = Recorder {
            capture: self.active.load(Ordering::Acquire).then_some(self),
            name,
            tree,
        };
        f(&recorder)
    }

    /// For a write inside a transaction callback (which holds sled's write lock, so no
    /// gate): records `key`'s pre-image read through `read` (the transactional get,
    /// which gives the committed value of a key this transaction has not written).
    pub fn record_in_transaction<E>(
        &self,
        name: &[u8],
        key: &[u8],
        read: impl FnOnce() -> Result<Option<IVec>, E>,
    ) -> Result<(), E> {
        if !self.active.load(Ordering::Acquire) || self.has(name, key) {
            return Ok(());
        }
        let value = read()?;
        self.put(name, key, value);
        Ok(())
    }

    /// Whether `key` of `name` needs no record (recorded, or the tree is not captured).
    fn has(&self, name: &[u8], key: &[u8]) -> bool {
        match &*self.state.lock() {
            Some(trees) => trees.get(name).is_none_or(|t| t.images.contains_key(key)),
            None => true,
        }
    }

    /// Inserts a pre-image unless one is there (the first recorded value wins).
    fn put(&self, name: &[u8], key: &[u8], value: Option<IVec>) {
        if let Some(tree) = self.state.lock().as_mut().and_then(|t| t.get_mut(name)) {
            let passed = tree.cursor.as_ref().is_some_and(|c| c.as_ref() >= key);
            tree.images
                .entry(IVec::from(key))
                .or_insert((value, passed));
        }
    }

    /// What the backup emits for an entry `(key, live)` its scan read (in key order): the
    /// pre-image when there is one (`None`: the key was absent at the point), else the live
    /// value, which no write has changed since the point (a write records first).
    pub fn at_point(&self, name: &[u8], key: &IVec, live: IVec) -> Option<IVec> {
        let mut state = self.state.lock();
        let Some(tree) = state.as_mut().and_then(|t| t.get_mut(name)) else {
            return Some(live);
        };
        tree.cursor = Some(key.clone());
        match tree.images.get_mut(key) {
            Some((image, seen)) => {
                *seen = true;
                image.clone()
            }
            None => Some(live),
        }
    }

    /// The entries of `name` at the point that the scan did not meet (deleted after
    /// the point), sorted by key; taken out of the capture.
    pub fn unseen(&self, name: &[u8]) -> Vec<(IVec, IVec)> {
        let mut state = self.state.lock();
        let Some(tree) = state.as_mut().and_then(|t| t.get_mut(name)) else {
            return Vec::new();
        };
        let mut out: Vec<(IVec, IVec)> = std::mem::take(&mut tree.images)
            .into_iter()
            .filter_map(|(k, (image, seen))| if seen { None } else { image.map(|v| (k, v)) })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// How many pre-images are held (for tests and reports).
    pub fn recorded(&self) -> usize {
        self.state
            .lock()
            .as_ref()
            .map_or(0, |t| t.values().map(|tree| tree.images.len()).sum())
    }

    /// Whether tree `name` was dropped after the point.
    pub fn dropped(&self, name: &[u8]) -> bool {
        self.state
            .lock()
            .as_ref()
            .and_then(|t| t.get(name))
            .is_some_and(|tree| tree.dropped)
    }
}

/// Given to a gated write: records pre-images while a capture is active.
pub struct Recorder<'a> {
    capture: Option<&'a Capture>,
    name: &'a [u8],
    tree: &'a sled::Tree,
}

impl Recorder<'_> {
    /// Records `key`'s current value as its pre-image, unless it has one.
    pub fn record(&self, key: &[u8]) -> sled::Result<()> {
        let Some(capture) = self.capture else {
            return Ok(());
        };
        if capture.has(self.name, key) {
            return Ok(());
        }
        // read outside the leaf lock; `put` keeps the first recorded value
        let value = self.tree.get(key)?;
        capture.put(self.name, key, value);
        Ok(())
    }

    /// sled's `insert`, recorded.
    pub fn insert(&self, key: &[u8], value: &[u8]) -> sled::Result<Option<IVec>> {
        self.record(key)?;
        self.tree.insert(key, value)
    }

    /// sled's `remove`, recorded.
    pub fn remove(&self, key: &[u8]) -> sled::Result<Option<IVec>> {
        self.record(key)?;
        self.tree.remove(key)
    }

    /// sled's `apply_batch` of a batch writing `keys`, recorded.
    pub fn apply(&self, batch: sled::Batch, keys: &[Vec<u8>]) -> sled::Result<()> {
        for key in keys {
            self.record(key)?;
        }
        self.tree.apply_batch(batch)
    }

    /// Records every entry of the tree (before `clear()` or `dropTree()`).
    pub fn record_all(&self) -> sled::Result<()> {
        let Some(capture) = self.capture else {
            return Ok(());
        };
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            if !capture.has(self.name, &key) {
                capture.put(self.name, &key, Some(value));
            }
        }
        Ok(())
    }

    /// Before `dropTree`: records every entry and marks the tree dropped.
    pub fn record_drop(&self) -> sled::Result<()> {
        self.record_all()?;
        if let Some(capture) = self.capture {
            if let Some(tree) = capture
                .state
                .lock()
                .as_mut()
                .and_then(|t| t.get_mut(self.name))
            {
                tree.dropped = true;
            }
        }
        Ok(())
    }

    /// sled's `pop_min`/`pop_max` (first entry, then a compare-and-swap), recording the
    /// key before the swap.
    pub fn pop(&self, min: bool) -> sled::Result<Option<(IVec, IVec)>> {
        loop {
            let end = if min {
                self.tree.first()?
            } else {
                self.tree.last()?
            };
            let Some((key, value)) = end else {
                return Ok(None);
            };
            self.record(&key)?;
            if self
                .tree
                .compare_and_swap::<_, _, &[u8]>(&key, Some(&value), None)?
                .is_ok()
            {
                return Ok(Some((key, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    /// The capture's view of `tree` after a scan, as a sorted map.
    fn view(capture: &Capture, name: &[u8], tree: &sled::Tree) -> Vec<(IVec, IVec)> {
        let mut out: Vec<(IVec, IVec)> = tree
            .iter()
            .filter_map(|e| {
                let (k, v) = e.unwrap();
                capture.at_point(name, &k, v).map(|v| (k, v))
            })
            .collect();
        out.extend(capture.unseen(name));
        out.sort();
        out
    }

    #[test]
    fn writes_after_the_point_are_invisible() {
        let db = db();
        let tree = db.open_tree(b"t").unwrap();
        for i in 0u32..10 {
            tree.insert(i.to_be_bytes(), &b"old"[..]).unwrap();
        }
        let capture = Arc::new(Capture::default());
        let claim = capture.claim().unwrap();
        assert!(matches!(capture.claim(), Err(Busy)));
        let point = capture.begin(&claim, &db).unwrap();
        assert!(point.trees.iter().any(|(n, _)| n == b"t"));
        let w = |f: &dyn Fn(&Recorder<'_>) -> sled::Result<()>| {
            capture.write(b"t", &tree, |r| f(r)).unwrap()
        };
        w(&|r| {
            r.record(&1u32.to_be_bytes())?;
            tree.insert(1u32.to_be_bytes(), &b"new"[..]).map(drop)
        });
        w(&|r| {
            r.record(&2u32.to_be_bytes())?;
            tree.remove(2u32.to_be_bytes()).map(drop)
        });
        w(&|r| {
            r.record(&99u32.to_be_bytes())?;
            tree.insert(99u32.to_be_bytes(), &b"new"[..]).map(drop)
        });
        w(&|r| r.pop(true).map(drop));
        assert_eq!(capture.recorded(), 4);
        let seen = view(&capture, b"t", &tree);
        assert_eq!(seen.len(), 10);
        assert!(seen.iter().all(|(_, v)| v == b"old"));
        drop(claim);
        assert_eq!(capture.recorded(), 0);
        assert!(capture.claim().is_ok());
    }

    /// A key the scan emitted from the live tree and that a write then records must not
    /// be emitted again as "deleted after the point" (the verification found this).
    #[test]
    fn a_key_written_after_the_scan_passed_it_is_emitted_once() {
        let db = db();
        let tree = db.open_tree(b"t").unwrap();
        for k in [b"a", b"b", b"c"] {
            tree.insert(k, &b"old"[..]).unwrap();
        }
        let capture = Arc::new(Capture::default());
        let claim = capture.claim().unwrap();
        capture.begin(&claim, &db).unwrap();
        let mut emitted = Vec::new();
        let mut scan = tree.iter();
        for _ in 0..2 {
            let (k, v) = scan.next().unwrap().unwrap();
            emitted.extend(capture.at_point(b"t", &k, v).map(|v| (k, v)));
        }
        // after the scan passed "a" and "b": change "a", remove "b", add "0" and "bb"
        capture
            .write(b"t", &tree, |r| {
                r.insert(b"a", b"new")?;
                r.remove(b"b")?;
                r.insert(b"0", b"new")?;
                r.insert(b"bb", b"new")
            })
            .unwrap();
        for entry in scan {
            let (k, v) = entry.unwrap();
            emitted.extend(capture.at_point(b"t", &k, v).map(|v| (k, v)));
        }
        emitted.extend(capture.unseen(b"t"));
        emitted.sort();
        let old = IVec::from(b"old");
        let expected: Vec<(IVec, IVec)> = [b"a", b"b", b"c"]
            .iter()
            .map(|k| (IVec::from(*k), old.clone()))
            .collect();
        assert_eq!(emitted, expected);
    }

    #[test]
    fn clear_and_transactions_keep_the_point() {
        let db = db();
        let tree = db.open_tree(b"t").unwrap();
        tree.insert(b"a", &b"1"[..]).unwrap();
        tree.insert(b"b", &b"2"[..]).unwrap();
        let capture = Arc::new(Capture::default());
        let claim = capture.claim().unwrap();
        capture.begin(&claim, &db).unwrap();
        capture
            .write(b"t", &tree, |r| {
                r.record_all()?;
                tree.clear()
            })
            .unwrap();
        tree.transaction(|tx| {
            capture.record_in_transaction(b"t", b"c", || tx.get(b"c"))?;
            tx.insert(&b"c"[..], &b"3"[..])?;
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        })
        .unwrap();
        let expected: Vec<(IVec, IVec)> = vec![
            (IVec::from(b"a"), IVec::from(b"1")),
            (IVec::from(b"b"), IVec::from(b"2")),
        ];
        assert_eq!(view(&capture, b"t", &tree), expected);
    }

    /// Threads move amounts between keys (sum invariant) with transactions and with
    /// gated compare-and-swap while the point is taken; the captured view must keep the
    /// sum, whatever the interleaving.
    #[test]
    fn concurrent_writers_see_one_point() {
        const KEYS: u32 = 64;
        /// Keys only the batch mover touches: its read-then-batch is then atomic.
        const OWN: u32 = 16;
        const START: u64 = 1000;
        for round in 0..5 {
            let db = db();
            let tree = db.open_tree(b"t").unwrap();
            for i in 0..KEYS + OWN {
                tree.insert(i.to_be_bytes(), &START.to_be_bytes()[..])
                    .unwrap();
            }
            let capture = Arc::new(Capture::default());
            let stop = Arc::new(AtomicBool::new(false));
            let mut workers = Vec::new();
            for id in 0..3u32 {
                let (tree, capture, stop) = (tree.clone(), capture.clone(), stop.clone());
                workers.push(std::thread::spawn(move || {
                    let mut n = id + round;
                    while !stop.load(Ordering::Acquire) {
                        n = n.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        let (a, b) = if id == 0 {
                            (KEYS + (n >> 3) % OWN, KEYS + (n >> 13) % OWN)
                        } else {
                            ((n >> 3) % KEYS, (n >> 13) % KEYS)
                        };
                        if a == b {
                            continue;
                        }
                        let (ka, kb) = (a.to_be_bytes(), b.to_be_bytes());
                        if id == 0 {
                            move_by_batch(&capture, &tree, &ka, &kb);
                        } else {
                            move_by_transaction(&capture, &tree, &ka, &kb);
                        }
                    }
                }));
            }
            std::thread::sleep(Duration::from_millis(20));
            let claim = capture.claim().unwrap();
            capture.begin(&claim, &db).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            let seen = view(&capture, b"t", &tree);
            stop.store(true, Ordering::Release);
            for w in workers {
                w.join().unwrap();
            }
            let sum: u64 = seen.iter().map(|(_, v)| amount(v)).sum();
            assert_eq!(seen.len(), (KEYS + OWN) as usize);
            assert_eq!(sum, START * u64::from(KEYS + OWN), "round {round}");
        }
    }

    fn amount(v: &[u8]) -> u64 {
        u64::from_be_bytes(v.try_into().unwrap())
    }

    fn move_by_transaction(capture: &Capture, tree: &sled::Tree, ka: &[u8], kb: &[u8]) {
        tree.transaction(|tx| {
            for k in [ka, kb] {
                capture.record_in_transaction(b"t", k, || tx.get(k))?;
            }
            let a = amount(&tx.get(ka)?.unwrap());
            let b = amount(&tx.get(kb)?.unwrap());
            if a > 0 {
                tx.insert(ka, &(a - 1).to_be_bytes()[..])?;
                tx.insert(kb, &(b + 1).to_be_bytes()[..])?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
        })
        .unwrap();
    }

    /// A gated read-then-batch move (atomic because only this thread writes its keys).
    fn move_by_batch(capture: &Capture, tree: &sled::Tree, ka: &[u8], kb: &[u8]) {
        let batch_move = |r: &Recorder<'_>| -> sled::Result<()> {
            r.record(ka)?;
            r.record(kb)?;
            let a = amount(&tree.get(ka)?.unwrap());
            let b = amount(&tree.get(kb)?.unwrap());
            if a == 0 {
                return Ok(());
            }
            let mut batch = sled::Batch::default();
            batch.insert(ka, &(a - 1).to_be_bytes()[..]);
            batch.insert(kb, &(b + 1).to_be_bytes()[..]);
            tree.apply_batch(batch)
        };
        capture.write(b"t", tree, batch_move).unwrap();
    }
}
