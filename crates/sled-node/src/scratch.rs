//! A per-thread scratch buffer: where the fast calls of `fast.rs` find their arguments
//! (written by the facade) and leave their results (read back by the facade).
//!
//! Creating a Buffer from native code (`napi_create_buffer_copy`) is the largest fixed
//! cost of a small `get`, and napi-rs's conversion of a Buffer argument costs almost as
//! much. Instead the key (and value) are copied into a Buffer made once per JS thread,
//! and a value read is copied back into it; the facade then copies it into a Buffer from
//! Node's own pool. Values larger than the scratch take the ordinary path.
//!
//! The buffer belongs to the thread, not to a load of the facade: every copy of the
//! facade loaded on a thread (a cleared module cache, `vi.resetModules()`, hot reload)
//! gets the same Buffer from [`scratch`], so none can read a buffer another load
//! replaced. Each JS thread (main or worker) runs on its own OS thread with one V8
//! isolate, so a thread-local is exactly "per isolate". Each load of the addon has a
//! `napi_env` of its own; a reference made in one is read from the others (a
//! reference is a V8 persistent handle of the isolate, valid from any of its envs).

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Error, Result, Status};
use napi_derive::napi;

const SIZE: usize = 64 * 1024;

#[derive(Clone, Copy)]
struct Scratch {
    /// Keeps the Buffer alive for the thread's lifetime.
    reference: sys::napi_ref,
    data: *mut u8,
}

thread_local! {
    static SCRATCH: Cell<Option<Scratch>> = const { Cell::new(None) };
}

/// This thread's scratch Buffer, made on the first call.
#[napi(ts_return_type = "Buffer")]
pub fn scratch(env: &Env) -> Result<Unknown<'_>> {
    if let Some(value) = SCRATCH
        .with(Cell::get)
        .and_then(|s| held_value(env, s.reference))
    {
        return Ok(value);
    }
    let (value, reference, data) = held_buffer(env, SIZE, "scratch buffer")?;
    SCRATCH.with(|s| s.set(Some(Scratch { reference, data })));
    Ok(value)
}

/// A new Buffer of `size` bytes kept alive by a strong reference (until
/// `napi_delete_reference`): the value, the reference and where its bytes are.
pub fn held_buffer<'env>(
    env: &'env Env,
    size: usize,
    what: &str,
) -> Result<(Unknown<'env>, sys::napi_ref, *mut u8)> {
    let raw_env = env.raw();
    let fail = |how: &str| Error::new(Status::GenericFailure, format!("{what}: {how}"));
    let mut value = ptr::null_mut();
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread
    if unsafe { sys::napi_create_buffer(raw_env, size, &mut data, &mut value) }
        != sys::Status::napi_ok
    {
        return Err(fail("could not allocate"));
    }
    let mut reference = ptr::null_mut();
    if unsafe { sys::napi_create_reference(raw_env, value, 1, &mut reference) }
        != sys::Status::napi_ok
    {
        return Err(fail("could not keep it alive"));
    }
    // SAFETY: a live value of this environment, in this call's scope
    Ok((
        unsafe { Unknown::from_raw_unchecked(raw_env, value) },
        reference,
        data.cast(),
    ))
}

/// The value behind a reference [`held_buffer`] made on this thread (this isolate):
/// a reference made in one load of the addon is valid in the others.
pub fn held_value(env: &Env, reference: sys::napi_ref) -> Option<Unknown<'_>> {
    let mut value = ptr::null_mut();
    // SAFETY: a reference made by held_buffer on this thread
    let status = unsafe { sys::napi_get_reference_value(env.raw(), reference, &mut value) };
    // SAFETY: a live value of this environment, in this call's scope
    (status == sys::Status::napi_ok && !value.is_null())
        .then(|| unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}

/// Runs `f` on this thread's scratch bytes (`None` if none was made on this thread).
/// The facade writes a fast call's arguments into them and reads its result back out
/// (see `fast.rs`).
pub fn with<T>(f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
    let s = SCRATCH.with(Cell::get)?;
    // SAFETY: `data` points at SIZE bytes of a Buffer kept alive by a reference for the
    // thread's lifetime; only this thread's JS reads or writes them, and it is not
    // running while native code on this thread holds the slice
    Some(f(unsafe { std::slice::from_raw_parts_mut(s.data, SIZE) }))
}
