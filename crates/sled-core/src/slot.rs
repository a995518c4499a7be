//! A closable holder of one sled `Tree` clone. The iterators and subscribers of a tree
//! are children of its slot (`children.rs`) and close with it.
//!
//! sled keeps its file lock until every clone of its Db, Trees and Iters is dropped,
//! so each clone lives in exactly one slot, and closing empties the slot.
//!
//! The slot's waits (the crate doc lists every lock of the binding):
//! - `state` is read for the length of one sled operation, on the JS thread or the
//!   libuv pool, never while JS runs and never twice on one thread ([`HandleLock`]
//!   refuses a nested acquisition instead of risking a deadlock behind a queued writer).
//!   `end()` writes it only to swap the tree out.
//! - `status` is set before `end()` queues for the write lock, so no new operation
//!   queues behind it, and it is all that `closed` getters read: they never wait.
//! - A transaction *pins* the slot (a clone of the tree) while its JS callback runs; no
//!   lock is held then. `end()` waits for the pins of other threads after emptying the
//!   slot, so the file lock is free when `close()` returns.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, ThreadId};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::capture::{Capture, Recorder};
pub use crate::children::{Child, Children};
use crate::error::{closed, dropped, from_io, from_sled, Code, Error, Result};
use crate::watch::{Hubs, Notify, State};

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
/// `dropTree` removed this tree; its handles report CollectionNotFound. Greater than
/// `CLOSED` so that a drop wins over a close (`fetch_max`).
const DROPPED: u8 = 2;

thread_local! {
    /// Whether this thread holds a handle lock (a slot's or a Db handle's read side).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as holding a handle lock for the guard's lifetime. A second
/// acquisition on the same thread is refused: with parking_lot's fair RwLock it would
/// wait behind a queued `close()` that waits for the first — a deadlock.
pub struct HandleLock(());

impl HandleLock {
    pub fn enter(op: &str, subject: &str) -> Result<HandleLock> {
        if HELD.with(|held| held.replace(true)) {
            return Err(Error::new(Code::ReportableBug,
                format!("{op} on {subject}: a handle lock was taken twice on one thread (refused rather than risk a deadlock); please report this"),
            ));
        }
        Ok(HandleLock(()))
    }
}

impl Drop for HandleLock {
    fn drop(&mut self) {
        HELD.with(|held| held.set(false));
    }
}

pub struct Slot {
    status: AtomicU8,
    state: RwLock<Option<sled::Tree>>,
    /// The threads running a transaction on this tree (one entry per pin).
    pins: Mutex<Vec<ThreadId>>,
    unpinned: Condvar,
    /// Iterators and subscribers reading this tree; closed with it.
    children: Children,
    /// `tree "name" of /path`, for messages.
    pub subject: String,
    /// Identifies the shared database the tree belongs to (transactions need one Db).
    pub db_id: usize,
    /// The tree's name in sled: one tree listed twice in a transaction is refused, and
    /// the subscriber hub is per tree.
    pub name: Vec<u8>,
    pub hubs: Arc<Hubs>,
    /// The database's backup capture: every write goes through [`Slot::write`].
    pub capture: Arc<Capture>,
}

/// A transaction's hold on a tree: a clone of it, counted by the slot until dropped.
pub struct Pinned<'a> {
    slot: &'a Slot,
    pub tree: sled::Tree,
}

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        let me = thread::current().id();
        let mut pins = self.slot.pins.lock();
        if let Some(at) = pins.iter().position(|t| *t == me) {
            pins.swap_remove(at);
        }
        self.slot.unpinned.notify_all();
    }
}

impl Slot {
    pub fn new(
        tree: sled::Tree,
        subject: String,
        db_id: usize,
        name: Vec<u8>,
        hubs: Arc<Hubs>,
        capture: Arc<Capture>,
    ) -> Slot {
        Slot {
            status: AtomicU8::new(OPEN),
            state: RwLock::new(Some(tree)),
            pins: Mutex::new(Vec::new()),
            unpinned: Condvar::new(),
            children: Children::default(),
            subject,
            db_id,
            name,
            hubs,
            capture,
        }
    }

    /// A write `f` of `tree` (this slot's): `f` records each key before writing it,
    /// for a running backup (see `capture.rs`).
    pub fn write<T>(
        &self,
        tree: &sled::Tree,
        f: impl FnOnce(&Recorder<'_>) -> sled::Result<T>,
    ) -> sled::Result<T> {
        self.capture.write(&self.name, tree, f)
    }

    /// Runs `f` on the tree, mapping sled's error; `SLED_CLOSED` if closed.
    pub fn with<T>(&self, op: &str, f: impl FnOnce(&sled::Tree) -> sled::Result<T>) -> Result<T> {
        self.with_tree(op, |tree| {
            f(tree).map_err(|e| from_sled(op, &self.subject, e))
        })
    }

    /// Like [`Slot::with`] for work with errors of its own (any type a core error
    /// converts into).
    pub fn with_tree<T, E: From<Error>>(
        &self,
        op: &str,
        f: impl FnOnce(&sled::Tree) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let _held = HandleLock::enter(op, &self.subject)?;
        self.refuse_ended(op)?;
        match &*self.state.read() {
            Some(tree) => f(tree),
            None => Err(self.ended(op).into()),
        }
    }

    /// A clone of the tree for a transaction, counted until the returned pin drops;
    /// `end()` waits for it (from other threads) before returning.
    pub fn pin(&self, op: &str) -> Result<Pinned<'_>> {
        self.with_tree(op, |tree| {
            // under the read lock: `end()` swaps the tree out under the write lock and
            // only then looks at the pins, so it sees this one
            self.pins.lock().push(thread::current().id());
            Ok(Pinned {
                slot: self,
                tree: tree.clone(),
            })
        })
    }

