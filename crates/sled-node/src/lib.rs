//! sled-node: a napi-rs binding of sled 0.34.7.
//!
//! Who owns what: a process-wide registry (`registry.rs`) maps each canonical path to
//! one shared `sled::Db`, reference-counted by handles, for every thread and worker.
//! Each JS `Db` owns a `NativeDb` (`db.rs`) holding one share plus weak links to the
//! slots (`slot.rs`) of everything it created; each slot holds exactly one sled clone.
//! `close()` empties those slots, then returns the share; the last share drops sled's
//! Db on the calling thread, so the file lock is free when `close()` returns.
//! Finalizers do the same for handles that are never closed.
//!
//! Which thread runs what: sync methods run on the calling JS thread; `…Async`
//! methods run on the libuv pool (`tasks.rs`). Every entry point runs inside
//! `boundary::guard` (panics become `SLED_PANIC`; calls from a transaction callback
//! become `SLED_TRANSACTION_MISUSE`). Errors are coded in one place (`error.rs`) and
//! turned into JS classes by the facade.

// napi's exports are registered only in the cdylib build; under `cargo test` they look unused
#![cfg_attr(test, allow(dead_code))]

mod batch;
mod boundary;
mod bytes;
mod db;
mod error;
mod iter;
mod options;
mod registry;
mod scratch;
mod slot;
mod subscriber;
mod tasks;
mod transaction;
mod tree;
