//! Transactions over one or more trees of one database, with a synchronous JS callback.
//!
//! sled runs the closure on the calling (JS) thread and may re-run it on conflict;
//! while it runs, sled holds its process-wide write lock, so any ordinary sled call
//! from the callback would deadlock: `boundary::inside_transaction` marks the thread
//! and every entry point refuses with `SLED_TRANSACTION_MISUSE`. The callback gets
//! `NativeTxTree`s that point at sled's `TransactionalTree`s only while that run of
//! the callback lasts; afterwards they report `SLED_CLOSED`.
//!
//! No lock of the binding is held while the callback runs: each tree's slot is
//! *pinned* (see `slot.rs`), so `close()`/`dropTree()` on other threads wait for the
//! transaction, while anything the callback reads (`closed` getters) never waits.
//! One tree listed twice is refused: sled would give it two views whose writes do not
//! see each other.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::{ClassInstance, Function, ToNapiValue, Unknown};
use napi::{sys, Env, JsValue, Result, Status};
use napi_derive::napi;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use crate::boundary::{caught, guard, inside_transaction};
use crate::bytes::{Key, MaybeBytes};
use crate::js_error::Fail;
use crate::tree::NativeTree;
use sled_core::error::{closed, from_sled, Code, Error};

/// What the `NativeTxTree`s of one callback run share.
struct Run {
    /// sled's views, valid only while the callback runs; null otherwise.
    views: Cell<*const Vec<TransactionalTree>>,
    conflict: Cell<bool>,
    storage: RefCell<Option<sled::Error>>,
    subject: String,
    /// Per view: its database's backup capture and the tree's name.
    captures: Vec<(std::sync::Arc<sled_core::capture::Capture>, Vec<u8>)>,
}

#[napi]
pub struct NativeTxTree {
    run: Rc<Run>,
    index: usize,
}

impl NativeTxTree {
    fn with<T>(
        &self,
        op: &str,
        f: impl FnOnce(&TransactionalTree) -> std::result::Result<T, UnabortableTransactionError>,
    ) -> Result<T> {
        caught(op, || self.view(op, f))
    }

    fn view<T>(
        &self,
        op: &str,
        f: impl FnOnce(&TransactionalTree) -> std::result::Result<T, UnabortableTransactionError>,
    ) -> sled_core::Result<T> {
        let views = self.run.views.get();
        if views.is_null() {
            return Err(closed(
                op,
                &format!("a transaction on {} that has ended", self.run.subject),
            ));
        }
        // SAFETY: `views` is set only while the transaction closure (which borrows the
        // Vec) is running the JS callback on this thread, and cleared before it returns
        let Some(view) = (unsafe { &*views }).get(self.index) else {
            return Err(closed(op, &self.run.subject));
        };
        match f(view) {
            Ok(value) => Ok(value),
            Err(UnabortableTransactionError::Conflict) => {
                // sled re-runs the callback; the error only unwinds the user's code
                self.run.conflict.set(true);
                Err(Error::new(
                    Code::TransactionConflict,
                    format!("{op}: transaction conflict, it will be retried"),
                ))
            }
            Err(UnabortableTransactionError::Storage(e)) => {
                let err = from_sled(op, &self.run.subject, clone_error(&e));
                *self.run.storage.borrow_mut() = Some(e);
                Err(err)
            }
        }
    }
}

impl NativeTxTree {
    /// For a running backup: records the committed value of each key before this
    /// transaction writes it (no gate: this thread holds sled's write lock).
    fn recorded<'k>(
        &self,
        t: &TransactionalTree,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> std::result::Result<(), UnabortableTransactionError> {
        let Some((capture, name)) = self.run.captures.get(self.index) else {
            return Ok(());
        };
        for key in keys {
            capture.record_in_transaction(name, key, || t.get(key))?;
        }
        Ok(())
    }
}

/// sled::Error is not Clone; rebuild an equivalent for the JS-side copy.
fn clone_error(e: &sled::Error) -> sled::Error {
    match e {
        sled::Error::CollectionNotFound(name) => sled::Error::CollectionNotFound(name.clone()),
        sled::Error::Unsupported(s) => sled::Error::Unsupported(s.clone()),
        sled::Error::ReportableBug(s) => sled::Error::ReportableBug(s.clone()),
        sled::Error::Io(io) => sled::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        sled::Error::Corruption { at, .. } => sled::Error::Corruption { at: *at, bt: () },
    }
}

