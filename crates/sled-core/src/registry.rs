//! The process-wide registry: one shared `sled::Db` per canonical path, for every
//! thread and worker of the process.
//!
//! sled takes an exclusive `flock` per path, so opening a path twice in one process
//! would fail; instead every open of a path shares one [`Shared`], counted by
//! handles. An entry is `Busy` while sled is opening or dropping the database:
//! opens of that path wait on the condvar, so an open racing with the last close
//! (in another worker) waits for the file lock to be released instead of failing
//! with `SLED_LOCKED`.

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use parking_lot::{Condvar, Mutex};

use crate::capture::Capture;
use crate::error::{from_io, from_sled, Code, Error, Result};
use crate::settings::{OpenOptions, Settings, Stored};

use crate::slot::Slot;
use crate::watch::Hubs;
use crate::weak_list::WeakList;

/// One handle's share of an open database: dropping it gives the share back
/// ([`release`]), wherever that happens — `close()`, a finalizer, or a result that
/// never reached JS (an `openAsync` whose worker was terminated). The file lock can
/// therefore never outlive the last share.
pub struct Share(ManuallyDrop<Arc<Shared>>);

impl std::ops::Deref for Share {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Share {
    fn new(shared: Arc<Shared>) -> Share {
        Share(ManuallyDrop::new(shared))
    }

    /// Identifies the shared database (transactions need all their trees in one).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Another share of the same database (a running backup holds one).
    pub fn join(&self) -> Share {
        if let Some(Entry::Open { handles, .. }) = REGISTRY.entries.lock().get_mut(&self.path) {
            *handles += 1;
        }
        Share::new(Arc::clone(&self.0))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is never used again
        let shared = unsafe { ManuallyDrop::take(&mut self.0) };
        release(shared);
    }
}

/// One open sled database, shared by every handle of its path.
pub struct Shared {
    pub db: sled::Db,
    pub path: PathBuf,
    /// The path as users see it in messages.
    pub subject: String,
    settings: Settings,
    /// Every live tree slot of this database by tree name, across all handles
    /// and threads, so `dropTree` can invalidate them all.
    trees: Mutex<HashMap<Vec<u8>, WeakList<Slot>>>,
    /// The subscriber hub of each watched tree (see `watch.rs`).
    pub hubs: Arc<Hubs>,
    /// Held by `openTree` and `dropTree` for their whole step.
    pub tree_ops: Mutex<()>,
    /// The pre-images of a running backup (`capture.rs`).
    pub capture: Arc<Capture>,
}

impl Shared {
    pub fn register_tree(&self, name: &[u8], slot: &Arc<Slot>) {
        let mut trees = self.trees.lock();
        trees
            .entry(name.to_vec())
            .or_default()
            .push(Arc::downgrade(slot));
    }

    /// Drops tree `name`: marks every live handle of it dropped (in every thread), drops
    /// it in sled, then forgets its subscriber hub. All of it under `tree_ops`, so no
    /// `openTree` in between can get the old tree and give it a new handle or hub.
    /// The settings of this database for a new one (a backup's destination), persistent.
    pub fn backup_config(&self, path: &std::path::Path) -> sled::Config {
        self.settings.to_config(path, false).temporary(false)
    }

    pub fn drop_tree(&self, name: &[u8]) -> sled::Result<bool> {
        let _tree_ops = self.tree_ops.lock();
        let mut slots = self.trees.lock().remove(name).unwrap_or_default();
        for slot in slots.take_live() {
            slot.mark_dropped();
        }
        // gated like every write; a running backup records the tree's entries first
        let dropped = match self.db.tree_names().iter().any(|n| n == name) {
            true => self.db.open_tree(name).and_then(|tree| {
                self.capture.write(name, &tree, |r| {
                    r.record_drop()?;
                    self.db.drop_tree(name)
                })
            }),
            false => Ok(false),
        };
        // no handle of the old tree can start a subscriber now, and no new one exists yet
        self.hubs.forget(name);
        dropped
    }
}

enum Entry {
    Open {
        shared: Arc<Shared>,
        handles: usize,
    },
    /// sled is opening or dropping this path right now.
    Busy,
}

struct Registry {
    entries: Mutex<HashMap<PathBuf, Entry>>,
    changed: Condvar,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    entries: Mutex::new(HashMap::new()),
    changed: Condvar::new(),
});

/// Creates the directory and resolves symlinks and `..`, so that two spellings of
/// one path share one registry entry.
fn canonical(path: &str) -> Result<PathBuf> {
    let io = |e: std::io::Error| from_io("open", &format!("{path:?}"), &e);
    std::fs::create_dir_all(path).map_err(io)?;
    std::fs::canonicalize(path).map_err(io)
}

