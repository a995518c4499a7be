//! A closable holder of one sled clone (a `Tree` today; iterators and subscribers
//! later), and the `Child` trait a handle uses to close what it created.
//!
//! sled keeps its file lock until every clone of its Db, Trees and Iters is
//! dropped, so each clone lives in exactly one slot, and closing empties the slot.
//! Operations hold the slot's read lock only while sled runs (never while JS runs),
//! so `close()` — which takes the write lock — waits for in-flight work on the
//! libuv pool and then drops the clone.

use napi::Result;
use parking_lot::RwLock;

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
    /// `tree "name" of /path`, for messages.
    pub subject: String,
}

impl Slot {
    pub fn new(tree: sled::Tree, subject: String) -> Slot {
        Slot {
            state: RwLock::new(State::Open(tree)),
            subject,
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

    pub fn is_open(&self) -> bool {
        matches!(&*self.state.read(), State::Open(_))
    }

    pub fn mark_dropped(&self) {
        *self.state.write() = State::Dropped;
    }
}

impl Child for Slot {
    fn close(&self) {
        let mut state = self.state.write();
        if let State::Open(_) = &*state {
            *state = State::Closed;
        }
    }
}
