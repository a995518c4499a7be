//! `NativeTaskLine`: runs one batcher's tasks (the `getAsync` / `getManyAsync` /
//! `insertAsync` / `removeAsync` calls of a tick) on the shared task threads (`core:serial.rs`, which says
//! why not on the libuv pool): a task with a write one at a time and in order on the
//! line's serial queue, a task of reads alone on a queue of its own, in parallel with
//! the others (the facade sends it only while none of the line's write tasks runs). A
//! finished task's outcome waits in `finished` until the facade takes it; the first one
//! to arrive wakes JS through a weak threadsafe function, which the facade refs only
//! while tasks are pending, as for a subscriber (`subscriber.rs`).

use std::sync::Arc;

use napi::bindgen_prelude::{Function, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Result, Status};
use napi_derive::napi;
use parking_lot::Mutex;
use sled_core::error::from_io;
use sled_core::serial::Serial;

use crate::boundary::guard;
use crate::tree::{NativeTree, OpsOutcome};

type Tsfn = ThreadsafeFunction<(), (), (), Status, false, true>;

struct Finished {
    outcomes: Mutex<Vec<(u32, OpsOutcome)>>,
    /// In a mutex because napi-rs refs and unrefs through `&mut` (a leaf: held only
    /// for one call of it, never with `outcomes`).
    notify: Mutex<Tsfn>,
}

#[napi]
pub struct NativeTaskLine {
    serial: Serial,
    finished: Arc<Finished>,
}

#[napi]
impl NativeTaskLine {
    /// `notify` is called (on the JS thread) when finished tasks wait to be taken.
    #[napi(constructor)]
    pub fn new(notify: Function<(), ()>) -> Result<NativeTaskLine> {
        let notify: Tsfn = notify
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(NativeTaskLine {
            serial: Serial::new(),
            finished: Arc::new(Finished {
                outcomes: Mutex::new(Vec::new()),
                notify: Mutex::new(notify),
            }),
        })
    }

    /// Queues the packed `ops` of `tree` as task `id`: when `ordered`, after the ordered
    /// tasks sent before it; otherwise to run at once on a free thread. With `batch`, `ops`
    /// is one applyAsync's packed batch (ordered). A closed handle or a malformed list
    /// throws here, and nothing is queued.
    #[napi]
    pub fn send(
        &self,
        tree: &NativeTree,
        ops: &[u8],
        id: u32,
        ordered: bool,
        batch: bool,
    ) -> Result<()> {
        let task = if batch {
            tree.batch_task(ops)?
        } else {
            tree.ops_task(ops)?
        };
        let op = task.name();
        let subject = tree.slot().subject.clone();
        let finished = self.finished.clone();
        let job = Box::new(move || {
            let outcome = task.run();
            let first = {
                let mut outcomes = finished.outcomes.lock();
                outcomes.push((id, outcome));
                outcomes.len() == 1
            };
            // a notify that finds the outcomes already taken is harmless
            if first {
                finished
                    .notify
                    .lock()
                    .call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        guard(op, || {
            let submitted = if ordered {
                self.serial.submit(job)
            } else {
                sled_core::serial::submit_alone(job)
            };
            submitted.map_err(|e| from_io(op, &subject, &e))
        })
    }

    /// The tasks finished since the last call, as `[id, failed, result]` triples: the
    /// task's results packed (`OpsOutcome`), or (`failed`) the error of
    /// a task none of whose ops ran.
    #[napi(ts_return_type = "Array<number | boolean | Buffer | [Buffer, Error] | Error>")]
    pub fn take(&self, env: Env) -> Result<Unknown<'_>> {
        let outcomes = std::mem::take(&mut *self.finished.outcomes.lock());
        let raw = env.raw();
        let mut items = Vec::with_capacity(outcomes.len() * 3);
        for (id, outcome) in outcomes {
            let (failed, value) = match outcome.ran() {
                Err(error) => (true, crate::js_error::error_value(raw, &error)?),
                // SAFETY: on the JS thread, converting into this environment
                Ok(outcome) => (false, unsafe { OpsOutcome::to_napi_value(raw, outcome)? }),
            };
            // SAFETY: as above
            items.push(unsafe { u32::to_napi_value(raw, id)? });
            items.push(unsafe { bool::to_napi_value(raw, failed)? });
            items.push(value);
        }
        let array = crate::bytes::array(raw, &items, "the finished tasks")?;
        // SAFETY: a value of this environment, in this call's scope
        Ok(unsafe { Unknown::from_raw_unchecked(raw, array) })
    }

    /// Keeps the process alive while tasks are pending (`true`), or not (`false`).
    // as in subscriber.rs: exactly napi_ref/unref_threadsafe_function is wanted here
    #[allow(deprecated)]
    #[napi]
    pub fn keep_alive(&self, env: Env, alive: bool) -> Result<()> {
        let mut notify = self.finished.notify.lock();
        if alive {
            notify.refer(&env)
        } else {
            notify.unref(&env)
        }
    }
}