/// Returns the shared database for `path`, opening it if no handle has it open.
pub fn acquire(path: &str, opts: &OpenOptions) -> Result<Share> {
    let settings = Settings::from_options(opts)?;
    let create_new = opts.create_new.unwrap_or(false);
    let path = canonical(path)?;
    let subject = path.display().to_string();
    let mut entries = REGISTRY.entries.lock();
    loop {
        match entries.get_mut(&path) {
            Some(Entry::Open { shared, handles }) => {
                let mut conflicts = shared.settings.conflicts(&settings, opts);
                if create_new {
                    conflicts.insert(0, "createNew");
                }
                if !conflicts.is_empty() {
                    return Err(Error::new(
                        Code::OptionsConflict,
                        format!(
                            "open on {subject}: the database is already open in this process \
                             with different options ({})",
                            conflicts.join(", ")
                        ),
                    ));
                }
                *handles += 1;
                return Ok(Share::new(shared.clone()));
            }
            Some(Entry::Busy) => REGISTRY.changed.wait(&mut entries),
            None => break,
        }
    }
    entries.insert(path.clone(), Entry::Busy);
    drop(entries);
    let settings = match verify_conf(&path, &subject) {
        Ok(stored) => settings.inherit(&stored, opts),
        Err(e) => {
            REGISTRY.entries.lock().remove(&path);
            REGISTRY.changed.notify_all();
            return Err(e);
        }
    };

    // sled may take long (recovery); the registry lock is not held meanwhile
    let opened = crate::guard::catching(|| settings.to_config(&path, create_new).open());
    let mut entries = REGISTRY.entries.lock();
    let result = match opened {
        Ok(Ok(db)) => {
            let shared = Arc::new(Shared {
                db,
                path: path.clone(),
                subject,
                settings,
                trees: Mutex::new(HashMap::new()),
                hubs: Arc::default(),
                tree_ops: Mutex::new(()),
                capture: Arc::default(),
            });
            entries.insert(
                path,
                Entry::Open {
                    shared: shared.clone(),
                    handles: 1,
                },
            );
            Ok(Share::new(shared))
        }
        Ok(Err(e)) => {
            entries.remove(&path);
            Err(from_sled("open", &subject, e))
        }
        Err(panic) => {
            entries.remove(&path);
            Err(crate::guard::panicked(
                &format!("open on {subject}: sled"),
                &panic,
            ))
        }
    };
    REGISTRY.changed.notify_all();
    result
}

/// Gives back one handle's reference (from [`Share`]'s drop). The last one drops
/// sled's `Db` here, on the calling thread, so the file lock is free (and a temporary
/// database deleted) before this returns.
fn release(shared: Arc<Shared>) {
    let path = shared.path.clone();
    let mut entries = REGISTRY.entries.lock();
    let last = match entries.get_mut(&path) {
        Some(Entry::Open { handles, .. }) => {
            *handles -= 1;
            *handles == 0
        }
        _ => false,
    };
    if !last {
        return;
    }
    let Some(Entry::Open { shared: owned, .. }) = entries.insert(path.clone(), Entry::Busy) else {
        return;
    };
    drop(entries);
    drop(owned);
    // sled's Drop flushes and joins its flusher thread; its final fsync unwraps, so a
    // failing disk would panic here: contain it, the lock is released either way
    let _ = crate::guard::catching(move || drop(shared));
    wait_for_unlock(&path);
    REGISTRY.entries.lock().remove(&path);
    REGISTRY.changed.notify_all();
}

/// sled checks the CRC of its `conf` file but only logs a mismatch and goes on, so a
/// damaged `conf` surfaces as a misleading `Unsupported` ("cannot change the io buffer
/// size across restarts") or opens with wrong settings. Check it first and report
/// corruption. Same layout as sled's `write_config`: the text, then its CRC32 (LE);
/// files of 8 bytes or less are ignored by sled and rewritten, so they are here too.
/// Returns the settings the conf file stores (none for a new database).
fn verify_conf(path: &std::path::Path, subject: &str) -> Result<Stored> {
    let Ok(bytes) = std::fs::read(path.join("conf")) else {
        // absent (a new database) or unreadable: sled reports the latter
        return Ok(Stored::default());
    };
    if bytes.len() <= 8 {
        return Ok(Stored::default());
    }
    let (text, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(text).to_le_bytes() != crc {
        return Err(Error {
            at: Some("conf".into()),
            ..Error::new(
                Code::Corruption,
                format!("open on {subject}: the conf file is corrupt (checksum mismatch)"),
            )
        });
    }
    Ok(Stored::parse(&String::from_utf8_lossy(text)))
}

/// sled's background I/O threads can hold the database file (and so its `flock`) for a
/// moment after the last `Db` is dropped (also a backup's copy, `backup.rs`); the
/// registry entry stays busy until the lock is really
/// free, so a racing open in this process never sees `SLED_LOCKED` and `close()` hands
/// the path to other processes at once. flock locks belong to an open file
/// description, so a second descriptor in this process probes them faithfully.
pub fn wait_for_unlock(path: &std::path::Path) {
    use fs2::FileExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let db_file = path.join("db");
    loop {
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&db_file)
        else {
            return; // gone (a temporary database) or unreadable: nothing holds it for us
        };
        if file.try_lock_exclusive().is_ok() {
            let _ = FileExt::unlock(&file);
            return;
        }
        if std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Flushes every open database of the process; used when a JS environment ends.
/// Skipped on a thread inside a transaction callback (`process.exit()` called there):
/// sled's flush needs the transaction lock that this thread holds, so it would wait
/// forever; the open transaction is abandoned and writes since the last background
/// flush are not made durable.
pub fn flush_all() {
    if crate::guard::in_transaction() {
        return;
    }
    // flushed under the registry lock, without cloning: a clone held here could
    // outlive a concurrent last `release` and keep the file lock after `close()`
    let entries = REGISTRY.entries.lock();
    for entry in entries.values() {
        if let Entry::Open { shared, .. } = entry {
            let _ = crate::guard::catching(|| shared.db.flush());
        }
    }
}
