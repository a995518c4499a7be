//! sled-node: a napi-rs binding of sled 0.34.7.
//!
//! Files named `core:…` are in `crates/sled-core` (no Node-API; `cargo test` covers them,
//! threads included); the others are this crate's, which converts arguments and results
//! and owns the JS classes.
//!
//! Who owns what: a process-wide registry (`core:registry.rs`) maps each canonical path
//! to one shared `sled::Db`, counted by `Share`s, for every thread and worker. Each JS
//! `Db` owns a `NativeDb` (`db.rs`) whose state (`core:handle.rs`) holds one share plus
//! weak links to the slots (`core:slot.rs`) of the trees it opened; each slot holds
//! exactly one sled clone, and the iterators and subscribers of a tree are children of
//! its slot.
//! `close()` empties those slots, then drops the share; the last share drops sled's Db
//! on the calling thread, so the file lock is free when `close()` returns. Finalizers
//! do the same for handles that are never closed, and a share that never reached JS
//! releases itself when dropped.
//!
//! Which thread runs what: sync methods run on the calling JS thread (`get`,
//! `containsKey`, `insert` and `remove` through the argument-free calls of `fast.rs`
//! when their bytes fit in the thread's scratch buffer, small values coming back in
//! the thread's value arena, `arena.rs`); `…Async`
//! methods run on the libuv pool (each task beside the type it belongs to: `db.rs`,
//! `tree.rs`, `iter.rs`), except the tasks of a Tree object's point calls (`getAsync`,
//! `getManyAsync`, `insertAsync`, `removeAsync`), which run on the shared task threads
//! (`task_line.rs`, `core:serial.rs`): those with a write in order on that object's
//! queue, those of reads alone in parallel; each watched tree has one pump thread
//! (`core:watch.rs`); a backup copies on the pool (`core:backup.rs`, `backup_job.rs`).
//! Every entry point runs inside `boundary::guard` (`core:guard.rs`: panics become `SLED_PANIC`; calls
//! from a transaction callback become `SLED_TRANSACTION_MISUSE`). The napi-free parts
//! (errors with their codes, the guard, settings, batches) are in `crates/sled-core`;
//! `js_error.rs` builds each error as the JS class the facade registered for its code.
//!
//! # Lock discipline
//!
//! Every lock and wait in the binding, and in sled where the binding can reach it.
//! The rules: no lock of ours is held while JS runs or while waiting on another
//! thread, except the waits listed here, each of which ends without the waiter's help.
//!
//! sled's:
//! - **Transaction lock** (sled's process-wide `concurrency_control`): every write takes
//!   its read side; `apply_batch`, `checksum` and transactions take its write side. A JS
//!   transaction callback runs while its thread holds the write side, so that thread
//!   may not call sled at all: `guard` refuses every entry point there, finalizers that
//!   could wait move their closing to another thread (`boundary::off_transaction`; an
//!   iterator's closing never waits, see the cursor below), the exit-time
//!   flush is skipped there (`registry::flush_all`), and the facade defers a
//!   `process.exit()` made in the callback until the callback has unwound (Node stops
//!   the workers before exiting; one waiting for this lock could never stop). Other
//!   threads wait for the transaction to end, which needs nothing from them.
//! - **Subscriber locks and channels**: one `RwLock` per watched prefix and a 1,024-slot
//!   channel per sled subscriber; a writer blocks on a full channel with the read side
//!   held. The binding registers exactly one sled subscriber per tree, drains it on its
//!   own thread without ever waiting for JS, and never drops it while writers can reach
//!   it (`core:watch.rs` gives the argument in full).
//! - sled's internal locks (page cache, log, flusher) are taken only inside sled calls,
//!   which never call back into the binding.
//!
//! Ours:
//! - **Registry** (`registry::REGISTRY`, a mutex and a condvar): held for map updates and
//!   for `flush_all`; opens of a path being opened or closed wait on the condvar for
//!   that open or close to finish (sled's open and drop run with the mutex released).
//! - **Db handle** (`DbState.shared`, RwLock): read for one operation, written by
//!   `detach`. Its `closed` flag is an atomic set first, so getters never wait.
//! - **Slot** (`Slot.state`, RwLock): read for one sled operation, never while JS runs,
//!   never twice on one thread (`slot::HandleLock` refuses, checked by `cargo test`);
//!   written only to swap the tree out. Transactions *pin* slots (a clone, no lock) and
//!   `close()`/`dropTree()` wait for other threads' pins: a transaction ends on its own.
//! - **Fast-path handle table** (`fast.rs`, a thread-local `RefCell`): borrowed for one
//!   fast call (which takes the slot's read side for one sled operation inside it) or to
//!   add or remove an entry; per thread, so never contended, and no JS runs meanwhile.
//! - **Backup gate** (`Capture.gate`, one RwLock per open database, `core:capture.rs`): every
//!   non-transactional write (`Slot::write`, `dropTree`) holds its read side around its
//!   pre-image record and its sled call; `Capture::begin` takes its write side, then sled's
//!   transaction lock (a no-op transaction), to take a backup's point. Order: gate → sled's
//!   transaction lock, everywhere. A transaction's thread holds sled's write side while its
//!   callback runs and never takes the gate (`guard` refuses every gated method there; tx
//!   writes record through `tx.get` instead), so no cycle: `begin` holding the gate waits
//!   for a transaction, which needs nothing from it; writers holding the gate's read side
//!   wait for sled, whose holders need nothing of ours. parking_lot is fair: once `begin`
//!   queues for the write side, new readers queue behind it; that is safe because no thread
//!   takes the gate's read side twice (a gated write never calls another gated write, and
//!   writes never run JS) and nothing holding it waits on a thread that waits for the gate.
//!   `dropTree` takes `tree_ops` before the gate; `begin` never takes `tree_ops`.
//! - **Capture state** (mutex): a leaf; held only to look up or insert one pre-image.
//! - **Backup job** (`backup_job.rs`): `close()` cancels a running backup and waits for its
//!   task to let go of the database; the task checks the cancel flag between entries and
//!   holds no lock of the handle, so the wait ends without the closer's help.
//! - **Children lists** (slots', handles', the registry's tree lists): plain mutexes
//!   held to push or take the list, never while closing what is in it.
//! - **Iterator cursor** (mutex): held while one chunk is read from sled, which can wait
//!   for a transaction's callback (each step takes the transaction lock's read side).
//!   So nothing waits for the cursor on a thread that may be in a callback: a sync
//!   fetch is refused there by `guard`, and closing an iterator only tries the lock,
//!   leaving sled's iterator to the fetch that holds it (`iter.rs`).
//! - **Subscriber hub** (mutex): held by the pump (at most 256 events at a time) or by
//!   `watchPrefix` (the backlog, at most 1,280 events) while they move events into
//!   queues; each **subscriber queue** and its **notify** mutex are held only to push,
//!   take or mark closed. JS is woken after these are released.
//! - **Task queues and their threads** (`core:serial.rs`: a mutex per queue; one mutex and
//!   condvar for the shared threads' ready list): held only to push or pop, never while a
//!   task runs (queue → pool where both are held); idle threads wait on the condvar only for
//!   work. A task takes locks as a pool task does (the slot's read side, per write op the
//!   backup gate). None waits for another task; the only JS one can wait for is a
//!   transaction's callback, which holds sled's lock and needs nothing from the task
//!   threads. So a task waiting for a free thread waits only for running tasks to end. A
//!   line's **finished list** and **notify** mutexes (`task_line.rs`) are leaves,
//!   held to push or take outcomes or for one call on the threadsafe function, never
//!   together.
//! - **Transaction callback**: no lock of ours is held while it runs (only pins).
//!
//! Order where two are held: Db handle → slot → backup gate → sled → capture state;
//! Db handle → slot → (cursor | hub → queue → notify); tree_ops → backup gate;
//! registry → sled's flush.

// the global allocator, and the huge-page arena it is given at load: allocator.rs
mod allocator;

// napi-rs registers free `#[napi]` functions only in the cdylib build: under `cargo test`
// they, and what only they use, look unused. The allowance is limited to the modules
// that export such functions.
#[cfg_attr(test, allow(dead_code))]
mod arena;
#[cfg_attr(test, allow(dead_code))]
mod backup_job;
#[cfg_attr(test, allow(dead_code))]
mod boundary;
mod bytes;
#[cfg_attr(test, allow(dead_code))]
mod db;
#[cfg_attr(test, allow(dead_code))]
mod fast;
mod iter;
#[cfg_attr(test, allow(dead_code))]
mod js_error;
mod options;
#[cfg_attr(test, allow(dead_code))]
mod scratch;
mod subscriber;
mod task_line;
#[cfg_attr(test, allow(dead_code))]
mod transaction;
mod tree;
