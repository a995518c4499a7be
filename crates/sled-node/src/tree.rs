//! `NativeTree`: the key/value operations of one tree (the default tree of a Db
//! or a named one). All of them go through the tree's [`Slot`], which reports
//! `SLED_CLOSED` / `SLED_COLLECTION_NOT_FOUND` once the handle was closed or the tree
//! dropped, and through [`guard`], which catches panics and transaction misuse.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, ObjectFinalize, ToNapiValue, TypeName};
use napi::{sys, Env, Result, Task, ValueType};
use napi_derive::napi;
use sled_core::error::{from_sled, Result as CoreResult};

use crate::boundary::{catch_panic, guard};
use crate::bytes::{Key, MaybeBytes, MaybeEntry, PackedValues};
use crate::iter::{First, IterState, RangeSpec};
use crate::js_error::settle;
use sled_core::slot::{Child, Slot};

#[napi(custom_finalize)]
pub struct NativeTree {
    slot: Arc<Slot>,
    /// Its entry in this thread's table of fast handles, once asked for.
    fast: std::cell::Cell<Option<crate::fast::FastId>>,
}

/// The outcome of `compareAndSwap`: `ok`, or the current value and the proposal
/// that was not stored.
#[napi(object, object_from_js = false)]
pub struct CasResult {
    pub ok: bool,
    #[napi(ts_type = "Buffer | undefined")]
    pub current: MaybeBytes,
    #[napi(ts_type = "Buffer | undefined")]
    pub proposed: MaybeBytes,
}

impl NativeTree {
    pub fn new(slot: Arc<Slot>) -> NativeTree {
        NativeTree {
            slot,
            fast: std::cell::Cell::new(None),
        }
    }

    pub fn slot(&self) -> &Arc<Slot> {
        &self.slot
    }

    fn run<T>(&self, op: &str, f: impl FnOnce(&sled::Tree) -> sled::Result<T>) -> Result<T> {
        guard(op, || self.slot.with(op, f))
    }
}

#[napi]
impl NativeTree {
    /// The tree's name (`__sled__default` for the default tree).
    #[napi(ts_return_type = "Buffer")]
    pub fn name(&self) -> Result<crate::bytes::Bytes> {
        self.run("name", |tree| Ok(crate::bytes::Bytes(tree.name())))
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        !self.slot.is_open()
    }

    /// Throws what `op` would throw on entry (a closed or dropped tree, a call inside a
    /// transaction callback); does nothing else. The facade's iterators start lazily
    /// and call this so that `range()` and `scanPrefix()` still throw when called.
    #[napi]
    pub fn usable(&self, op: String) -> Result<()> {
        self.run(&op, |_| Ok(()))
    }

    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn get(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeBytes> {
        self.run("get", |tree| tree.get(&key)).map(MaybeBytes)
    }

    /// This handle's number for the fast calls of `fast.rs` (`[index, generation]`),
    /// entered in this thread's table on the first call.
    #[napi]
    pub fn fast_handle(&self) -> Vec<u32> {
        let id = self.fast.get().unwrap_or_else(|| {
            let id = crate::fast::register(&self.slot);
            self.fast.set(Some(id));
            id
        });
        id.words()
    }

    /// Looks up every key in one call; the values come back packed in one Buffer
    /// (see `bytes::PackedValues`) rather than as a Buffer each.
    #[napi(ts_return_type = "Buffer")]
    pub fn get_many(
        &self,
        #[napi(ts_arg_type = "Array<Uint8Array>")] keys: Vec<Key>,
    ) -> Result<PackedValues> {
        self.run("getMany", |tree| {
            keys.iter()
                .map(|key| tree.get(key))
                .collect::<sled::Result<Vec<_>>>()
                .map(PackedValues)
        })
    }

    /// Stores `value` under `key`; returns the previous value.
    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn insert(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] key: Key,
        value: &[u8],
    ) -> Result<MaybeBytes> {
        self.run("insert", |tree| {
            self.slot.write(tree, |r| r.insert(&key, value))
        })
        .map(MaybeBytes)
    }

