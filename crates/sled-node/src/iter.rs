//! `NativeIter`: range and prefix iteration, handed to JS in chunks.
//!
//! One native call per entry would cost more than sled's own iteration, so each
//! call returns many entries packed into one Buffer (see [`Chunk`]); the facade
//! unpacks them. Chunks start small (a `first()`-style read stays cheap) and grow.
//!
//! Lifetime: the sled `Iter` lives in a cursor that is a child of its tree's slot,
//! so closing the Db (or dropping the tree) drops it; each fetch holds the tree
//! slot's read lock, so closing the Db waits for a fetch running on the libuv pool.
//!
//! Closing an iterator never waits. A fetch holds the cursor's lock while it steps
//! sled's iterator, and each step takes sled's concurrency-control read lock, which a
//! transaction holds for writing while its JS callback runs: a fetch on the pool can
//! so wait for a callback on the JS thread, and a close from that callback that waited
//! for the cursor would never return. `close()` sets `closing` and drops sled's
//! iterator only if the cursor is free; otherwise the fetch holding it drops it as it
//! lets go (see [`IterState::release`]).

use std::ops::Bound;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Either, ObjectFinalize, ToNapiValue, TypeName};
use napi::{sys, Env, Result, Task, ValueType};
use napi_derive::napi;
use parking_lot::Mutex;
use sled_core::error::Result as CoreResult;

use crate::boundary::{catch_panic, guard};
use crate::js_error::settle;
use sled_core::error::{closed, from_sled};
use sled_core::slot::{Child, Slot};

const FIRST_CHUNK: usize = 16;
const MAX_CHUNK: usize = 4096;
/// A chunk stops growing past this many bytes, so big values are not batched by the thousand.
const MAX_CHUNK_BYTES: usize = 1 << 20;

struct Cursor {
    /// `None` once exhausted.
    iter: Option<sled::Iter>,
    reverse: bool,
    remaining: u64,
    next_size: usize,
}

pub struct IterState {
    tree: Arc<Slot>,
    cursor: Mutex<Cursor>,
    /// A chunk read before it was asked for (or the error reading it gave), handed out
    /// by the next fetch: the first chunk, when `begin` read it before handing the
    /// iterator to JS, or one read ahead on the pool during async iteration.
    ready: Mutex<Option<CoreResult<Option<Chunk>>>>,
    /// Set by `close()`; later fetches fail, and sled's iterator goes with the cursor's
    /// next holder.
    closing: AtomicBool,
}

impl Child for IterState {
    fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.release();
    }
}

impl IterState {
    /// Once closing, drops sled's iterator and any chunk read ahead, if the cursor is
    /// free. Called by `close()` and by every fetch after it lets the cursor go: with a
    /// fence between each side's write (the flag; the unlock) and its read (the lock;
    /// the flag), one of the two sees the other's, so the iterator is always dropped,
    /// by whoever holds the cursor last.
    fn release(&self) {
        fence(Ordering::SeqCst);
        if !self.closing.load(Ordering::SeqCst) {
            return;
        }
        if let Some(mut cursor) = self.cursor.try_lock() {
            cursor.iter = None;
            // locks taken in this order (cursor, then ready) wherever both are held
            self.ready.lock().take();
        }
    }
}

/// Entries packed as `[count u32] ([key len u32][value len u32][key][value])*`, little-endian.
/// Entries read in one fetch; `last` when the iteration ended with them (the facade then
/// makes no further fetch).
pub struct Chunk {
    entries: Vec<(sled::IVec, sled::IVec)>,
    last: bool,
}

/// Set in a packed chunk's count word when it is the last chunk.
const LAST: u32 = 1 << 31;

impl ToNapiValue for Chunk {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let size = 4 + val
            .entries
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
        crate::bytes::packed_buffer(env, size, "entries", |out| {
            // at most MAX_CHUNK entries: the count never reaches the LAST bit
            let count = val.entries.len() as u32 | if val.last { LAST } else { 0 };
            out.put(&count.to_le_bytes());
            for (k, v) in &val.entries {
                out.len(k);
                out.len(v);
                out.put(k);
                out.put(v);
            }
        })
    }
}