#[napi]
impl NativeTxTree {
    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn get(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeBytes> {
        self.with("transaction get", |t| t.get(&key))
            .map(MaybeBytes)
    }

    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn insert(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] key: Key,
        value: &[u8],
    ) -> Result<MaybeBytes> {
        self.with("transaction insert", |t| {
            self.recorded(t, [&key[..]])?;
            t.insert(&key, value)
        })
        .map(MaybeBytes)
    }

    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn remove(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeBytes> {
        self.with("transaction remove", |t| {
            self.recorded(t, [&key[..]])?;
            t.remove(&key)
        })
        .map(MaybeBytes)
    }

    /// Applies a packed batch (see `batch.rs`) inside the transaction.
    #[napi]
    pub fn apply(&self, batch: &[u8]) -> Result<()> {
        caught("transaction apply", || {
            let (batch, keys) = sled_core::batch::unpack(batch)?;
            self.view("transaction apply", |t| {
                self.recorded(t, keys.iter().map(Vec::as_slice))?;
                t.apply_batch(&batch)
            })
        })
    }

    #[napi]
    pub fn generate_id(&self) -> Result<u64> {
        self.with("transaction generateId", |t| {
            t.generate_id()
                .map_err(UnabortableTransactionError::Storage)
        })
    }
}

/// Calls `callback(txs)`. When it throws, the exception is left pending (napi-rs's own
/// `call` would take it out and rethrow a copy): taking out the termination exception of
/// a worker being terminated cancels the termination, and the worker would go on.
/// The `PendingException` error returned then tells napi-rs to leave it in place.
fn call_keeping_exception(
    env: &Env,
    callback: &Function<'_, Vec<NativeTxTree>, Unknown<'_>>,
    txs: Vec<NativeTxTree>,
) -> Result<sys::napi_value> {
    let raw = env.raw();
    let mut undefined = ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread, with values of this call's scope
    unsafe {
        if sys::napi_get_undefined(raw, &mut undefined) != sys::Status::napi_ok {
            return Err(napi::Error::new(
                Status::GenericFailure,
                "transaction: no undefined",
            ));
        }
        let args = [<Vec<NativeTxTree> as ToNapiValue>::to_napi_value(raw, txs)?];
        let mut returned = ptr::null_mut();
        match sys::napi_call_function(
            raw,
            undefined,
            callback.raw(),
            1,
            args.as_ptr(),
            &mut returned,
        ) {
            sys::Status::napi_ok => Ok(returned),
            sys::Status::napi_pending_exception => Err(napi::Error::new(
                Status::PendingException,
                "the transaction callback threw",
            )),
            status => Err(napi::Error::new(
                Status::from(status),
                "transaction: the callback could not be called",
            )),
        }
    }
}

/// Runs `callback(txTrees)` as one sled transaction over `trees` (all of one database)
/// and returns what the callback returned. A callback that throws aborts the
/// transaction and its error is rethrown unchanged.
#[napi(
    ts_args_type = "trees: Array<NativeTree>, callback: (trees: Array<NativeTxTree>) => unknown",
    ts_return_type = "unknown"
)]
pub fn transaction<'env>(
    env: &'env Env,
    trees: Vec<ClassInstance<'env, NativeTree>>,
    callback: Function<'env, Vec<NativeTxTree>, Unknown<'env>>,
) -> Result<Unknown<'env>> {
    guard("transaction", || -> std::result::Result<_, Fail> {
        let Some(first) = trees.first() else {
            return Err(Error::new(
                Code::InvalidArgValue,
                "The argument 'trees' must not be empty",
            )
            .into());
        };
        let db_id = first.slot().db_id;
        if trees.iter().any(|t| t.slot().db_id != db_id) {
            return Err(Error::new(
                Code::InvalidArgValue,
                "transaction: every tree must belong to the same database",
            )
            .into());
        }
        // sled would hand out two views of one tree whose writes do not see each other
        for (i, tree) in trees.iter().enumerate() {
            if let Some(j) = trees[..i]
                .iter()
                .position(|t| t.slot().name == tree.slot().name)
            {
                return Err(Error::new(
                Code::InvalidArgValue,
                format!("The argument 'trees' must not list one tree twice: trees[{i}] is the same tree as trees[{j}]"),
                ).into());
            }
        }
        // pinned (a clone each, no lock held) for the whole transaction, so close() and
        // dropTree() on other threads wait for it rather than freeing the trees
        let pinned = trees
            .iter()
            .map(|t| t.slot().pin("transaction"))
            .collect::<sled_core::Result<Vec<_>>>()?;
        let sled_trees: Vec<sled::Tree> = pinned.iter().map(|p| p.tree.clone()).collect();
        let subject = first.slot().subject.clone();
        let captures: Vec<_> = trees
            .iter()
            .map(|t| (t.slot().capture.clone(), t.slot().name.clone()))
            .collect();
        let returned: Cell<sys::napi_value> = Cell::new(ptr::null_mut());

        let outcome = sled_trees
            .as_slice()
            .transaction(|views: &Vec<TransactionalTree>| {
                let run = Rc::new(Run {
                    views: Cell::new(views),
                    conflict: Cell::new(false),
                    storage: RefCell::new(None),
                    subject: subject.clone(),
                    captures: captures.clone(),
                });
                let txs = (0..views.len())
                    .map(|index| NativeTxTree {
                        run: run.clone(),
                        index,
                    })
                    .collect();
                let result = inside_transaction(|| call_keeping_exception(env, &callback, txs));
                run.views.set(ptr::null());
                if let Err(thrown) = result {
                    // the callback threw: its exception stays pending and reaches the caller
                    return Err(ConflictableTransactionError::Abort(thrown));
                }
                if let Some(e) = run.storage.borrow_mut().take() {
                    return Err(ConflictableTransactionError::Storage(e));
                }
                if run.conflict.get() {
                    return Err(ConflictableTransactionError::Conflict);
                }
                if let Ok(value) = result {
                    returned.set(value);
                }
                Ok(())
            });
        drop(sled_trees);
        drop(pinned);
        match outcome {
            // SAFETY: the value was returned by the callback in this same native call,
            // so its handle scope is still open
            Ok(()) => Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), returned.get()) }),
            Err(TransactionError::Abort(e)) => Err(e.into()),
            Err(TransactionError::Storage(e)) => Err(from_sled("transaction", &subject, e).into()),
        }
    })
}
