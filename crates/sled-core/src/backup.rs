//! The online backup itself (no napi here): take the point ([`Capture::begin`]), copy
//! every tree of the point into a new sled database, reopen that copy and compare it
//! with what was copied. On any failure or cancellation the destination is removed.
//!
//! Runs on one thread that holds no lock of ours while it calls sled: the scan's
//! `next()` takes sled's read side like any reader, and the capture's leaf lock is
//! taken only after each read.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sled::IVec;

use crate::capture::{Capture, Claim};

/// Counters the JS side polls, and the cancel flag it sets.
#[derive(Default)]
pub struct Progress {
    pub entries: AtomicU64,
    pub bytes: AtomicU64,
    /// Trees fully copied.
    pub trees: AtomicU64,
    pub cancel: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub trees: u64,
    pub entries: u64,
    pub bytes: u64,
    pub duration: Duration,
    pub pause: Duration,
}

#[derive(Debug)]
pub enum Failure {
    /// Another backup of this database is running.
    Busy,
    Cancelled,
    /// The destination exists and is not an empty directory.
    Exists,
    /// A file operation on the destination.
    Io(std::io::Error),
    Sled(sled::Error),
    /// The reopened copy differs from what was written.
    Mismatch(String),
    /// sled panicked (its export/import and some I/O paths unwrap); the copy was removed.
    Panicked,
}

impl From<sled::Error> for Failure {
    fn from(e: sled::Error) -> Failure {
        Failure::Sled(e)
    }
}

/// Refuses a destination that exists, unless it is an empty directory. Returns
/// whether it exists (an existing empty directory is kept, emptied, on failure).
pub fn check_destination(destination: &Path) -> Result<bool, Failure> {
    match std::fs::symlink_metadata(destination) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::Io(e)),
        Ok(meta) if meta.is_dir() => {
            let mut entries = std::fs::read_dir(destination).map_err(Failure::Io)?;
            match entries.next() {
                None => Ok(true),
                Some(_) => Err(Failure::Exists),
            }
        }
        Ok(_) => Err(Failure::Exists),
    }
}

/// Count and an order-independent digest of (key, value) pairs, per tree.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
struct Digest {
    count: u64,
    sum: u64,
}

impl Digest {
    fn add(&mut self, key: &[u8], value: &[u8]) {
        // SipHash with fixed keys: stable across the two passes of this process
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        value.hash(&mut hasher);
        self.count += 1;
        self.sum = self.sum.wrapping_add(hasher.finish());
    }
}

/// Backs up `db` into `destination` (a new database opened with `config(destination)`;
/// sled's `Config::path` panics on a cloned config, hence a maker). `existed`: from
/// [`check_destination`].
pub fn run(
    db: &sled::Db,
    claim: Claim,
    destination: &Path,
    existed: bool,
    config: impl Fn(&Path) -> sled::Config,
    progress: &Progress,
) -> Result<Summary, Failure> {
    let started = Instant::now();
    let capture = claim.capture();
    // the destination is created before the point, so a bad path costs writers nothing
    if let Err(e) = std::fs::create_dir_all(destination) {
        return Err(Failure::Io(e));
    }
    let attempt = || {
        let target = config(destination).open()?;
        let point = capture.begin(&claim, db)?;
        let written = copy(&capture, &point.trees, &target, progress)?;
        drop(claim);
        target.flush()?;
        drop(target);
        // sled's background threads can hold the copy's file lock for a moment after the
        // last handle is dropped: reopening (here, then by the caller) must not race them
        crate::registry::wait_for_unlock(destination);
        verify(config(destination), &written)?;
        crate::registry::wait_for_unlock(destination);
        // a cancel (abort, close(), a throwing onProgress) made while the copy was flushed
        // or verified still ends the backup; one made after this is the caller's (`discard`)
        if progress.cancel.load(Ordering::Acquire) {
            return Err(Failure::Cancelled);
        }
        Ok(Summary {
            trees: written.len() as u64,
            entries: progress.entries.load(Ordering::Relaxed),
            bytes: progress.bytes.load(Ordering::Relaxed),
            duration: started.elapsed(),
            pause: point.pause,
        })
    };
    // a panic must not leave a partial copy behind; the caller's guard reports its message
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(attempt))
        .unwrap_or(Err(Failure::Panicked));
    if result.is_err() {
        remove(destination, existed);
    }
    result
}

/// The copy is flushed after this many bytes: sled's `flush` holds its process-wide lock's
/// read side while it writes everything pending, so transactions and batches anywhere in
/// the process wait for it; small flushes keep that wait short (one big final flush of a
/// 200,000-entry copy stalled them for about 200 ms).
const FLUSH_EVERY: u64 = 4 << 20;

