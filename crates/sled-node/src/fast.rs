//! The per-call fast path of `get`, `containsKey`, `insert` and `remove`.
//!
//! A napi-rs method call pays for unwrapping `this` (a private-property lookup and a
//! type-tag check), for napi-rs's bookkeeping of each borrowed Buffer argument and for
//! creating the result Buffer: together more than sled's own lookup of a cached key. The
//! fast functions take no arguments and return nothing. The facade writes the tree's
//! handle number and the lengths into the header of this thread's scratch buffer
//! (`scratch.rs`), the key (and value) after it, and reads the result back from the
//! header: so a call costs one crossing and no napi call at all.
//!
//! Header, native-endian 32-bit words: `[0]` handle index, `[1]` its generation,
//! `[2]` key length, `[3]` value length; data from byte [`DATA`]. Out: word `[0]`, an
//! outcome (a value's length, [`ABSENT`], [`OVERFLOW`], [`SLOW`], or a flag); for a value
//! read, word `[1]` is its offset in this thread's value arena (`arena.rs`), or -1 when
//! it is in the scratch at byte [`DATA`] instead (too large, or the arena is full).
//! Word [`crate::arena::GENERATION_WORD`] is the arena's generation, kept by `arena.rs`.
//!
//! Handles are looked up in a per-thread table: a JS object (and so its handle number)
//! belongs to one thread, and a stale or made-up number finds no entry rather than
//! freed memory. Anything out of the ordinary — a closed or dropped tree, a call inside
//! a transaction callback, a sled error, a panic, arguments that do not fit — answers
//! [`SLOW`], and the facade repeats the call through the ordinary method, which throws
//! the right error. That repetition is safe because a refused or failed sled call
//! changed nothing.

use std::cell::RefCell;
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::Object;
use napi::{sys, Env, Error, Result, Status};
use napi_derive::napi;

use sled_core::slot::Slot;

/// Where the data starts in the scratch buffer.
pub const DATA: usize = 32;

/// The value is absent.
const ABSENT: i32 = -1;
/// The value does not fit in the scratch: [`take_overflow`] returns it.
const OVERFLOW: i32 = -2;
/// Not handled here: call the ordinary method.
const SLOW: i32 = -3;

struct Entry {
    generation: u32,
    slot: Option<Arc<Slot>>,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

impl Drop for Table {
    fn drop(&mut self) {
        // at thread exit: entries left here belong to handles whose finalizers did not
        // run; closing trees from a thread-local destructor is not safe, so leave them
        // to their Db's own close (a leak of a few Arcs at thread exit)
        for entry in self.entries.drain(..) {
            std::mem::forget(entry.slot);
        }
    }
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
    /// A value too large for the scratch, until `takeOverflow` collects it.
    static OVERFLOWED: RefCell<Option<sled::IVec>> = const { RefCell::new(None) };
}

/// A handle's number in this thread's table.
#[derive(Clone, Copy)]
pub struct FastId {
    index: u32,
    generation: u32,
}

impl FastId {
    pub fn words(self) -> Vec<u32> {
        vec![self.index, self.generation]
    }
}

/// Enters `slot` in this thread's table.
pub fn register(slot: &Arc<Slot>) -> FastId {
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                table.entries.push(Entry {
                    generation: 0,
                    slot: None,
                });
                (table.entries.len() - 1) as u32
            }
        };
        let entry = &mut table.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.slot = Some(slot.clone());
        FastId {
            index,
            generation: entry.generation,
        }
    })
}

/// Removes a handle's entry (from its finalizer, on the thread that registered it).
pub fn unregister(id: FastId) {
    // `try_with`: a finalizer run while the thread's locals are being destroyed
    let _ = TABLE.try_with(|table| {
        let mut table = table.borrow_mut();
        let Some(entry) = table.entries.get_mut(id.index as usize) else {
            return;
        };
        if entry.generation == id.generation && entry.slot.take().is_some() {
            table.free.push(id.index);
        }
    });
}

fn word(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at * 4..at * 4 + 4]);
    u32::from_ne_bytes(w)
}

/// Decodes the header, finds the slot and runs `op(slot, tree, key, value)`; writes
/// its outcome into word 0.
fn call(op: impl FnOnce(&Slot, &sled::Tree, &[u8], &[u8]) -> sled::Result<Outcome>) {
    let _ = crate::scratch::with(|scratch| {
        let outcome = if sled_core::guard::in_transaction() {
            SLOW
        } else {
            sled_core::guard::catching(|| run(scratch, op)).unwrap_or(SLOW)
        };
        scratch[..4].copy_from_slice(&outcome.to_ne_bytes());
    });
}

