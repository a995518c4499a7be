//! A per-thread arena for small values read by the fast calls (`fast.rs`).
//!
//! Copying a value out of the scratch buffer into a Buffer of its own (`allocUnsafe` +
//! `copy`) cost about as much as the rest of a cached `get`. Instead a fast call writes a
//! value of up to [`VALUE_MAX`] bytes once, into a part of the arena no one has been given
//! yet, and the facade returns a Buffer view of exactly those bytes: the same scheme as
//! Node's own `Buffer.allocUnsafe` pool (8-byte aligned slices of a shared block). A part
//! is handed out once and never written again, so a value returned to JS never changes;
//! a full arena is replaced, not reused, and lives on as long as a value points into it.
//!
//! The facade keeps the rules that make the raw pointer safe to write through:
//! - it asks for a new arena (`arena(true)`) before a fast call whenever the current one
//!   was detached (a user's `value.buffer.transfer()`: the bytes then belong to someone
//!   else), and marks every arena untransferable for `postMessage`;
//! - every load of the facade on a thread shares this one arena: the generation in
//!   scratch header word [`GENERATION_WORD`] tells a load that its arena is stale.

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Result};
use napi_derive::napi;

/// The arena's size: how much one small value kept alive can keep alive with it.
const SIZE: usize = 32 * 1024;
/// Values up to this size go into the arena (Node pools `allocUnsafe` up to 4 KiB too).
pub const VALUE_MAX: usize = 4 * 1024;
/// The scratch header word where the current arena's generation is kept.
pub const GENERATION_WORD: usize = 4;

#[derive(Clone, Copy)]
struct Arena {
    /// Keeps the current arena alive while native code may write into it.
    reference: sys::napi_ref,
    data: *mut u8,
    /// The first byte no one has been given.
    next: usize,
}

thread_local! {
    static ARENA: Cell<Option<Arena>> = const { Cell::new(None) };
    static GENERATION: Cell<u32> = const { Cell::new(0) };
}

/// Copies `value` into the arena's unused part: its offset, or `None` when there is no
/// arena or no room (the caller then returns it through the scratch).
pub fn put(value: &[u8]) -> Option<usize> {
    if value.len() > VALUE_MAX {
        return None;
    }
    let mut arena = ARENA.with(Cell::get)?;
    let at = arena.next;
    if at + value.len() > SIZE {
        return None;
    }
    // SAFETY: `data` points at SIZE bytes of a Buffer kept alive by `reference` and not
    // detached (the facade checks before every fast call); bytes from `next` on were
    // never handed to JS, and no JS runs while this thread is in native code
    unsafe { ptr::copy_nonoverlapping(value.as_ptr(), arena.data.add(at), value.len()) };
    // 8-byte aligned, as Node aligns its pool, so a Float64Array view of a value works
    arena.next = (at + value.len() + 7) & !7;
    ARENA.with(|a| a.set(Some(arena)));
    Some(at)
}

/// The smallest cache line of the CPUs we ship for (x86-64; 128 bytes on Apple's, where
/// two of the prefetches below then land in one line).
const LINE: usize = 64;
/// Lines [`put`] will most likely write next: enough for a value of up to 128 bytes at
/// any 8-byte offset (the typical small value; a longer one streams, which the hardware
/// prefetcher follows on its own).
const PREFETCH_LINES: usize = 3;

/// Asks the CPU to bring the arena's next unused lines into cache before sled's lookup,
/// so that [`put`]'s copy does not wait for them afterwards. An arena is written once
/// from front to back and freed only when the GC finds no value pointing into it, so its
/// next lines are memory this thread has not touched for a while. Measured on x86-64
/// (the 2-core test VM), for `get` of a 100-byte value: the copy was ~10 % of a cached
/// call, and the atomic drop of sled's value right after it waited for the copy's stores;
/// with the prefetch, +6 to +9 % on a cached store, +3 % on a 1,000,000-entry one. Not
/// measured on aarch64, nor for insert/remove (which write only when there was a
/// previous value; the prefetch costs them a few instructions). A prefetch never faults
/// and changes no data; where there is no instruction for it, this does nothing.
#[inline]
pub fn prefetch() {
    let Some(arena) = ARENA.with(Cell::get) else {
        return;
    };
    for line in 0..PREFETCH_LINES {
        // clamped, not stopped, at the end: a value ending there still has its last line
        let at = (arena.next + LINE * line).min(SIZE - 1);
        prefetch_line(arena.data.wrapping_add(at));
    }
}

/// A prefetch for reading (T0): the write hint (`prefetchw`) needs a target feature that
/// is not stable in Rust, and on memory no other core holds a read prefetch gets the line
/// in a state a store can take without asking again.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch_line(at: *const u8) {
    // SAFETY: a prefetch reads nothing the program sees and never faults (SSE, which
    // every x86-64 CPU has)
    unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast()) }
}

/// A prefetch for storing (PSTL1KEEP), which aarch64 offers as a plain instruction.
#[cfg(target_arch = "aarch64")]
#[inline]
fn prefetch_line(at: *const u8) {
    // SAFETY: PRFM is a hint: it never faults and changes no register or memory
    unsafe {
        core::arch::asm!(
            "prfm pstl1keep, [{0}]",
            in(reg) at,
            options(nostack, preserves_flags, readonly),
        )
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
fn prefetch_line(_at: *const u8) {}

/// This thread's arena (a new one when `fresh`, or when there is none yet); its
/// generation is written into the scratch header.
#[napi(ts_return_type = "Buffer")]
pub fn arena(env: &Env, fresh: bool) -> Result<Unknown<'_>> {
    let current = ARENA.with(Cell::get);
    if let Some(value) = current
        .filter(|_| !fresh)
        .and_then(|a| crate::scratch::held_value(env, a.reference))
    {
        publish_generation();
        return Ok(value);
    }
    let (value, reference, data) = crate::scratch::held_buffer(env, SIZE, "value arena")?;
    ARENA.with(|a| {
        a.set(Some(Arena {
            reference,
            data,
            next: 0,
        }))
    });
    if let Some(old) = current {
        // the old arena is no longer written; the values pointing into it keep it alive
        // SAFETY: a reference made by held_buffer on this thread
        unsafe { sys::napi_delete_reference(env.raw(), old.reference) };
    }
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    publish_generation();
    Ok(value)
}

fn publish_generation() {
    let generation = GENERATION.with(Cell::get);
    let _ = crate::scratch::with(|scratch| {
        let at = GENERATION_WORD * 4;
        scratch[at..at + 4].copy_from_slice(&generation.to_ne_bytes());
    });
}