/// Copies every tree of the point; returns what was written, per tree.
fn copy(
    capture: &Capture,
    trees: &[(Vec<u8>, sled::Tree)],
    target: &sled::Db,
    progress: &Progress,
) -> Result<BTreeMap<Vec<u8>, Digest>, Failure> {
    let mut written = BTreeMap::new();
    let mut unflushed = 0u64;
    for (name, tree) in trees {
        let out = target.open_tree(name)?;
        let mut digest = Digest::default();
        let mut emit = |key: &IVec, value: &IVec| -> Result<(), Failure> {
            if progress.cancel.load(Ordering::Relaxed) {
                return Err(Failure::Cancelled);
            }
            out.insert(key, value)?;
            unflushed += (key.len() + value.len()) as u64;
            if unflushed >= FLUSH_EVERY {
                target.flush()?;
                unflushed = 0;
            }
            digest.add(key, value);
            progress.entries.fetch_add(1, Ordering::Relaxed);
            progress
                .bytes
                .fetch_add((key.len() + value.len()) as u64, Ordering::Relaxed);
            Ok(())
        };
        for entry in tree.iter() {
            let (key, live) = match entry {
                Ok(entry) => entry,
                // a tree dropped after the point: every entry has a pre-image
                Err(_) if capture.dropped(name) => break,
                Err(e) => return Err(e.into()),
            };
            if let Some(value) = capture.at_point(name, &key, live) {
                emit(&key, &value)?;
            }
        }
        for (key, value) in capture.unseen(name) {
            emit(&key, &value)?;
        }
        written.insert(name.clone(), digest);
        progress.trees.fetch_add(1, Ordering::Relaxed);
    }
    Ok(written)
}

/// Reopens the copy and compares its trees with what was written.
fn verify(config: sled::Config, written: &BTreeMap<Vec<u8>, Digest>) -> Result<(), Failure> {
    let copy = config.open()?;
    let names: Vec<Vec<u8>> = copy.tree_names().iter().map(|n| n.to_vec()).collect();
    let expected: Vec<&Vec<u8>> = written.keys().collect();
    let mut found: Vec<&Vec<u8>> = names.iter().collect();
    found.sort();
    if found != expected {
        return Err(Failure::Mismatch(format!(
            "the copy has {} trees, {} were written",
            found.len(),
            expected.len()
        )));
    }
    for (name, digest) in written {
        let mut got = Digest::default();
        for entry in copy.open_tree(name)?.iter() {
            let (key, value) = entry?;
            got.add(&key, &value);
        }
        if got != *digest {
            return Err(Failure::Mismatch(format!(
                "tree {:?}: {} entries read back, {} written (or different contents)",
                String::from_utf8_lossy(name),
                got.count,
                digest.count
            )));
        }
    }
    Ok(())
}

/// Removes what the backup wrote: the directory, or its contents when it existed. A
/// failed run calls it; so does the caller for a finished copy it fails after all (its
/// `onProgress` threw after the last check of the cancel flag).
pub fn remove(destination: &Path, existed: bool) {
    if !existed {
        let _ = std::fs::remove_dir_all(destination);
        return;
    }
    if let Ok(entries) = std::fs::read_dir(destination) {
        for entry in entries.flatten() {
            let path: PathBuf = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sled-node-backup-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// [`run`] into a new directory `dest`, with a fresh claim of `capture`.
    fn back_up(
        db: &sled::Db,
        capture: &std::sync::Arc<Capture>,
        dest: &Path,
        progress: &Progress,
    ) -> Result<Summary, Failure> {
        let claim = capture.claim().unwrap();
        run(
            db,
            claim,
            dest,
            false,
            |p| sled::Config::new().path(p),
            progress,
        )
    }

    #[test]
    fn copies_every_tree_and_refuses_a_used_destination() {
        use std::sync::Arc;
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.insert(b"k", b"v").unwrap();
        let t = db.open_tree(b"t").unwrap();
        for i in 0u32..1000 {
            t.insert(i.to_be_bytes(), &i.to_le_bytes()[..]).unwrap();
        }
        db.open_tree(b"empty").unwrap();
        let dest = temp_dir("ok");
        assert!(!check_destination(&dest).unwrap());
        let capture = Arc::new(Capture::default());
        let progress = Progress::default();
        let summary = back_up(&db, &capture, &dest, &progress).unwrap();
        assert_eq!(summary.trees, 3);
        assert_eq!(summary.entries, 1001);
        assert!(matches!(check_destination(&dest), Err(Failure::Exists)));
        let copy = sled::Config::new().path(&dest).open().unwrap();
        assert_eq!(copy.open_tree(b"t").unwrap().len(), 1000);
        assert_eq!(copy.get(b"k").unwrap().unwrap(), b"v");
        drop(copy);
        std::fs::remove_dir_all(&dest).unwrap();
    }

    #[test]
    fn cancel_removes_the_destination() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.insert(b"k", b"v").unwrap();
        let dest = temp_dir("cancel");
        let progress = Progress::default();
        progress.cancel.store(true, Ordering::Relaxed);
        let capture = std::sync::Arc::new(Capture::default());
        let failed = back_up(&db, &capture, &dest, &progress);
        assert!(matches!(failed, Err(Failure::Cancelled)));
        assert!(!dest.exists());
        // the capture was released: a second backup may start
        assert!(capture.claim().is_ok());
    }
}