fn run(
    scratch: &mut [u8],
    op: impl FnOnce(&Slot, &sled::Tree, &[u8], &[u8]) -> sled::Result<Outcome>,
) -> i32 {
    let (index, generation) = (word(scratch, 0), word(scratch, 1));
    let (key_len, value_len) = (word(scratch, 2) as usize, word(scratch, 3) as usize);
    let Some(end) = DATA
        .checked_add(key_len)
        .and_then(|n| n.checked_add(value_len))
        .filter(|&end| end <= scratch.len())
    else {
        return SLOW;
    };
    let (key, value) = scratch[DATA..end].split_at(key_len);
    // the table stays borrowed for the call: no JS runs meanwhile, so no finalizer
    // can change it, and no Arc is cloned per call
    let outcome = TABLE.with(|table| {
        let table = table.borrow();
        let slot = table
            .entries
            .get(index as usize)
            .filter(|entry| entry.generation == generation)
            .and_then(|entry| entry.slot.as_ref())?;
        Some(slot.with_tree("fast", |tree| {
            Ok::<_, sled_core::Error>(op(slot, tree, key, value))
        }))
    });
    let Some(outcome) = outcome else {
        return SLOW;
    };
    match outcome {
        Ok(Ok(Outcome::Flag(flag))) => i32::from(flag),
        Ok(Ok(Outcome::Value(None))) => ABSENT,
        Ok(Ok(Outcome::Value(Some(value)))) => {
            if let Some(at) = crate::arena::put(&value) {
                // both below VALUE_MAX and the arena's size
                scratch[4..8].copy_from_slice(&(at as i32).to_ne_bytes());
                value.len() as i32
            } else if value.len() <= scratch.len() - DATA && value.len() <= i32::MAX as usize {
                scratch[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
                scratch[DATA..DATA + value.len()].copy_from_slice(&value);
                value.len() as i32
            } else {
                OVERFLOWED.with(|o| *o.borrow_mut() = Some(value));
                OVERFLOW
            }
        }
        Ok(Err(_)) | Err(_) => SLOW,
    }
}

enum Outcome {
    Value(Option<sled::IVec>),
    Flag(bool),
}

/// A fast call: a napi callback (no arguments, no result) running `$op` through [`call`].
macro_rules! fast_call {
    ($name:ident, $op:expr) => {
        unsafe extern "C" fn $name(
            _env: sys::napi_env,
            _info: sys::napi_callback_info,
        ) -> sys::napi_value {
            call($op);
            ptr::null_mut()
        }
    };
}

// the calls that may return a value prefetch the arena lines it would be copied into
fast_call!(get, |_, tree, key, _| {
    crate::arena::prefetch();
    tree.get(key).map(Outcome::Value)
});
fast_call!(contains_key, |_, tree, key, _| tree
    .contains_key(key)
    .map(Outcome::Flag));
// insert and remove go through the slot's write path, which records pre-images for a
// running backup
fast_call!(insert, |slot, tree, key, value| {
    crate::arena::prefetch();
    slot.write(tree, |r| r.insert(key, value))
        .map(Outcome::Value)
});
fast_call!(remove, |slot, tree, key, _| {
    crate::arena::prefetch();
    slot.write(tree, |r| r.remove(key)).map(Outcome::Value)
});

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// The fast functions, as plain JS functions (made once per load of the facade).
#[napi(ts_return_type = "{ get(): void; containsKey(): void; insert(): void; remove(): void }")]
pub fn fast_calls(env: Env) -> Result<Object<'static>> {
    let mut calls = Object::new(&env)?;
    let table: [(&str, Callback); 4] = [
        ("get", get),
        ("containsKey", contains_key),
        ("insert", insert),
        ("remove", remove),
    ];
    for (name, callback) in table {
        let mut function = ptr::null_mut();
        // SAFETY: a plain napi call on the JS thread; the callbacks touch no napi value
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr().cast(),
                name.len() as isize,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                format!("could not create the fast {name} function"),
            ));
        }
        // SAFETY: a live value of this environment, in this call's scope
        calls.set(name, unsafe {
            napi::bindgen_prelude::Unknown::from_raw_unchecked(env.raw(), function)
        })?;
    }
    Ok(calls)
}

/// The value a fast call left aside because it did not fit in the scratch.
#[napi(ts_return_type = "Buffer | undefined")]
pub fn take_overflow() -> crate::bytes::MaybeBytes {
    crate::bytes::MaybeBytes(OVERFLOWED.with(|o| o.borrow_mut().take()))
}