    /// Deletes `key`; returns the removed value.
    #[napi(ts_return_type = "Buffer | undefined")]
    pub fn remove(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeBytes> {
        self.run("remove", |tree| self.slot.write(tree, |r| r.remove(&key)))
            .map(MaybeBytes)
    }

    /// Applies a packed batch (see `batch.rs`) atomically.
    #[napi]
    pub fn apply(&self, batch: &[u8]) -> Result<()> {
        guard("apply", || {
            let (batch, keys) = sled_core::batch::unpack(batch)?;
            apply_unpacked(&self.slot, "apply", batch, &keys)
        })
    }

    #[napi]
    pub fn contains_key(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<bool> {
        self.run("containsKey", |tree| tree.contains_key(&key))
    }

    /// Atomically replaces `expected` (absent when undefined) by `proposed`
    /// (delete when undefined).
    #[napi]
    pub fn compare_and_swap(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] key: Key,
        expected: Option<&[u8]>,
        proposed: Option<&[u8]>,
    ) -> Result<CasResult> {
        // sled compares `expected` again on each retry of its loop: one copy, one version
        let expected = expected.map(sled::IVec::from);
        let outcome = self.run("compareAndSwap", |tree| {
            self.slot.write(tree, |r| {
                r.record(&key)?;
                tree.compare_and_swap(&key, expected, proposed)
            })
        })?;
        Ok(match outcome {
            Ok(()) => CasResult {
                ok: true,
                current: MaybeBytes(None),
                proposed: MaybeBytes(None),
            },
            Err(conflict) => CasResult {
                ok: false,
                current: MaybeBytes(conflict.current),
                proposed: MaybeBytes(conflict.proposed),
            },
        })
    }

    /// Number of entries (sled scans the whole tree).
    #[napi]
    pub fn len(&self) -> Result<f64> {
        // a JS number, not u32: a count above 2^32 - 1 must not wrap
        self.run("len", |tree| Ok(tree.len() as f64))
    }

    #[napi]
    pub fn is_empty(&self) -> Result<bool> {
        self.run("isEmpty", |tree| Ok(tree.is_empty()))
    }

    /// Removes every entry (not atomic, as in sled).
    #[napi]
    pub fn clear(&self) -> Result<()> {
        self.run("clear", |tree| {
            self.slot.write(tree, |r| {
                r.record_all()?;
                tree.clear()
            })
        })
    }

    /// CRC32 of this tree's keys and values.
    #[napi]
    pub fn checksum(&self) -> Result<u32> {
        self.run("checksum", |tree| tree.checksum())
    }

    /// Writes dirty buffers to disk; returns the number of bytes flushed.
    #[napi]
    pub fn flush(&self) -> Result<f64> {
        self.run("flush", |tree| tree.flush()).map(|n| n as f64)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn flush_async(&self) -> Result<AsyncTask<FlushTask>> {
        guard("flushAsync", || {
            CoreResult::Ok(AsyncTask::new(FlushTask {
                slot: self.slot.clone(),
            }))
        })
    }
}

#[napi]
impl NativeTree {
    /// Iterates the entries within the spec's bounds, in chunks: with `first`, reads the
    /// first chunk in the same call (see `iter::First`); without, reads nothing yet.
    #[napi(ts_return_type = "Buffer | NativeIter")]
    pub fn range(&self, spec: RangeSpec, first: bool) -> Result<First> {
        guard("range", || {
            IterState::range(&self.slot, &spec).and_then(|state| IterState::begin(state, first))
        })
    }

    /// Iterates the entries whose key starts with `prefix` (all of them for an empty
    /// prefix); `first` as for `range`.
    #[napi(ts_return_type = "Buffer | NativeIter")]
    pub fn scan_prefix(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] prefix: Key,
        reverse: bool,
        limit: Option<f64>,
        first: bool,
    ) -> Result<First> {
        guard("scanPrefix", || {
            IterState::prefix(&self.slot, &prefix, reverse, limit)
                .and_then(|state| IterState::begin(state, first))
        })
    }

    /// Watches inserts and removes of keys starting with `prefix`; `notify` is called
    /// (from the JS thread) when events are waiting.
    #[napi]
    pub fn watch_prefix(
        &self,
        #[napi(ts_arg_type = "Uint8Array")] prefix: Key,
        high_water_mark: u32,
        notify: napi::bindgen_prelude::Function<(), ()>,
    ) -> Result<crate::subscriber::NativeSubscriber> {
        guard("watchPrefix", || {
            crate::subscriber::NativeSubscriber::start(&self.slot, &prefix, high_water_mark, notify)
        })
    }

    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn first(&self) -> Result<MaybeEntry> {
        self.run("first", |tree| tree.first()).map(MaybeEntry)
    }

    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn last(&self) -> Result<MaybeEntry> {
        self.run("last", |tree| tree.last()).map(MaybeEntry)
    }

    /// The entry with the greatest key below `key`.
    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn get_lt(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeEntry> {
        self.run("getLt", |tree| tree.get_lt(&key)).map(MaybeEntry)
    }

    /// The entry with the smallest key above `key`.
    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn get_gt(&self, #[napi(ts_arg_type = "Uint8Array")] key: Key) -> Result<MaybeEntry> {
        self.run("getGt", |tree| tree.get_gt(&key)).map(MaybeEntry)
    }

    /// Removes and returns the entry with the smallest key.
    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn pop_min(&self) -> Result<MaybeEntry> {
        self.run("popMin", |tree| self.slot.write(tree, |r| r.pop(true)))
            .map(MaybeEntry)
    }

    /// Removes and returns the entry with the greatest key.
    #[napi(ts_return_type = "[Buffer, Buffer] | undefined")]
    pub fn pop_max(&self) -> Result<MaybeEntry> {
        self.run("popMax", |tree| self.slot.write(tree, |r| r.pop(false)))
            .map(MaybeEntry)
    }
}

impl NativeTree {
    /// `make`'s result from this handle's slot, once the handle was found open.
    fn checked<T>(&self, op: &str, make: impl FnOnce(Arc<Slot>) -> CoreResult<T>) -> Result<T> {
        guard(op, || {
            self.slot.with_tree(op, |_| CoreResult::Ok(()))?;
            make(self.slot.clone())
        })
    }

    /// The point calls of one tick, packed (checked here, so a malformed list throws).
    pub fn ops_task(&self, ops: &[u8]) -> Result<OpsTask> {
        let data = ops.to_vec();
        let first = first_op_name(&data);
        self.checked(first, |slot| {
            sled_core::batch::decode(&data, true)?;
            Ok(OpsTask {
                slot,
                work: Work::Ops(data),
            })
        })
    }

    /// One applyAsync of a large packed batch, as a task of its own: unpacked here (one
    /// copy of its bytes, which sled's batch needs anyway) rather than copied as a list.
    pub fn batch_task(&self, batch: &[u8]) -> Result<OpsTask> {
        self.checked("applyAsync", |slot| {
            let (batch, keys) = sled_core::batch::unpack(batch)?;
            Ok(OpsTask {
                slot,
                work: Work::Batch(batch, keys),
            })
        })
    }
}

impl ObjectFinalize for NativeTree {
    fn finalize(self, _env: Env) -> Result<()> {
        if let Some(id) = self.fast.get() {
            crate::fast::unregister(id);
        }
        // drops this handle's sled clone; other handles of the tree are unaffected
        // because each `openTree` call has its own slot
        if Arc::strong_count(&self.slot) == 1 {
            let slot = self.slot;
            crate::boundary::off_transaction(move || slot.close());
        }
        Ok(())
    }
}

// The pool tasks of a tree (`…Async`). Each copies its arguments (JS may mutate a
// Buffer while the task runs), catches panics itself (a panic in `compute` would abort
// the process), and uses the slot's read lock only while sled runs, so `close()` waits
// for it. Errors are kept as the task's output and built as JS errors in `resolve`,
// on the JS thread.

/// The `getAsync` / `getManyAsync` / `insertAsync` / `removeAsync` / `applyAsync` calls
/// of one tick, packed in one Buffer (`sled_core::batch::decode`, gets and batches
/// allowed), or one large batch of its own (`Work::Batch`), run by one task of a task
/// line (`task_line.rs`): the hop to another thread is paid once per tick, not per call.
/// Each op is its own sled call, in order; writes go through the slot's write path, as
/// `insert` / `remove` do. The outcome: the results packed as `getMany`'s (the value
/// read, or the previous value) and, when op `i` failed, its error; the ops after `i`
/// were not run.
pub struct OpsTask {
    slot: Arc<Slot>,
    work: Work,
}

enum Work {
    /// The packed ops, checked by `decode` when the task was made.
    Ops(Vec<u8>),
    /// One applyAsync's batch, with the keys it writes.
    Batch(sled::Batch, Vec<Vec<u8>>),
}

/// The JS method behind `op`, which names it in its error.
fn op_name(op: &sled_core::batch::Op) -> &'static str {
    use sled_core::batch::Op;
    match op {
        Op::Get(_) => "getAsync",
        Op::Apply(_) => "applyAsync",
        Op::Insert(..) => "insertAsync",
        Op::Remove(_) => "removeAsync",
    }
}

/// The results of the ops that ran and, if one failed, its error (the rest did not run).
pub struct OpsOutcome(Vec<Option<sled::IVec>>, Option<sled_core::Error>);

impl OpsOutcome {
    /// The outcome, or the error of a task none of whose ops ran.
    pub fn ran(self) -> std::result::Result<OpsOutcome, sled_core::Error> {
        match self {
            OpsOutcome(done, Some(error)) if done.is_empty() => Err(error),
            outcome => Ok(outcome),
        }
    }
}

/// The JS method of a packed list's first op, which names a failure to start the task.
fn first_op_name(data: &[u8]) -> &'static str {
    match data.first() {
        Some(&2) => "getAsync",
        Some(&3) => "applyAsync",
        Some(&0) => "removeAsync",
        _ => "insertAsync",
    }
}

