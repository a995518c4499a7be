//! `NativeSubscriber`: `watchPrefix` without ever blocking sled's writers.
//!
//! sled blocks writers once a subscriber holds 1024 unread events, so a JS consumer
//! (slow by nature, or idle) must never be what empties sled's buffer. Each
//! subscriber gets a pump thread that drains sled's `Subscriber` as fast as events
//! come into a queue bounded by `highWaterMark`. Past that the subscriber is marked
//! overflowed and the pump keeps draining and discarding, so writers still never
//! block; the consumer gets every queued event and then `SLED_SUBSCRIBER_OVERFLOW`.
//! The pump wakes JS through a weak (unref'd) threadsafe function when the queue
//! stops being empty; the facade refs it only while a `next()` is pending, so an
//! idle subscriber never keeps the process alive.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use napi::bindgen_prelude::{Function, ObjectFinalize, ToNapiValue, TypeName};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Result, Status, ValueType};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::boundary::guard;
use crate::error::{closed, coded, Code};
use crate::slot::{Child, Slot};

/// How often an idle pump looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Most events handed to JS by one `take()`.
const TAKE_MAX: usize = 4096;

type Notify = ThreadsafeFunction<(), (), (), Status, false, true>;

enum Phase {
    Open,
    Overflowed,
    Closed,
}

struct Queue {
    events: VecDeque<sled::Event>,
    phase: Phase,
}

struct State {
    queue: Mutex<Queue>,
    high_water_mark: usize,
    stop: AtomicBool,
    notify: Mutex<Option<Notify>>,
    subject: String,
}

impl State {
    fn wake(&self) {
        if let Some(notify) = &*self.notify.lock() {
            notify.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Drains sled's subscriber until stopped. It is polled as a Future, not through
    /// `next_timeout`: in sled 0.34.7 that reports `Disconnected` both for a no-op
    /// write (a reserved event slot dropped unfilled) and for a write slower than the
    /// timeout, and then keeps returning it, so it cannot tell "database gone" from a
    /// slow or empty write. The Future skips unfilled slots and waits for slow ones,
    /// and ends (`Ready(None)`) only when the database's senders are gone.
    fn pump(self: Arc<Self>, mut subscriber: sled::Subscriber) {
        let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        while !self.stop.load(Ordering::Acquire) {
            let event = match Pin::new(&mut subscriber).poll(&mut cx) {
                Poll::Ready(Some(event)) => event,
                Poll::Ready(None) => break,
                Poll::Pending => {
                    // woken by sled when an event is ready; the timeout re-checks `stop`
                    thread::park_timeout(POLL);
                    continue;
                }
            };
            let was_empty = {
                let mut queue = self.queue.lock();
                match queue.phase {
                    Phase::Open if queue.events.len() >= self.high_water_mark => {
                        queue.phase = Phase::Overflowed;
                        true
                    }
                    Phase::Open => {
                        queue.events.push_back(event);
                        queue.events.len() == 1
                    }
                    // keep draining so writers never block, but keep nothing
                    Phase::Overflowed | Phase::Closed => false,
                }
            };
            if was_empty {
                self.wake();
            }
        }
        // dropped here, on the pump thread, after draining stopped: never full
        drop(subscriber);
    }
}

/// Unparks the pump thread when sled has an event for it.
struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Child for State {
    fn close(&self) {
        self.stop.store(true, Ordering::Release);
        let mut queue = self.queue.lock();
        if !matches!(queue.phase, Phase::Closed) {
            queue.phase = Phase::Closed;
            queue.events.clear();
            drop(queue);
            // a pending next() learns about the close through one last wake-up
            self.wake();
            self.notify.lock().take();
        }
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
    ) -> Result<NativeSubscriber> {
        let notify: Notify = notify
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        tree.with_tree("watchPrefix", |t| {
            let state = Arc::new(State {
                queue: Mutex::new(Queue {
                    events: VecDeque::new(),
                    phase: Phase::Open,
                }),
                high_water_mark: high_water_mark.max(1) as usize,
                stop: AtomicBool::new(false),
                notify: Mutex::new(Some(notify)),
                subject: tree.subject.clone(),
            });
            let subscriber = t.watch_prefix(prefix);
            let pump = state.clone();
            thread::Builder::new()
                .name("sled-node-subscriber".into())
                .spawn(move || pump.pump(subscriber))
                .map_err(|e| crate::error::from_io("watchPrefix", &tree.subject, &e))?;
            let child: Arc<dyn Child> = state.clone();
            tree.adopt(Arc::downgrade(&child));
            Ok(NativeSubscriber { state })
        })
    }
}

#[napi]
impl NativeSubscriber {
    /// Every queued event (null when none); throws once closed, or once an
    /// overflowed subscriber's queue is empty.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn take(&self) -> Result<Option<EventChunk>> {
        guard("subscriber next", || {
            let mut queue = self.state.queue.lock();
            if !queue.events.is_empty() {
                // a bounded hand-out keeps what waits in JS small: unread events stay
                // within highWaterMark (native) + TAKE_MAX (JS)
                let n = queue.events.len().min(TAKE_MAX);
                return Ok(Some(EventChunk(queue.events.drain(..n).collect())));
            }
            match queue.phase {
                Phase::Open => Ok(None),
                Phase::Closed => Err(closed("subscriber next", &format!("a subscriber of {}", self.state.subject))),
                Phase::Overflowed => Err(coded(
                    Code::SubscriberOverflow,
                    &[],
                    format!(
                        "subscriber of {}: more than {} events were waiting unread (highWaterMark); later events were not kept",
                        self.state.subject, self.state.high_water_mark
                    ),
                )),
            }
        })
    }

    /// Keeps the process alive while a `next()` waits (`true`), or not (`false`).
    // napi-rs deprecates refer/unref in favour of clone-counting, but what is wanted
    // here is exactly napi_ref/unref_threadsafe_function: whether the loop waits for it
    #[allow(deprecated)]
    #[napi]
    pub fn keep_alive(&self, env: Env, alive: bool) -> Result<()> {
        if let Some(notify) = &mut *self.state.notify.lock() {
            if alive {
                notify.refer(&env)?;
            } else {
                notify.unref(&env)?;
            }
        }
        Ok(())
    }

    /// Stops the pump and frees sled's subscriber; later `take()` calls throw SLED_CLOSED.
    #[napi]
    pub fn close(&self) {
        self.state.close();
    }
}

impl ObjectFinalize for NativeSubscriber {
    fn finalize(self, _env: Env) -> Result<()> {
        self.state.close();
        Ok(())
    }
}
