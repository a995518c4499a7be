//! The addon's global allocator: Rust's system allocator, except that up to [`KEPT`]
//! freed blocks of the shape of sled's segment buffers are kept for the next segment.
//!
//! sled writes through one buffer per log segment (`IoBuf`: 512 KiB by default, aligned
//! to 8 KiB), allocated when a segment starts and freed once it is written out. glibc
//! serves an aligned request that size from its heap when the heap has room, or else
//! with a fresh `mmap`, given back with `munmap` when freed. glibc then raises its mmap
//! threshold, but only to the freed block's usable size, which for an aligned block
//! stays below the request that mapped it: once segment buffers are mapped, every later
//! one is too, and each of its pages faults again on first write. In a Node process,
//! whose heap V8 and Node share, that is what happens; in a plain Rust process such as
//! the benchmark's `sled-native` the buffers come from the heap. Measured on the 2-core
//! test VM, a 250,000-entry fill through sled-node: ~460 maps and unmaps of a segment
//! buffer and ~90,000 page faults, against ~29,000 with this allocator and ~21,000 in
//! `sled-native` (which runs no faster with it).
//!
//! Only blocks aligned beyond what `malloc` guarantees and between [`KEEP_FROM`] and
//! [`KEEP_UP_TO`] bytes are kept (in the addon: sled's segment buffers, and no other
//! allocation of sled, its dependencies or ours has that shape), each handed out again
//! only for the same size and alignment. The slots are process-wide, shared by every
//! database and worker thread. A block freed while the slots are full replaces one of
//! another shape (a database with another `segmentSize` closed), so the shape in use
//! wins; the process holds at most `KEPT × KEEP_UP_TO` bytes it does not use.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks from this size on may be kept (glibc's default mmap threshold).
pub const KEEP_FROM: usize = 128 * 1024;
/// Blocks up to this size may be kept (a segment size of up to 2 MiB).
pub const KEEP_UP_TO: usize = 2 * 1024 * 1024;
/// Freed blocks kept at most. sled allocates a segment's buffer before the previous one
/// is freed, and frees that one later through its epoch-based reclamation, possibly on
/// another thread. With two, the fill measured above mapped 9 segment buffers instead of
/// ~460 (one database writing).
pub const KEPT: usize = 2;

#[derive(Clone, Copy)]
struct Block {
    at: NonNull<u8>,
    layout: Layout,
}

type Slots = [Option<Block>; KEPT];

/// `inner` (the system allocator in the addon) with a few freed segment-sized blocks
/// kept for reuse.
pub struct ReusingAllocator<A: GlobalAlloc = System> {
    inner: A,
    /// A spin lock over `slots`: held for a few comparisons, never while allocating,
    /// calling out or waiting. Not `std::sync::Mutex`, which on some targets allocates
    /// on first use, through this allocator.
    locked: AtomicBool,
    slots: UnsafeCell<Slots>,
}

// SAFETY: `slots` is only touched with `locked` held (or through `&mut self`), and a
// block in it is owned by the allocator, not by a thread
unsafe impl<A: GlobalAlloc + Sync> Sync for ReusingAllocator<A> {}
// SAFETY: as above; the kept blocks move with the allocator
unsafe impl<A: GlobalAlloc + Send> Send for ReusingAllocator<A> {}

impl<A: GlobalAlloc> ReusingAllocator<A> {
    pub const fn new(inner: A) -> ReusingAllocator<A> {
        ReusingAllocator {
            inner,
            locked: AtomicBool::new(false),
            slots: UnsafeCell::new([None; KEPT]),
        }
    }

    /// How many freed blocks are kept now.
    pub fn kept(&self) -> usize {
        self.with_slots(|slots| slots.iter().flatten().count())
    }

    /// The layouts of the blocks kept now.
    pub fn kept_layouts(&self) -> [Option<Layout>; KEPT] {
        self.with_slots(|slots| slots.map(|b| b.map(|b| b.layout)))
    }