impl OpsTask {
    /// The JS method of the first op.
    pub fn name(&self) -> &'static str {
        match &self.work {
            Work::Ops(data) => first_op_name(data),
            Work::Batch(..) => "applyAsync",
        }
    }

    /// Runs the ops in order, up to the first that fails.
    pub fn run(self) -> OpsOutcome {
        let (batch, keys) = match self.work {
            Work::Ops(data) => return run_ops(&self.slot, &data),
            Work::Batch(batch, keys) => (batch, keys),
        };
        let slot = &self.slot;
        let outcome = catch_panic("applyAsync", || {
            apply_unpacked(slot, "applyAsync", batch, &keys)
        });
        match outcome {
            Ok(()) => OpsOutcome(vec![None], None),
            Err(error) => OpsOutcome(Vec::new(), Some(error)),
        }
    }
}

/// Applies an unpacked batch writing `keys` atomically, through the slot's write path
/// (which records pre-images for a running backup); `op` names the JS method in errors.
fn apply_unpacked(slot: &Slot, op: &str, batch: sled::Batch, keys: &[Vec<u8>]) -> CoreResult<()> {
    slot.with(op, |tree| slot.write(tree, |r| r.apply(batch, keys)))
}

/// Runs the packed ops `data` in order, up to the first that fails.
fn run_ops(slot: &Arc<Slot>, data: &[u8]) -> OpsOutcome {
    use sled_core::batch::Op;
    let mut done = Vec::new();
    // the name of the op running, for its error (and a panic's)
    let mut name = "insertAsync";
    let outcome = catch_panic("opsAsync", || {
        let ops = sled_core::batch::decode(data, true)?;
        name = ops.first().map_or(name, op_name);
        done.reserve(ops.len());
        slot.with_tree(name, |tree| {
            for op in ops {
                name = op_name(&op);
                let result = match op {
                    Op::Get(key) => tree.get(key),
                    Op::Insert(key, value) => slot.write(tree, |r| r.insert(key, value)),
                    Op::Remove(key) => slot.write(tree, |r| r.remove(key)),
                    Op::Apply(packed) => {
                        // checked by `decode` when the task was made
                        let (batch, keys) = sled_core::batch::unpack(packed)?;
                        slot.write(tree, |r| r.apply(batch, &keys)).map(|()| None)
                    }
                };
                done.push(result.map_err(|e| from_sled(name, &slot.subject, e))?);
            }
            CoreResult::Ok(())
        })
    });
    let error = outcome.err().map(|mut e| {
        if e.code == sled_core::Code::Panic {
            e.message = e.message.replacen("opsAsync", name, 1);
        }
        e
    });
    OpsOutcome(done, error)
}

impl ToNapiValue for OpsOutcome {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let OpsOutcome(done, error) = val;
        let values = unsafe { PackedValues::to_napi_value(env, PackedValues(done))? };
        let Some(error) = error else {
            return Ok(values);
        };
        let error = crate::js_error::error_value(env, &error)?;
        crate::bytes::array(env, &[values, error], "the results of a batch")
    }
}

impl TypeName for OpsOutcome {
    fn type_name() -> &'static str {
        "Buffer | [Buffer, Error]"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// `flushAsync`: sled's flush blocks on disk I/O.
pub struct FlushTask {
    slot: Arc<Slot>,
}

impl Task for FlushTask {
    type Output = CoreResult<usize>;
    type JsValue = f64;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(catch_panic("flushAsync", || {
            self.slot.with("flushAsync", |tree| tree.flush())
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<f64> {
        settle(&env, output).map(|n| n as f64)
    }
}