impl TypeName for Chunk {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// Bounds of a range read, as the facade normalised them.
#[napi(object)]
pub struct RangeSpec {
    pub lower: Option<napi::bindgen_prelude::Uint8Array>,
    pub lower_inclusive: bool,
    pub upper: Option<napi::bindgen_prelude::Uint8Array>,
    pub upper_inclusive: bool,
    pub reverse: bool,
    /// Maximum number of entries; absent means all.
    pub limit: Option<f64>,
}

fn bound(key: Option<&[u8]>, inclusive: bool) -> Bound<Vec<u8>> {
    match key {
        None => Bound::Unbounded,
        Some(k) if inclusive => Bound::Included(k.to_vec()),
        Some(k) => Bound::Excluded(k.to_vec()),
    }
}

/// An empty or inverted range (`{ gt: x, lt: x }`, `{ gte: 'b', lt: 'a' }`) has no
/// entries; checked here because sled's behaviour on inverted bounds is unspecified.
fn is_empty_range(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

fn limit_of(limit: Option<f64>) -> u64 {
    match limit {
        Some(n) if n.is_finite() && n >= 0.0 => n as u64,
        _ => u64::MAX,
    }
}

impl IterState {
    pub fn range(tree: &Arc<Slot>, spec: &RangeSpec) -> CoreResult<Arc<IterState>> {
        let lo = bound(spec.lower.as_deref(), spec.lower_inclusive);
        let hi = bound(spec.upper.as_deref(), spec.upper_inclusive);
        let empty = is_empty_range(&lo, &hi);
        Self::start(
            tree,
            "range",
            spec.reverse,
            limit_of(spec.limit),
            move |t| (!empty).then(|| t.range::<Vec<u8>, _>((lo, hi))),
        )
    }

    pub fn prefix(
        tree: &Arc<Slot>,
        prefix: &[u8],
        reverse: bool,
        limit: Option<f64>,
    ) -> CoreResult<Arc<IterState>> {
        Self::start(tree, "scanPrefix", reverse, limit_of(limit), |t| {
            Some(t.scan_prefix(prefix))
        })
    }

    fn start(
        tree: &Arc<Slot>,
        op: &str,
        reverse: bool,
        remaining: u64,
        make: impl FnOnce(&sled::Tree) -> Option<sled::Iter>,
    ) -> CoreResult<Arc<IterState>> {
        tree.with_tree(op, |t| {
            let state = Arc::new(IterState {
                tree: tree.clone(),
                cursor: Mutex::new(Cursor {
                    iter: if remaining == 0 { None } else { make(t) },
                    reverse,
                    remaining,
                    // a limited range reads up to its limit in one chunk; an open one
                    // starts small, for callers that stop after a few entries
                    next_size: if remaining == u64::MAX {
                        FIRST_CHUNK
                    } else {
                        (remaining as usize).clamp(1, MAX_CHUNK)
                    },
                }),
                ready: Mutex::new(None),
                closing: AtomicBool::new(false),
            });
            let child: Arc<dyn Child> = state.clone();
            tree.adopt(Arc::downgrade(&child));
            Ok(state)
        })
    }

    /// The next entries, or `None` when the iteration is over.
    fn next_chunk(&self, op: &str) -> CoreResult<Option<Chunk>> {
        // under the slot's read lock, so closing the Db finds sled's iterator dropped
        self.tree.with_tree(op, |_| {
            let read = self.read_chunk(op);
            self.release();
            read
        })
    }

    /// [`IterState::next_chunk`]'s work, with the cursor held.
    fn read_chunk(&self, op: &str) -> CoreResult<Option<Chunk>> {
        let mut cursor = self.cursor.lock();
        if self.closing.load(Ordering::SeqCst) {
            return Err(closed(op, &format!("an iterator of {}", self.tree.subject)));
        }
        // locks taken in this order (cursor, then ready) wherever both are held
        if let Some(ready) = self.ready.lock().take() {
            return ready;
        }
        self.step(&mut cursor, op)
    }

    /// Reads the chunk after the one being consumed into `ready`, unless one is there,
    /// the iteration is over or closing. An error (the tree dropped meanwhile, sled's)
    /// is kept for the next fetch to throw; one that stopped the read before it
    /// started (the slot closed) is met again by that fetch.
    fn read_ahead(&self, op: &str) {
        let _ = self.tree.with_tree(op, |_| -> CoreResult<()> {
            {
                let mut cursor = self.cursor.lock();
                if !self.closing.load(Ordering::SeqCst)
                    && cursor.iter.is_some()
                    && self.ready.lock().is_none()
                {
                    let read = catch_panic(op, || self.step(&mut cursor, op));
                    *self.ready.lock() = Some(read);
                }
            }
            self.release();
            Ok(())
        });
    }

    /// The next chunk from sled's iterator, with the cursor held.
    fn step(&self, cursor: &mut Cursor, op: &str) -> CoreResult<Option<Chunk>> {
        let want = (cursor.next_size as u64).min(cursor.remaining) as usize;
        let mut entries = Vec::with_capacity(want);
        let mut bytes = 0;
        let reverse = cursor.reverse;
        let Some(iter) = cursor.iter.as_mut() else {
            return Ok(None);
        };
        while entries.len() < want && bytes < MAX_CHUNK_BYTES {
            let next = if reverse {
                iter.next_back()
            } else {
                iter.next()
            };
            match next {
                Some(Ok((k, v))) => {
                    bytes += k.len() + v.len();
                    entries.push((k, v));
                }
                Some(Err(e)) => return Err(from_sled(op, &self.tree.subject, e)),
                None => break,
            }
        }
        cursor.remaining -= entries.len() as u64;
        if entries.len() < want && bytes < MAX_CHUNK_BYTES || cursor.remaining == 0 {
            // exhausted: drop sled's iterator now rather than at GC
            cursor.iter = None;
        }
        cursor.next_size = (cursor.next_size * 4).min(MAX_CHUNK);
        Ok(if entries.is_empty() {
            None
        } else {
            Some(Chunk {
                entries,
                last: cursor.iter.is_none(),
            })
        })
    }
}

/// What the first fetch of a new iteration gives JS: all of it, in one last chunk (no
/// iterator object is made: most short ranges end here), or an iterator that returns
/// the chunk already read on its first `nextChunk()`.
pub type First = Either<Chunk, NativeIter>;

impl IterState {
    /// A new iteration for JS: with `read_first`, its first chunk read now (see
    /// [`First`]); without, the iterator, which has read nothing yet.
    pub fn begin(state: Arc<IterState>, read_first: bool) -> CoreResult<First> {
        if !read_first {
            return Ok(Either::B(NativeIter::new(state)));
        }
        match state.next_chunk("iterator next")? {
            None => Ok(Either::A(Chunk {
                entries: Vec::new(),
                last: true,
            })),
            Some(chunk) if chunk.last => Ok(Either::A(chunk)),
            Some(chunk) => {
                *state.ready.lock() = Some(Ok(Some(chunk)));
                // closed meanwhile (its tree dropped by another thread): not kept till GC
                state.release();
                Ok(Either::B(NativeIter::new(state)))
            }
        }
    }
}

#[napi(custom_finalize)]
pub struct NativeIter {
    state: Arc<IterState>,
}

impl NativeIter {
    pub fn new(state: Arc<IterState>) -> NativeIter {
        NativeIter { state }
    }
}

#[napi]
impl NativeIter {
    /// The next chunk of entries, or null at the end.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn next_chunk(&self) -> Result<Option<Chunk>> {
        guard("iterator next", || self.state.next_chunk("iterator next"))
    }

    /// `nextChunk` on the libuv pool.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn next_chunk_async(&self) -> Result<AsyncTask<ChunkTask>> {
        guard("iterator next", || {
            CoreResult::Ok(AsyncTask::new(ChunkTask {
                state: self.state.clone(),
            }))
        })
    }