    fn with_slots<T>(&self, f: impl FnOnce(&mut Slots) -> T) -> T {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // wait on a plain load; after a while give the core to the holder, which
            // may have been preempted (sched_yield allocates nothing)
            while self.locked.load(Ordering::Relaxed) {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        // SAFETY: the lock is held; `f` only compares and moves slot values
        let out = f(unsafe { &mut *self.slots.get() });
        self.locked.store(false, Ordering::Release);
        out
    }
}

/// Whether a block of this layout may be kept: `malloc` aligns to 16 on the 64-bit
/// targets we ship, and Rust's `System` uses it (not the aligned path) up to that.
fn keepable(layout: Layout) -> bool {
    layout.align() > 16 && (KEEP_FROM..=KEEP_UP_TO).contains(&layout.size())
}

// SAFETY: every block handed out is either `inner`'s, allocated with the caller's
// layout, or one freed with that same layout and kept (owned by the slots until handed
// out again, and taken out of its slot under the lock, so never to two callers); every
// block given back to `inner` is freed with the layout it was allocated with
unsafe impl<A: GlobalAlloc> GlobalAlloc for ReusingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if keepable(layout) {
            let reused = self.with_slots(|slots| {
                slots
                    .iter_mut()
                    .find(|b| b.is_some_and(|b| b.layout == layout))
                    .and_then(Option::take)
            });
            if let Some(block) = reused {
                return block.at.as_ptr();
            }
        }
        // SAFETY: the caller's layout, as received
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (Some(at), true) = (NonNull::new(ptr), keepable(layout)) else {
            // SAFETY: a block of `inner`'s with this layout (see the impl's comment)
            return unsafe { self.inner.dealloc(ptr, layout) };
        };
        let freed = Block { at, layout };
        // into an empty slot, else in place of a block of another shape, else not kept
        let given_back = self.with_slots(|slots| {
            if let Some(slot) = slots.iter_mut().find(|b| b.is_none()) {
                *slot = Some(freed);
                return None;
            }
            match slots
                .iter_mut()
                .find(|b| b.is_some_and(|b| b.layout != layout))
            {
                Some(slot) => slot.replace(freed),
                None => Some(freed),
            }
        });
        if let Some(block) = given_back {
            // SAFETY: as above; freed after the lock is released
            unsafe { self.inner.dealloc(block.at.as_ptr(), block.layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as received (a kept block would need zeroing;
        // sled does not ask for zeroed segment buffers)
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: a block of `inner`'s with this layout (see the impl's comment); the
        // block returned is `inner`'s with the new size and this alignment
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

impl<A: GlobalAlloc> Drop for ReusingAllocator<A> {
    fn drop(&mut self) {
        for block in self.slots.get_mut().iter_mut().filter_map(Option::take) {
            // SAFETY: a kept block, `inner`'s, with the layout it was allocated with
            unsafe { self.inner.dealloc(block.at.as_ptr(), block.layout) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::thread;

    const SEGMENT: usize = 512 * 1024;

    fn segment() -> Layout {
        Layout::from_size_align(SEGMENT, 8192).unwrap()
    }

    /// System, checking that every block is freed once, with the layout it was
    /// allocated with; `live()` counts the blocks not freed.
    #[derive(Default)]
    struct Checked(Mutex<HashMap<usize, Layout>>);

    impl Checked {
        fn live(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    unsafe impl GlobalAlloc for Checked {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            assert!(self.0.lock().unwrap().insert(p as usize, layout).is_none());
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let allocated = self.0.lock().unwrap().remove(&(ptr as usize));
            assert_eq!(allocated, Some(layout), "freed once, with its own layout");
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    fn checked() -> ReusingAllocator<Checked> {
        ReusingAllocator::new(Checked::default())
    }

    #[test]
    fn a_freed_segment_buffer_is_handed_out_again_for_the_same_layout() {
        let a = checked();
        unsafe {
            let p = a.alloc(segment());
            assert!(!p.is_null());
            a.dealloc(p, segment());
            assert_eq!(a.kept(), 1);
            let q = a.alloc(segment());
            assert_eq!(p, q);
            assert_eq!(a.kept(), 0);
            a.dealloc(q, segment());
        }
    }

    #[test]
    fn a_kept_block_is_not_handed_out_for_another_size_or_alignment() {
        let a = checked();
        let other_size = Layout::from_size_align(SEGMENT * 2, 8192).unwrap();
        let other_align = Layout::from_size_align(SEGMENT, 4096).unwrap();
        unsafe {
            let p = a.alloc(segment());
            a.dealloc(p, segment());
            let q = a.alloc(other_size);
            let r = a.alloc(other_align);
            assert_ne!(q, p);
            assert_ne!(r, p);
            assert_eq!(a.kept(), 1, "the segment-sized block stays kept");
            a.dealloc(q, other_size);
            a.dealloc(r, other_align);
        }
    }

    #[test]
    fn at_most_kept_blocks_are_kept_and_the_others_are_freed() {
        let a = checked();
        unsafe {
            let blocks: Vec<_> = (0..KEPT + 2).map(|_| a.alloc(segment())).collect();
            for &p in &blocks {
                a.dealloc(p, segment());
            }
        }
        assert_eq!(a.kept(), KEPT);
        assert_eq!(
            a.inner.live(),
            KEPT,
            "only the kept blocks are still allocated"
        );
    }

    #[test]
    fn a_block_of_the_shape_in_use_replaces_one_of_another_shape() {
        let a = checked();
        let old = Layout::from_size_align(SEGMENT * 2, 8192).unwrap();
        unsafe {
            // a database with 1 MiB segments closed, leaving its buffers kept
            let olds: Vec<_> = (0..KEPT).map(|_| a.alloc(old)).collect();
            for &p in &olds {
                a.dealloc(p, old);
            }
            let p = a.alloc(segment());
            a.dealloc(p, segment());
            assert_eq!(a.kept(), KEPT);
            let held = |at: *mut u8| a.inner.0.lock().unwrap().contains_key(&(at as usize));
            assert!(held(p), "the new shape was kept, not freed");
            assert_eq!(olds.iter().filter(|&&o| held(o)).count(), KEPT - 1);
            assert_eq!(a.alloc(segment()), p);
            a.dealloc(p, segment());
        }
        assert_eq!(a.inner.live(), KEPT);
    }

    #[test]
    fn small_large_or_malloc_aligned_blocks_are_never_kept() {
        let a = checked();
        let layouts = [
            Layout::from_size_align(SEGMENT, 16).unwrap(),
            Layout::from_size_align(KEEP_FROM - 1, 8192).unwrap(),
            Layout::from_size_align(KEEP_UP_TO + 1, 8192).unwrap(),
            Layout::from_size_align(64, 64).unwrap(),
        ];
        for layout in layouts {
            unsafe {
                let p = a.alloc(layout);
                a.dealloc(p, layout);
            }
            assert_eq!(a.kept(), 0, "{layout:?}");
        }
        assert_eq!(a.inner.live(), 0);
    }

    #[test]
    fn a_reused_block_can_be_reallocated_and_freed() {
        let a = checked();
        unsafe {
            let p = a.alloc(segment());
            a.dealloc(p, segment());
            let q = a.alloc(segment());
            std::ptr::write_bytes(q, 7, 16);
            // the default realloc: a new block of the new size, the old one freed
            let r = a.realloc(q, segment(), SEGMENT * 2);
            assert_eq!(std::slice::from_raw_parts(r, 16), &[7; 16]);
            a.dealloc(r, Layout::from_size_align(SEGMENT * 2, 8192).unwrap());
        }
        // the larger block is kept now; nothing else is allocated
        assert_eq!(a.inner.live(), a.kept());
    }

    #[test]
    fn dropping_the_allocator_frees_the_kept_blocks() {
        let inner = Arc::new(Checked::default());
        struct Shared(Arc<Checked>);
        unsafe impl GlobalAlloc for Shared {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                unsafe { self.0.alloc(layout) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                unsafe { self.0.dealloc(ptr, layout) }
            }
        }
        let a = ReusingAllocator::new(Shared(inner.clone()));
        unsafe {
            let p = a.alloc(segment());
            a.dealloc(p, segment());
        }
        assert_eq!(inner.live(), 1);
        drop(a);
        assert_eq!(inner.live(), 0);
    }

    #[test]
    fn alloc_zeroed_never_hands_out_a_dirty_kept_block() {
        let a = checked();
        unsafe {
            let p = a.alloc(segment());
            std::ptr::write_bytes(p, 0xAB, SEGMENT);
            a.dealloc(p, segment());
            let z = a.alloc_zeroed(segment());
            assert!(std::slice::from_raw_parts(z, SEGMENT)
                .iter()
                .all(|&b| b == 0));
            a.dealloc(z, segment());
        }
    }

    #[test]
    fn threads_never_share_a_block() {
        // each thread stamps its block with its own byte and checks it before freeing:
        // a block handed to two threads at once would show the other's stamp
        let a = Arc::new(checked());
        let threads: Vec<_> = (1..=4u8)
            .map(|stamp| {
                let a = a.clone();
                thread::spawn(move || {
                    for _ in 0..2_000 {
                        unsafe {
                            let p = a.alloc(segment());
                            std::ptr::write_bytes(p, stamp, 4096);
                            thread::yield_now();
                            let page = std::slice::from_raw_parts(p, 4096);
                            assert!(page.iter().all(|&b| b == stamp));
                            a.dealloc(p, segment());
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(a.kept() <= KEPT);
        assert_eq!(a.inner.live(), a.kept());
    }
}
