//! The guard every exported method runs inside.
//!
//! It does the two things no method may forget: refuse calls made from inside a
//! transaction callback (sled would deadlock on its process-wide lock), and turn a
//! Rust panic into `SLED_PANIC` instead of aborting the process.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::Result;

use crate::error::{coded, Code};

thread_local! {
  /// Set while a JS transaction callback runs on this thread.
  static IN_TRANSACTION: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread marked as inside a transaction callback.
pub fn inside_transaction<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_TRANSACTION.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(IN_TRANSACTION.with(|flag| flag.replace(true)));
    f()
}

/// Runs one exported operation: checks the transaction guard and catches panics.
pub fn guard<T>(op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if IN_TRANSACTION.with(Cell::get) {
        return Err(coded(
            Code::TransactionMisuse,
            &[],
            format!(
                "{op} was called inside a transaction callback; use the TransactionalTree \
         passed to the callback (sled would deadlock)"
            ),
        ));
    }
    catch_panic(op, f)
}

/// Catches a panic in `f`; used directly where the transaction guard does not apply
/// (work on the libuv pool, finalizers).
pub fn catch_panic<T>(op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(coded(
            Code::Panic,
            &[],
            format!("{op} panicked: {}", panic_message(&payload)),
        )),
    }
}

fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