    /// Starts reading the next chunk on the libuv pool, for the next fetch to hand out
    /// (async iteration asks for it as it starts on a chunk, so sled's iteration runs
    /// while JS takes the entries). Resolves once read; never rejects (an error is the
    /// next fetch's).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn read_ahead(&self) -> Result<AsyncTask<ReadAheadTask>> {
        guard("iterator next", || {
            CoreResult::Ok(AsyncTask::new(ReadAheadTask {
                state: self.state.clone(),
            }))
        })
    }

    /// Frees sled's iterator now; later fetches throw SLED_CLOSED.
    #[napi]
    pub fn close(&self) {
        self.state.close();
    }
}

impl ObjectFinalize for NativeIter {
    fn finalize(self, _env: Env) -> Result<()> {
        // never waits (see the module's doc), so also safe inside a transaction callback
        self.state.close();
        Ok(())
    }
}

pub struct ChunkTask {
    state: Arc<IterState>,
}

pub struct ReadAheadTask {
    state: Arc<IterState>,
}

impl Task for ReadAheadTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<Self::Output> {
        self.state.read_ahead("iterator next");
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _output: Self::Output) -> Result<Self::JsValue> {
        Ok(())
    }
}

impl Task for ChunkTask {
    type Output = CoreResult<Option<Chunk>>;
    type JsValue = Option<Chunk>;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(catch_panic("iterator next", || {
            self.state.next_chunk("iterator next")
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        settle(&env, output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(k: &[u8]) -> Bound<Vec<u8>> {
        Bound::Included(k.to_vec())
    }
    fn exc(k: &[u8]) -> Bound<Vec<u8>> {
        Bound::Excluded(k.to_vec())
    }

    #[test]
    fn empty_and_inverted_ranges() {
        assert!(is_empty_range(&inc(b"b"), &inc(b"a")));
        assert!(!is_empty_range(&inc(b"a"), &inc(b"a")));
        assert!(is_empty_range(&inc(b"a"), &exc(b"a")));
        assert!(is_empty_range(&exc(b"a"), &inc(b"a")));
        assert!(!is_empty_range(&exc(b"a"), &exc(b"b")));
        assert!(!is_empty_range(&Bound::Unbounded, &exc(b"")));
    }

    #[test]
    fn limits() {
        assert_eq!(limit_of(None), u64::MAX);
        assert_eq!(limit_of(Some(3.0)), 3);
        assert_eq!(limit_of(Some(f64::INFINITY)), u64::MAX);
    }
}
