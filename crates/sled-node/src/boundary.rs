//! The guard every exported method runs inside: `sled_core::guard` (transaction
//! misuse refused, panics caught) plus the conversion of its error into the JS error
//! thrown (`js_error.rs`).

use sled_core::guard;

use crate::js_error::{throw, Fail};

pub use sled_core::guard::{catch_panic, inside_transaction, off_transaction};

/// Whether a JS transaction callback is running on this thread (this thread then holds
/// sled's process-wide transaction lock).
#[napi_derive::napi]
pub fn in_transaction() -> bool {
    guard::in_transaction()
}

/// Runs one exported operation: checks the transaction guard, catches panics, and
/// throws a failure as its JS error class.
pub fn guard<T, E>(op: &str, f: impl FnOnce() -> Result<T, E>) -> napi::Result<T>
where
    E: From<sled_core::Error> + Into<Fail>,
{
    guard::guard(op, f).map_err(|e| throw(e.into()))
}

/// For entry points that the transaction guard does not apply to (the transaction's
/// own tree): catches panics and throws a failure as its JS error class.
pub fn caught<T, E>(op: &str, f: impl FnOnce() -> Result<T, E>) -> napi::Result<T>
where
    E: From<sled_core::Error> + Into<Fail>,
{
    catch_panic(op, f).map_err(|e| throw(e.into()))
}
