//! The guard every entry point runs inside.
//!
//! It does the two things no entry point may forget: refuse calls made from inside a
//! transaction callback (sled would deadlock on its process-wide lock), and turn a
//! Rust panic into `SLED_PANIC` instead of aborting the process.
//!
//! A library must not write to its user's stderr: a panic caught here is reported on
//! the error (message and location), never printed. The panic hook records it for the
//! catching thread; panics nobody catches (on sled's own threads) still go to Rust's
//! default hook, since nothing else would report them.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use std::result::Result;

use crate::error::{Code, Error};

thread_local! {
  /// Set while a JS transaction callback runs on this thread.
  static IN_TRANSACTION: Cell<bool> = const { Cell::new(false) };
  /// Set while [`catching`] runs on this thread: its panics are recorded, not printed.
  static CATCHING: Cell<bool> = const { Cell::new(false) };
  /// The last caught panic of this thread: "message (at file:line:column)".
  static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the hook that keeps caught panics off stderr (once per process).
fn install_hook() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!(" (at {}:{}:{})", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                let text = format!("{}{location}", panic_message(info.payload()));
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`; a panic in it becomes `Err` with its message and location, and is not
/// printed.
pub fn catching<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_hook();
    let outer = CATCHING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| panic_message(payload.as_ref()))
    })
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

/// Whether a JS transaction callback is running on this thread (this thread then holds
/// sled's process-wide transaction lock).
pub fn in_transaction() -> bool {
    IN_TRANSACTION.with(Cell::get)
}

/// Runs `f` here, or on a new thread when this thread is inside a transaction callback:
/// finalizers close handles, and closing may wait for work that waits for the
/// transaction lock this thread holds.
pub fn off_transaction(f: impl FnOnce() + Send + 'static) {
    if in_transaction() {
        // if no thread can be made, leak rather than deadlock: finalizers must not block
        let _ = std::thread::Builder::new()
            .name("sled-node-finalize".into())
            .spawn(f);
    } else {
        f();
    }
}

/// Runs one entry point: refuses calls from inside a transaction callback and catches
/// panics. `E` is the caller's error type (the napi crate adds JS exceptions to it).
pub fn guard<T, E: From<Error>>(op: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    if IN_TRANSACTION.with(Cell::get) {
        return Err(Error::new(
            Code::TransactionMisuse,
            format!(
                "{op} was called inside a transaction callback; use the TransactionalTree \
         passed to the callback (sled would deadlock)"
            ),
        )
        .into());
    }
    catch_panic(op, f)
}

/// Catches a panic in `f`; used directly where the transaction guard does not apply
/// (work on the libuv pool, finalizers).
pub fn catch_panic<T, E: From<Error>>(op: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    catching(f).unwrap_or_else(|panic| Err(panicked(op, &panic).into()))
}

/// The `SLED_PANIC` error for a panic [`catching`] reported.
pub fn panicked(op: &str, panic: &str) -> Error {
    Error::new(Code::Panic, format!("{op} panicked: {panic}"))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_sled_panic_with_its_message_and_place() {
        let err = catch_panic::<(), Error>("get", || panic!("boom")).unwrap_err();
        assert_eq!(err.code, Code::Panic);
        assert!(
            err.message.starts_with("get panicked: boom (at "),
            "{}",
            err.message
        );
        assert!(err.message.contains("guard.rs:"), "{}", err.message);
    }

    #[test]
    fn entry_points_are_refused_inside_a_transaction_callback_only() {
        let inside = inside_transaction(|| {
            assert!(in_transaction());
            guard::<(), Error>("get", || Ok(())).unwrap_err()
        });
        assert_eq!(inside.code, Code::TransactionMisuse);
        assert!(
            !in_transaction(),
            "the flag is reset when the callback ends"
        );
        assert!(guard::<(), Error>("get", || Ok(())).is_ok());
        // reset on unwind too
        let _ = catching(|| inside_transaction(|| panic!("in callback")));
        assert!(!in_transaction());
    }

    #[test]
    fn off_transaction_moves_work_to_another_thread_only_inside_a_callback() {
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        let sender = tx.clone();
        off_transaction(move || sender.send(std::thread::current().id()).unwrap());
        assert_eq!(rx.recv().unwrap(), here);
        inside_transaction(|| {
            off_transaction(move || tx.send(std::thread::current().id()).unwrap())
        });
        let elsewhere = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_ne!(elsewhere, here);
    }
}
