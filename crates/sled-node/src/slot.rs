//! A closable holder of one sled clone (a `Tree` today; iterators and subscribers
//! later), and the `Child` trait a handle uses to close what it created.
//!
//! sled keeps its file lock until every clone of its Db, Trees and Iters is
//! dropped, so each clone lives in exactly one slot, and closing empties the slot.
//! Operations hold the slot's read lock only while sled runs (never while JS runs),
//! so `close()` — which takes the write lock — waits for in-flight work on the
//! libuv pool and then drops the clone.

use std::sync::Weak;

use napi::Result;
use parking_lot::{MappedRwLockReadGuard, Mutex, RwLock, RwLockReadGuard};

use crate::error::{closed, dropped, from_sled};

enum State {
    Open(sled::Tree),
    Closed,
    /// `dropTree` removed this tree; its handles report CollectionNotFound.
    Dropped,
}

/// Something a handle created and must empty when it closes.
pub trait Child: Send + Sync {
    fn close(&self);
}

pub struct Slot {
    state: RwLock<State>,
    /// Iterators (and later subscribers) reading this tree; closed with it.
    children: Mutex<Vec<Weak<dyn Child>>>,
    /// `tree "name" of /path`, for messages.
    pub subject: String,
    /// Identifies the shared database the tree belongs to (transactions need one Db).
    pub db_id: usize,
}

impl Slot {
    pub fn new(tree: sled::Tree, subject: String, db_id: usize) -> Slot {
        Slot {
            state: RwLock::new(State::Open(tree)),
            children: Mutex::new(Vec::new()),
            subject,
            db_id,
        }
    }

    /// Runs `f` on the tree, mapping sled's error; `SLED_CLOSED` if closed.
    pub fn with<T>(&self, op: &str, f: impl FnOnce(&sled::Tree) -> sled::Result<T>) -> Result<T> {
        self.with_tree(op, |tree| {
            f(tree).map_err(|e| from_sled(op, &self.subject, e))
        })
    }

    /// Like [`Slot::with`] for work whose errors are already napi errors.
    pub fn with_tree<T>(&self, op: &str, f: impl FnOnce(&sled::Tree) -> Result<T>) -> Result<T> {
        match &*self.state.read() {
            State::Open(tree) => f(tree),
            State::Closed => Err(closed(op, &self.subject)),
            State::Dropped => Err(dropped(op, &self.subject)),
        }
    }

    /// Holds the tree open until the guard drops (for transactions, which run JS
    /// in between). Recursive, so a tree listed twice cannot deadlock on a waiting writer.
    pub fn hold(&self, op: &str) -> Result<MappedRwLockReadGuard<'_, sled::Tree>> {
        RwLockReadGuard::try_map(self.state.read_recursive(), |state| match state {
            State::Open(tree) => Some(tree),
            _ => None,
        })
        .map_err(|guard| match &*guard {
            State::Dropped => dropped(op, &self.subject),
            _ => closed(op, &self.subject),
        })
    }

    pub fn is_open(&self) -> bool {
        matches!(&*self.state.read(), State::Open(_))
    }

    pub fn adopt(&self, child: Weak<dyn Child>) {
        let mut children = self.children.lock();
        children.retain(|c| c.strong_count() > 0);
        children.push(child);
    }

    pub fn mark_dropped(&self) {
        self.end(State::Dropped);
    }

    /// Empties the slot (keeping `Dropped` over `Closed`) and closes its children.
    fn end(&self, next: State) {
        let mut state = self.state.write();
        if matches!(&*state, State::Open(_)) || matches!(next, State::Dropped) {
            *state = next;
        }
        let children = std::mem::take(&mut *self.children.lock());
        for child in children.iter().filter_map(Weak::upgrade) {
            child.close();
        }
    }
}

impl Child for Slot {
    fn close(&self) {
        self.end(State::Closed);
    }
}
