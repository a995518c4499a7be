//! `NativeDb`: one JS handle on a shared database.
//!
//! The handle owns one [`Share`] of the registry entry, the slot of the default tree,
//! and weak links to every child it created (trees, iterators, subscribers).
//! `close()` empties the children, then drops the share; the last share of a path
//! drops sled's Db there, so the file lock is free before `close()` returns. The
//! finalizer does the same without the extra flush (sled's drop flushes), and so does
//! dropping a handle that never reached JS (the share releases itself).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::{AsyncTask, ObjectFinalize};
use napi::{Env, Result};
use napi_derive::napi;
use parking_lot::{Mutex, RwLock};

use crate::boundary::{guard, off_transaction};
use crate::bytes::Bytes;
use crate::error::{closed, coded, from_sled, Code};
use crate::options::NativeOpenOptions;
use crate::registry::{self, Share};
use crate::slot::{Child, HandleLock, Slot};
use crate::tasks::{CloseTask, OpenTask};
use crate::tree::NativeTree;

const DEFAULT_TREE: &[u8] = b"__sled__default";

pub struct DbState {
    /// Set first by `detach`, read alone by `closed`: a getter never waits on a lock.
    closed: AtomicBool,
    /// Read for the length of one operation (never while JS runs); written by `detach`.
    shared: RwLock<Option<Share>>,
    children: Mutex<Vec<Weak<dyn Child>>>,
    default_tree: Arc<Slot>,
    path: String,
    was_recovered: bool,
}

impl DbState {
    /// Runs `f` with the open database, or fails with `SLED_CLOSED`.
    fn with<T>(&self, op: &str, f: impl FnOnce(&Share) -> Result<T>) -> Result<T> {
        guard(op, || {
            let _held = HandleLock::enter(op, &self.path)?;
            if self.closed.load(Ordering::Acquire) {
                return Err(closed(op, &self.path));
            }
            match &*self.shared.read() {
                Some(shared) => f(shared),
                None => Err(closed(op, &self.path)),
            }
        })
    }

    fn adopt(&self, child: Weak<dyn Child>) {
        let mut children = self.children.lock();
        children.retain(|c| c.strong_count() > 0);
        children.push(child);
    }

    /// Empties every child and takes this handle's share of the database.
    /// After this, every method of the handle and its children reports closed.
    pub fn detach(&self) -> Option<Share> {
        self.closed.store(true, Ordering::Release);
        let children = std::mem::take(&mut *self.children.lock());
        for child in children.iter().filter_map(Weak::upgrade) {
            child.close();
        }
        self.default_tree.close();
        self.shared.write().take()
    }

    /// Flushes (when asked) and gives the share back to the registry. The share is
    /// released even when the flush fails, so the lock never leaks.
    pub fn finish(share: Share, flush: bool) -> Result<()> {
        let flushed = if flush {
            share
                .db
                .flush()
                .map(drop)
                .map_err(|e| from_sled("close", &share.subject, e))
        } else {
            Ok(())
        };
        drop(share);
        flushed
    }
}

impl Drop for DbState {
    /// A handle that was not closed gives its share back when it goes: through its
    /// finalizer, or dropped without ever reaching JS (an `openAsync` result in a
    /// worker being terminated). No extra flush: sled's own drop flushes.
    fn drop(&mut self) {
        // a panic here would abort the process
        let _ = crate::boundary::catch_panic("finalize", || match self.detach() {
            Some(share) => Self::finish(share, false),
            None => Ok(()),
        });
    }
}

/// A handle on an open sled database (the facade's `Db` wraps it).
#[napi(custom_finalize)]
pub struct NativeDb {
    state: Arc<DbState>,
}

impl NativeDb {
    pub fn from_shared(shared: Share) -> Result<NativeDb> {
        let tree: &sled::Tree = &shared.db;
        let default_tree = Arc::new(Slot::new(
            tree.clone(),
            format!("the default tree of {}", shared.subject),
            shared.id(),
            DEFAULT_TREE.to_vec(),
            shared.hubs.clone(),
            shared.capture.clone(),
        ));
        Ok(NativeDb {
            state: Arc::new(DbState {
                path: shared.subject.clone(),
                was_recovered: shared.db.was_recovered(),
                closed: AtomicBool::new(false),
                shared: RwLock::new(Some(shared)),
                children: Mutex::new(Vec::new()),
                default_tree,
            }),
        })
    }
}

/// Opens (or joins, when this process already has it open) the database at `path`.
#[napi]
pub fn open(path: String, options: Option<NativeOpenOptions>) -> Result<NativeDb> {
    guard("open", || {
        NativeDb::from_shared(registry::acquire(&path, &options.unwrap_or_default())?)
    })
}

/// `open` with sled's recovery on the libuv pool.
#[napi(ts_return_type = "Promise<NativeDb>")]
pub fn open_async(path: String, options: Option<NativeOpenOptions>) -> Result<AsyncTask<OpenTask>> {
    guard("openAsync", || {
        Ok(AsyncTask::new(OpenTask {
            path,
            options: options.unwrap_or_default(),
        }))
    })
}

