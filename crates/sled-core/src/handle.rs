//! One handle on a shared database (the JS `Db`'s native state).
//!
//! The handle owns one [`Share`] of the registry entry, the slot of the default tree,
//! and weak links to the trees it opened (their iterators and subscribers are
//! children of each tree's slot). [`DbState::detach`] empties the children, then hands
//! the share back; the last share of a path drops sled's Db there, so the file lock is
//! free before `close()` returns. Dropping a state that was never detached (a finalizer,
//! or a handle that never reached JS) does the same without the extra flush.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use crate::error::{closed, from_sled, Code, Error, Result};
use crate::guard::catch_panic;
use crate::registry::Share;
use crate::slot::{Child, Children, HandleLock, Slot};

const DEFAULT_TREE: &[u8] = b"__sled__default";

pub struct DbState {
    /// Set first by `detach`, read alone by `closed`: a getter never waits on a lock.
    closed: AtomicBool,
    /// Read for the length of one operation (never while JS runs); written by `detach`.
    shared: RwLock<Option<Share>>,
    children: Children,
    default_tree: Arc<Slot>,
    path: String,
    was_recovered: bool,
}

impl DbState {
    /// A handle on the database of `shared`, with its default tree.
    pub fn new(shared: Share) -> DbState {
        let tree: &sled::Tree = &shared.db;
        let default_tree = Arc::new(Slot::new(
            tree.clone(),
            format!("the default tree of {}", shared.subject),
            shared.id(),
            DEFAULT_TREE.to_vec(),
            shared.hubs.clone(),
            shared.capture.clone(),
        ));
        DbState {
            path: shared.subject.clone(),
            was_recovered: shared.db.was_recovered(),
            closed: AtomicBool::new(false),
            shared: RwLock::new(Some(shared)),
            children: Children::default(),
            default_tree,
        }
    }

    /// The canonical path of the database directory.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether sled recovered an existing database when this path was first opened.
    pub fn was_recovered(&self) -> bool {
        self.was_recovered
    }

    /// Runs `f` with the open database, or fails with `SLED_CLOSED`.
    pub fn with<T>(&self, op: &str, f: impl FnOnce(&Share) -> Result<T>) -> Result<T> {
        let _held = HandleLock::enter(op, &self.path)?;
        if self.closed.load(Ordering::Acquire) {
            return Err(closed(op, &self.path));
        }
        match &*self.shared.read() {
            Some(shared) => f(shared),
            None => Err(closed(op, &self.path)),
        }
    }

    /// The default tree's slot, shared with this handle's lifetime.
    pub fn default_tree(&self, op: &str) -> Result<Arc<Slot>> {
        self.with(op, |_| Ok(self.default_tree.clone()))
    }

    /// Opens tree `name` in a slot of its own, closed with this handle.
    pub fn open_tree(&self, name: &[u8]) -> Result<Arc<Slot>> {
        self.with("openTree", |shared| {
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
            self.children.adopt(weak);
            Ok(slot)
        })
    }

    /// Drops a tree and invalidates every live handle of it, in every thread.
    pub fn drop_tree(&self, name: &[u8]) -> Result<bool> {
        self.with("dropTree", |shared| {
            if name == DEFAULT_TREE {
                return Err(Error::new(
                    Code::Unsupported,
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

    /// Registers something this handle started (a backup job) to be closed with it.
    pub fn adopt(&self, child: Weak<dyn Child>) {
        self.children.adopt(child);
    }

    /// Empties every child and takes this handle's share of the database.
    /// After this, every method of the handle and its children reports closed.
    pub fn detach(&self) -> Option<Share> {
        self.closed.store(true, Ordering::Release);
        self.children.close_all();
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
        let _ = catch_panic("finalize", || match self.detach() {
            Some(share) => Self::finish(share, false),
            None => Ok(()),
        });
    }
}