    pub fn is_open(&self) -> bool {
        self.status.load(Ordering::Acquire) == OPEN
    }

    fn refuse_ended(&self, op: &str) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(self.ended(op))
        }
    }

    fn ended(&self, op: &str) -> Error {
        if self.status.load(Ordering::Acquire) == DROPPED {
            dropped(op, &self.subject)
        } else {
            closed(op, &self.subject)
        }
    }

    pub fn adopt(&self, child: Weak<dyn Child>) {
        self.children.adopt(child);
    }

    /// Starts a subscriber of `prefix` on this tree (see `watch.rs`): it gets the events
    /// of writes that begin after this returns, until it, its tree or its database closes.
    pub fn watch(
        self: &Arc<Self>,
        prefix: &[u8],
        high_water_mark: u32,
        notify: Option<Box<dyn Notify>>,
    ) -> Result<Arc<State>> {
        self.with_tree("watchPrefix", |t| {
            let hub = self
                .hubs
                .of(&self.name, t)
                .map_err(|e| from_io("watchPrefix", &self.subject, &e))?;
            let state = State::new(prefix, high_water_mark, notify, self.subject.clone());
            hub.join(&state);
            let child: Arc<dyn Child> = state.clone();
            self.adopt(Arc::downgrade(&child));
            Ok(state)
        })
    }

    pub fn mark_dropped(&self) {
        self.end(DROPPED);
    }

    /// Empties the slot (a drop wins over a close), closes its children and waits
    /// until no other thread's transaction still holds a clone of the tree.
    fn end(&self, next: u8) {
        self.status.fetch_max(next, Ordering::AcqRel);
        // waits only for operations already running sled (none runs JS)
        let tree = self.state.write().take();
        drop(tree);
        self.children.close_all();
        // this thread's own pins (a finalizer run inside its transaction callback)
        // end when that callback returns; waiting for them would never end
        let me = thread::current().id();
        let mut pins = self.pins.lock();
        while pins.iter().any(|t| *t != me) {
            self.unpinned.wait(&mut pins);
        }
    }
}

impl Child for Slot {
    fn close(&self) {
        self.end(CLOSED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn slot() -> (Arc<Slot>, sled::Db) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let slot = Slot::new(
            tree,
            "t".into(),
            1,
            b"t".to_vec(),
            Arc::default(),
            Arc::default(),
        );
        (Arc::new(slot), db)
    }

    /// Runs `f` on a thread and fails the test if it has not finished in 5 s.
    fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("deadline passed: a wait never ended"))
    }

    #[test]
    fn a_nested_handle_lock_is_refused_not_deadlocked() {
        let (slot, _db) = slot();
        let inner = slot.clone();
        let nested = within_deadline(move || {
            slot.with_tree("outer", |_| -> Result<bool> {
                Ok(inner.with_tree("inner", |_| Result::Ok(())).is_err())
            })
        });
        assert!(nested.unwrap(), "the nested acquisition must fail");
    }

    #[test]
    fn the_handle_lock_is_free_again_after_an_operation() {
        let (slot, _db) = slot();
        slot.with_tree("first", |_| Result::Ok(())).unwrap();
        slot.with_tree("second", |_| Result::Ok(())).unwrap();
    }

    #[test]
    fn close_waits_for_a_pin_held_on_another_thread() {
        let (slot, _db) = slot();
        let (pinned_tx, pinned_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let holder = slot.clone();
        let pinner = thread::spawn(move || {
            let pin = holder.pin("transaction").unwrap();
            pinned_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            drop(pin);
        });
        pinned_rx.recv().unwrap();
        // while pinned elsewhere, the closed state is visible at once
        let closer = slot.clone();
        let (closed_tx, closed_rx) = mpsc::channel();
        thread::spawn(move || {
            closer.close();
            closed_tx.send(()).unwrap();
        });
        thread::sleep(Duration::from_millis(50));
        assert!(!slot.is_open());
        assert!(closed_rx.try_recv().is_err(), "close returned while pinned");
        release_tx.send(()).unwrap();
        closed_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        pinner.join().unwrap();
    }

    #[test]
    fn close_does_not_wait_for_its_own_threads_pin() {
        let (slot, _db) = slot();
        within_deadline(move || {
            let _pin = slot.pin("transaction").unwrap();
            slot.close();
            assert!(slot.with_tree("get", |_| Result::Ok(())).is_err());
        });
    }

    #[test]
    fn drop_wins_over_close() {
        let (slot, _db) = slot();
        slot.mark_dropped();
        slot.close();
        let err = slot.with_tree("get", |_| Result::Ok(())).unwrap_err();
        assert_eq!(err.code, Code::CollectionNotFound, "{}", err.message);
    }
}