/// Flushes every database open in this process (called when a JS environment ends).
/// Does nothing on a thread inside a transaction callback (`process.exit()` there):
/// sled's flush waits for the transaction lock that this very thread holds.
#[napi]
pub fn flush_all() {
    registry::flush_all();
}

/// Installs the environment cleanup hook that flushes every open database when this
/// environment (the main thread or a worker) is torn down.
#[napi]
pub fn install_exit_flush(env: Env) -> Result<()> {
    env.add_env_cleanup_hook((), |_| registry::flush_all())?;
    Ok(())
}

#[napi]
impl NativeDb {
    /// The canonical path of the database directory.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.state.path.clone()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.state.closed.load(Ordering::Acquire)
    }

    /// Whether sled recovered an existing database when this path was first opened.
    #[napi(getter)]
    pub fn was_recovered(&self) -> bool {
        self.state.was_recovered
    }

    /// The default tree, as a tree handle sharing this handle's lifetime.
    #[napi]
    pub fn default_tree(&self) -> Result<NativeTree> {
        self.state.with("defaultTree", |_| {
            Ok(NativeTree::new(self.state.default_tree.clone()))
        })
    }

    #[napi]
    pub fn open_tree(&self, name: &[u8]) -> Result<NativeTree> {
        self.state.with("openTree", |shared| {
            // a tree is opened and registered as one step with respect to dropTree
            let _tree_ops = shared.tree_ops.lock();
            let tree = shared
                .db
                .open_tree(name)
                .map_err(|e| from_sled("openTree", &shared.subject, e))?;
            let subject = format!(
                "tree {:?} of {}",
                String::from_utf8_lossy(name),
                shared.subject
            );
            let slot = Arc::new(Slot::new(
                tree,
                subject,
                shared.id(),
                name.to_vec(),
                shared.hubs.clone(),
                shared.capture.clone(),
            ));
            shared.register_tree(name, &slot);
            let weak: Weak<dyn Child> = Arc::downgrade(&slot) as Weak<dyn Child>;
            self.state.adopt(weak);
            Ok(NativeTree::new(slot))
        })
    }

    /// Starts an online backup into `destination` (which must not exist or be an empty
    /// directory); `job` reports its progress and cancels it. See `backup.rs`.
    #[napi(ts_return_type = "Promise<BackupSummary>")]
    pub fn backup(
        &self,
        destination: String,
        job: &crate::backup_job::NativeBackup,
    ) -> Result<AsyncTask<crate::backup_job::BackupTask>> {
        self.state.with("backup", |shared| {
            crate::backup_job::start(shared, destination, job, |c| self.state.adopt(c))
        })
    }

    /// Drops a tree and invalidates every live handle of it, in every thread.
    #[napi]
    pub fn drop_tree(&self, name: &[u8]) -> Result<bool> {
        self.state.with("dropTree", |shared| {
            if name == DEFAULT_TREE {
                return Err(coded(
                    Code::Unsupported,
                    &[],
                    format!(
                        "dropTree on {}: the default tree cannot be dropped",
                        shared.subject
                    ),
                ));
            }
            shared
                .drop_tree(name)
                .map_err(|e| from_sled("dropTree", &shared.subject, e))
        })
    }

    #[napi(ts_return_type = "Buffer[]")]
    pub fn tree_names(&self) -> Result<Vec<Bytes>> {
        self.state.with("treeNames", |shared| {
            Ok(shared.db.tree_names().into_iter().map(Bytes).collect())
        })
    }

    #[napi]
    pub fn generate_id(&self) -> Result<u64> {
        self.state.with("generateId", |shared| {
            shared
                .db
                .generate_id()
                .map_err(|e| from_sled("generateId", &shared.subject, e))
        })
    }

    #[napi]
    pub fn size_on_disk(&self) -> Result<f64> {
        self.state.with("sizeOnDisk", |shared| {
            shared
                .db
                .size_on_disk()
                .map(|n| n as f64)
                .map_err(|e| from_sled("sizeOnDisk", &shared.subject, e))
        })
    }

    /// CRC32 over every tree (takes sled's process-wide write lock while it runs).
    #[napi]
    pub fn checksum(&self) -> Result<u32> {
        self.state.with("checksum", |shared| {
            shared
                .db
                .checksum()
                .map_err(|e| from_sled("checksum", &shared.subject, e))
        })
    }

    /// Flushes, closes every child, and releases this handle's share of the
    /// database; the last handle of a path releases sled's file lock before this
    /// returns. Closing twice does nothing.
    #[napi]
    pub fn close(&self) -> Result<()> {
        guard("close", || match self.state.detach() {
            Some(shared) => DbState::finish(shared, true),
            None => Ok(()),
        })
    }

    /// `close` with the flush and sled's drop on the libuv pool; the handle is closed
    /// as soon as this is called.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close_async(&self) -> Result<AsyncTask<CloseTask>> {
        guard("closeAsync", || {
            Ok(AsyncTask::new(CloseTask {
                shared: self.state.detach(),
            }))
        })
    }
}

impl ObjectFinalize for NativeDb {
    fn finalize(self, _env: Env) -> Result<()> {
        // the last owner of the state: dropping it closes the handle (see DbState's Drop)
        let state = self.state;
        off_transaction(move || drop(state));
        Ok(())
    }
}
