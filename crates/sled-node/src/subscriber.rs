//! `NativeSubscriber`: the JS face of a `sled_core::watch` subscriber. The core's
//! hub drains sled without ever blocking its writers (the argument is in
//! `crates/sled-core/src/watch.rs`); this file wakes JS through a weak (unref'd)
//! threadsafe function when a queue stops being empty, which the facade refs only while
//! a `next()` is pending, so an idle subscriber never keeps the process alive.

use std::any::Any;
use std::sync::Arc;

use napi::bindgen_prelude::{Function, ObjectFinalize, ToNapiValue, TypeName};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Result, Status, ValueType};
use napi_derive::napi;
use sled_core::slot::{Child, Slot};
use sled_core::watch::{Notify, State};

use crate::boundary::guard;

type Tsfn = ThreadsafeFunction<(), (), (), Status, false, true>;

struct JsNotify(Tsfn);

impl Notify for JsNotify {
    fn notify(&self) {
        self.0.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Events packed as `[count u32] ([kind u8: 1 insert, 0 remove][key len u32][value len u32][key][value])*`.
pub struct EventChunk(Vec<sled::Event>);

impl ToNapiValue for EventChunk {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let parts = |e: &sled::Event| -> (u8, sled::IVec, Option<sled::IVec>) {
            match e {
                sled::Event::Insert { key, value } => (1, key.clone(), Some(value.clone())),
                sled::Event::Remove { key } => (0, key.clone(), None),
            }
        };
        let size = 4 + val
            .0
            .iter()
            .map(|e| {
                let (_, k, v) = parts(e);
                9 + k.len() + v.map_or(0, |v| v.len())
            })
            .sum::<usize>();
        crate::bytes::packed_buffer(env, size, "events", |out| {
            out.put(&(val.0.len() as u32).to_le_bytes());
            for event in &val.0 {
                let (kind, k, v) = parts(event);
                let v: &[u8] = v.as_deref().unwrap_or(&[]);
                out.put(&[kind]);
                out.len(&k);
                out.len(v);
                out.put(&k);
                out.put(v);
            }
        })
    }
}

impl TypeName for EventChunk {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

#[napi(custom_finalize)]
pub struct NativeSubscriber {
    state: Arc<State>,
}

impl NativeSubscriber {
    pub fn start(
        tree: &Arc<Slot>,
        prefix: &[u8],
        high_water_mark: u32,
        notify: Function<(), ()>,
    ) -> crate::js_error::Result<NativeSubscriber> {
        let notify: Tsfn = notify
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        let notify: Box<dyn Notify> = Box::new(JsNotify(notify));
        let state = tree.watch(prefix, high_water_mark, Some(notify))?;
        Ok(NativeSubscriber { state })
    }
}

#[napi]
impl NativeSubscriber {
    /// Every queued event (null when none); throws once closed, or once an
    /// overflowed subscriber's queue is empty.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn take(&self) -> Result<Option<EventChunk>> {
        guard("subscriber next", || {
            self.state
                .take("subscriber next")
                .map(|events| events.map(EventChunk))
        })
    }

    /// Keeps the process alive while a `next()` waits (`true`), or not (`false`).
    // napi-rs deprecates refer/unref in favour of clone-counting, but what is wanted
    // here is exactly napi_ref/unref_threadsafe_function: whether the loop waits for it
    #[allow(deprecated)]
    #[napi]
    pub fn keep_alive(&self, env: Env, alive: bool) -> Result<()> {
        let refer = |notify: &mut dyn Notify| match notify.as_any_mut().downcast_mut::<JsNotify>() {
            Some(JsNotify(tsfn)) if alive => tsfn.refer(&env),
            Some(JsNotify(tsfn)) => tsfn.unref(&env),
            None => Ok(()),
        };
        self.state.with_notify(refer).unwrap_or(Ok(()))
    }

    /// Stops delivery to this subscriber; later `take()` calls throw SLED_CLOSED.
    #[napi]
    pub fn close(&self) {
        self.state.close();
    }
}

impl ObjectFinalize for NativeSubscriber {
    fn finalize(self, _env: Env) -> Result<()> {
        // takes only this subscriber's own locks, which no sled lock waits on
        self.state.close();
        Ok(())
    }
}
