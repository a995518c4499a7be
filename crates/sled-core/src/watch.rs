//! Subscribers (`watchPrefix`) without ever blocking sled's writers.
//!
//! sled 0.34.7 hands each of its subscribers events through a `sync_channel(1024)`;
//! a writer sends into every matching channel while holding the read side of that
//! prefix's subscriber-list lock, so one full channel stops every writer of the
//! prefix. `Subscriber::drop` and `register` take the write side (so dropping a
//! subscriber whose channel is full deadlocks), and polling its `Future` takes the
//! write side whenever the channel is empty. Per-JS-subscriber sled subscribers
//! cannot be made safe on that basis: one can never be dropped while writers run,
//! and two drained by blocking reads can each wait on a writer stuck on the other.
//!
//! So the binding registers exactly **one** sled subscriber per tree — the tree's
//! [`Hub`], on the empty prefix — and never drops it while the database is open.
//! Its pump thread drains it continuously and fans each event out, by prefix, to the
//! JS subscribers of the tree (queues bounded by `highWaterMark`: past it a subscriber
//! is marked overflowed and its events are discarded, never waited for). Why no
//! writer can block for good:
//! - the hub's channel is the only one under its lock, so a writer holding the read
//!   side waits only on the hub's channel, which the pump empties without any lock;
//! - the pump polls sled's `Future`, whose write-lock path runs only when the hub's
//!   channel is empty: the writers it waits for send into a channel with room;
//! - the hub's subscriber is dropped only after sled dropped its senders (the tree's
//!   last clone went), when nothing can write to it;
//! - closing a JS subscriber only marks its queue; no sled lock is involved.
//!
//! A JS subscriber is added under the hub's lock after the pump's backlog is drained
//! (up to the channel's capacity), so it sees no event of a write that finished before
//! `watchPrefix` was called — unless another write to the tree was still in progress
//! then: sled hands events over in the order writes began.
//!
//! The pump wakes the consumer through its [`Notify`] when a queue stops being empty
//! (the napi crate: a weak threadsafe function, so an idle subscriber never keeps the
//! process alive).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

use crate::children::Child;
use crate::error::{closed, Code, Error, Result};

/// Most events a JS subscriber's `take()` hands over at once.
const TAKE_MAX: usize = 4096;
/// Most events the pump moves per hold of the hub's lock, so `watchPrefix` on another
/// thread never waits long for it.
const PUMP_BATCH: usize = 256;
/// What `watchPrefix` drains before adding its subscriber: sled's channel capacity
/// plus one blocked sender per thread that can be writing.
const BACKLOG_MAX: usize = 1024 + 256;
/// A backstop for the pump's sleep; wake-ups come from sled's wakers.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// How a subscriber wakes its consumer (the napi crate: a threadsafe function that
/// runs on the JS thread). Called by the pump, never with a lock of the hub held.
pub trait Notify: Send + 'static {
    fn notify(&self);
    /// The concrete type, for the binding's own calls on it (keep-alive).
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

enum Phase {
    Open,
    Overflowed,
    Closed,
}

struct Queue {
    events: VecDeque<sled::Event>,
    phase: Phase,
}

/// One JS subscriber: its prefix and the queue the hub fills.
pub struct State {
    prefix: Vec<u8>,
    queue: Mutex<Queue>,
    high_water_mark: usize,
    notify: Mutex<Option<Box<dyn Notify>>>,
    subject: String,
}

impl State {
    pub(crate) fn new(
        prefix: &[u8],
        high_water_mark: u32,
        notify: Option<Box<dyn Notify>>,
        subject: String,
    ) -> Arc<State> {
        Arc::new(State {
            prefix: prefix.to_vec(),
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                phase: Phase::Open,
            }),
            high_water_mark: high_water_mark.max(1) as usize,
            notify: Mutex::new(notify),
            subject,
        })
    }

    /// Every queued event, at most [`TAKE_MAX`] (`None` when none waits); fails once
    /// closed, or once an overflowed subscriber's queue is empty.
    pub fn take(&self, op: &str) -> Result<Option<Vec<sled::Event>>> {
        let mut queue = self.queue.lock();
        if !queue.events.is_empty() {
            // a bounded hand-out keeps what waits in JS small: unread events stay
            // within highWaterMark (native) + TAKE_MAX (JS)
            let n = queue.events.len().min(TAKE_MAX);
            return Ok(Some(queue.events.drain(..n).collect()));
        }
        match queue.phase {
            Phase::Open => Ok(None),
            Phase::Closed => Err(closed(op, &format!("a subscriber of {}", self.subject))),
            Phase::Overflowed => Err(Error::new(
                Code::SubscriberOverflow,
                format!(
                    "subscriber of {}: more than {} events were waiting unread (highWaterMark); later events were not kept",
                    self.subject, self.high_water_mark
                ),
            )),
        }
    }

    /// Runs `f` on the notifier while the subscriber is open.
    pub fn with_notify<R>(&self, f: impl FnOnce(&mut dyn Notify) -> R) -> Option<R> {
        self.notify.lock().as_deref_mut().map(f)
    }

    fn wake(&self) {
        if let Some(notify) = &*self.notify.lock() {
            notify.notify();
        }
    }

    /// Queues `event` when `wanted`, under one hold of the queue's lock. Never waits for
    /// the consumer: past `highWaterMark` the subscriber is overflowed instead.
    fn offer(&self, event: &sled::Event, wanted: bool) -> Offered {
        let mut queue = self.queue.lock();
        match queue.phase {
            Phase::Closed => Offered::Closed,
            Phase::Open if !wanted => Offered::Kept,
            Phase::Open if queue.events.len() >= self.high_water_mark => {
                queue.phase = Phase::Overflowed;
                Offered::Wake
            }
            Phase::Open => {
                queue.events.push_back(event.clone());
                if queue.events.len() == 1 {
                    Offered::Wake
                } else {
                    Offered::Kept
                }
            }
            Phase::Overflowed => Offered::Kept,
        }
    }
}

