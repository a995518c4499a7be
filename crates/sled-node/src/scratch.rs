//! A per-thread scratch buffer for the fast `get` path.
//!
//! Creating a Buffer from native code (`napi_create_buffer_copy`) is the largest fixed
//! cost of a small `get`. Instead, `getInto` copies the value into a Buffer that the
//! facade allocated once per JS thread and returns its length; the facade then copies
//! it into a Buffer from Node's own pool. Values larger than the scratch take the
//! ordinary path. Each JS thread (main or worker) runs on its own OS thread, so a
//! thread-local is exactly "per environment" here.

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::{BufferSlice, ToNapiValue};
use napi::{sys, Env, Result};
use napi_derive::napi;

thread_local! {
    static SCRATCH: Cell<(*mut u8, usize)> = const { Cell::new((ptr::null_mut(), 0)) };
}

/// Registers `buffer` as this thread's scratch; it is kept alive by a reference that
/// lives as long as the environment.
#[napi]
pub fn set_scratch(env: Env, buffer: BufferSlice) -> Result<()> {
    let mut reference = ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with a value from this call's scope
    let raw = unsafe { <&BufferSlice as ToNapiValue>::to_napi_value(env.raw(), &buffer)? };
    let status = unsafe { sys::napi_create_reference(env.raw(), raw, 1, &mut reference) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason(
            "could not keep the scratch buffer alive",
        ));
    }
    let (data, len) = (buffer.as_ptr() as *mut u8, buffer.len());
    SCRATCH.with(|s| s.set((data, len)));
    Ok(())
}

/// Copies `value` into the scratch: its length, or `None` when it does not fit
/// (or no scratch was registered on this thread).
pub fn put(value: &[u8]) -> Option<usize> {
    SCRATCH.with(|s| {
        let (data, len) = s.get();
        if data.is_null() || value.len() > len {
            return None;
        }
        // SAFETY: `data` points at `len` bytes of a Buffer kept alive by a reference,
        // and only this JS thread writes to it, between JS statements
        unsafe { ptr::copy_nonoverlapping(value.as_ptr(), data, value.len()) };
        Some(value.len())
    })
}