impl Child for State {
    fn close(&self) {
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

/// What [`State::offer`] did with an event.
enum Offered {
    /// The queue stopped being empty (or overflowed): JS needs a wake-up.
    Wake,
    /// Nothing for JS to learn now.
    Kept,
    /// The subscriber is closed: the hub forgets it.
    Closed,
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

struct HubInner {
    /// The tree's one sled subscriber (empty prefix).
    subscriber: sled::Subscriber,
    subscribers: Vec<Weak<State>>,
    /// sled dropped its senders: the tree is gone.
    ended: bool,
}

/// What one drain did.
enum Drained {
    /// Nothing is ready: sled will wake the pump.
    Idle,
    /// The batch limit was reached with events left.
    More,
    Ended,
}

/// The one sled subscriber of a tree, its pump thread and the JS subscribers it feeds.
pub struct Hub {
    inner: Mutex<HubInner>,
    /// The pump thread's waker: every poll uses it, whoever polls, so sled always
    /// wakes the pump.
    waker: Waker,
}

impl Hub {
    /// Moves up to `max` ready events to the JS subscribers; returns which of them need
    /// a JS wake-up (done by the caller once the hub's lock is released).
    fn drain(&self, inner: &mut HubInner, max: usize, wake: &mut Vec<Arc<State>>) -> Drained {
        let mut cx = Context::from_waker(&self.waker);
        let mut moved = 0;
        let mut pending_once = false;
        while moved < max {
            // sled 0.34.7's poll unwraps its own entry in the senders map, which sled
            // empties just before it drops the senders when the tree goes away: that
            // panic means the same as the end of the stream
            let polled = crate::guard::catching(|| Pin::new(&mut inner.subscriber).poll(&mut cx));
            match polled.unwrap_or(Poll::Ready(None)) {
                Poll::Ready(Some(event)) => {
                    moved += 1;
                    pending_once = false;
                    dispatch(&mut inner.subscribers, &event, wake);
                }
                Poll::Ready(None) => {
                    inner.ended = true;
                    return Drained::Ended;
                }
                // A writer that began its send before sled stored this waker still
                // wakes the waker it read then; its event is in the channel by the
                // time the store completed, so one more poll sees it.
                Poll::Pending if !pending_once => pending_once = true,
                Poll::Pending => return Drained::Idle,
            }
        }
        Drained::More
    }

    fn pump(self: Arc<Self>) {
        let mut wake = Vec::new();
        loop {
            let drained = {
                let mut inner = self.inner.lock();
                self.drain(&mut inner, PUMP_BATCH, &mut wake)
            };
            for state in wake.drain(..) {
                state.wake();
            }
            match drained {
                Drained::More => {}
                Drained::Idle => thread::park_timeout(IDLE_RECHECK),
                // the tree's senders are gone: dropping sled's subscriber now takes a
                // lock nobody else can hold
                Drained::Ended => return,
            }
        }
    }

    /// Adds `state` after handing the backlog to the subscribers already there.
    pub(crate) fn join(&self, state: &Arc<State>) {
        let mut wake = Vec::new();
        {
            let mut inner = self.inner.lock();
            if !inner.ended {
                self.drain(&mut inner, BACKLOG_MAX, &mut wake);
            }
            inner.subscribers.push(Arc::downgrade(state));
        }
        for state in wake {
            state.wake();
        }
    }
}

fn dispatch(subscribers: &mut Vec<Weak<State>>, event: &sled::Event, wake: &mut Vec<Arc<State>>) {
    let key: &[u8] = event.key();
    subscribers.retain(|weak| {
        let Some(state) = weak.upgrade() else {
            return false;
        };
        match state.offer(event, key.starts_with(&state.prefix)) {
            Offered::Closed => false,
            Offered::Wake => {
                wake.push(state);
                true
            }
            Offered::Kept => true,
        }
    });
}

/// The hubs of one database, by tree name.
#[derive(Default)]
pub struct Hubs(Mutex<HashMap<Vec<u8>, Arc<Hub>>>);

impl Hubs {
    /// The hub of `tree` (named `name`), started on first use.
    pub(crate) fn of(&self, name: &[u8], tree: &sled::Tree) -> std::io::Result<Arc<Hub>> {
        let mut hubs = self.0.lock();
        // an ended hub belongs to a tree sled has freed: never join it
        if let Some(hub) = hubs.get(name).filter(|hub| !hub.inner.lock().ended) {
            return Ok(hub.clone());
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Arc<Hub>>(1);
        let pump = thread::Builder::new()
            .name("sled-node-subscriber".into())
            .spawn(move || {
                if let Ok(hub) = ready_rx.recv() {
                    hub.pump();
                }
            })?;
        // registered before this hub exists no writer can be sending to it, so this
        // registration never waits on a full channel
        let hub = Arc::new(Hub {
            inner: Mutex::new(HubInner {
                subscriber: tree.watch_prefix(Vec::<u8>::new()),
                subscribers: Vec::new(),
                ended: false,
            }),
            waker: Waker::from(Arc::new(ThreadWaker(pump.thread().clone()))),
        });
        // the pump thread waits for its hub; a send to it cannot fail while it waits
        let _ = ready_tx.send(hub.clone());
        hubs.insert(name.to_vec(), hub.clone());
        Ok(hub)
    }

    /// Forgets the hub of a dropped tree (its pump ends when sled drops the tree).
    pub fn forget(&self, name: &[u8]) {
        self.0.lock().remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn state(prefix: &[u8], high_water_mark: usize) -> Arc<State> {
        Arc::new(State {
            prefix: prefix.to_vec(),
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                phase: Phase::Open,
            }),
            high_water_mark,
            notify: Mutex::new(None),
            subject: "test".into(),
        })
    }

    /// Runs `f` on a thread; fails the test if it has not finished in 20 s.
    fn within_deadline(f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("deadline passed: a writer was blocked"));
    }

    fn queued(state: &State) -> Vec<Vec<u8>> {
        let queue = state.queue.lock();
        queue.events.iter().map(|e| e.key().to_vec()).collect()
    }

    #[test]
    fn unread_subscribers_never_block_writers_and_overflow_instead() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let hubs = Hubs::default();
        let hub = hubs.of(b"__sled__default", &db).unwrap();
        let unread: Vec<_> = (0..4).map(|_| state(b"", 100)).collect();
        for s in &unread {
            hub.join(s);
        }
        let writer = db.clone();
        // 20 times sled's 1,024-event channel, never read by anyone
        within_deadline(move || {
            for i in 0..20_000u32 {
                writer.insert(i.to_be_bytes(), &[1]).unwrap();
            }
        });
        for s in &unread {
            assert_eq!(queued(s).len(), 100);
            assert!(matches!(s.queue.lock().phase, Phase::Overflowed));
        }
    }

    #[test]
    fn subscribers_joined_and_closed_while_threads_write_never_block_them() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let hubs = Arc::new(Hubs::default());
        let writers: Vec<_> = (0..3u8)
            .map(|w| {
                let db = db.clone();
                thread::spawn(move || {
                    for i in 0..30_000u32 {
                        let mut key = vec![b'k', w];
                        key.extend_from_slice(&i.to_be_bytes());
                        db.insert(key, &[w]).unwrap();
                    }
                })
            })
            .collect();
        let churn_db = db.clone();
        within_deadline(move || {
            for round in 0..300u32 {
                let hub = hubs.of(b"__sled__default", &churn_db).unwrap();
                let all = state(b"", 10);
                let some = state(&[b'k', (round % 3) as u8], 10);
                hub.join(&all);
                hub.join(&some);
                all.close();
                some.close();
            }
        });
        within_deadline(move || {
            for w in writers {
                w.join().unwrap();
            }
        });
    }

    #[test]
    fn a_subscriber_sees_later_writes_in_order_and_only_its_prefix() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let hubs = Hubs::default();
        db.insert(b"a-before", &[0]).unwrap();
        let hub = hubs.of(b"__sled__default", &db).unwrap();
        let early = state(b"a", 1000);
        hub.join(&early);
        db.insert(b"a-1", &[1]).unwrap();
        db.insert(b"b-1", &[1]).unwrap();
        // joined after a-1 finished: must not see it
        let late = state(b"a", 1000);
        hub.join(&late);
        db.insert(b"a-2", &[2]).unwrap();
        db.remove(b"a-1").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queued(&early).len() < 3 && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        let a = |k: &str| k.as_bytes().to_vec();
        assert_eq!(queued(&early), vec![a("a-1"), a("a-2"), a("a-1")]);
        assert_eq!(queued(&late), vec![a("a-2"), a("a-1")]);
    }
}
