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
//! [`KEEP_UP_TO`] bytes are kept (in the addon, sled's segment buffers and nothing
//! else), each handed out again only for the same size and alignment. So the process
//! holds at most `KEPT × KEEP_UP_TO` bytes it is not using, after every database closed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::{Mutex, MutexGuard};

/// Blocks from this size on may be kept (glibc's default mmap threshold).
pub const KEEP_FROM: usize = 128 * 1024;
/// Blocks up to this size may be kept (a segment size of up to 2 MiB).
pub const KEEP_UP_TO: usize = 2 * 1024 * 1024;
/// Freed blocks kept at most: sled has one segment buffer being filled and at most one
/// being written out.
pub const KEPT: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Block {
    at: usize,
    size: usize,
    align: usize,
}

/// The system allocator with a few freed segment-sized blocks kept for reuse.
pub struct ReusingAllocator {
    /// Held only to look at or change these slots: no allocation, no call, no wait.
    kept: Mutex<[Option<Block>; KEPT]>,
}

impl ReusingAllocator {
    pub const fn new() -> ReusingAllocator {
        ReusingAllocator {
            kept: Mutex::new([None; KEPT]),
        }
    }

    /// How many freed blocks are kept now.
    pub fn kept(&self) -> usize {
        self.slots().iter().flatten().count()
    }

    fn slots(&self) -> MutexGuard<'_, [Option<Block>; KEPT]> {
        // nothing panics while the lock is held, so a poisoned lock's data is whole
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ReusingAllocator {
    fn drop(&mut self) {
        for block in self.slots().iter_mut().filter_map(Option::take) {
            // SAFETY: a kept block, System's, allocated with this size and alignment
            unsafe {
                let layout = Layout::from_size_align_unchecked(block.size, block.align);
                System.dealloc(block.at as *mut u8, layout)
            }
        }
    }
}

impl Default for ReusingAllocator {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a block of this layout may be kept: `malloc` aligns to 16 on the 64-bit
/// targets we ship, and Rust's `System` uses it (not the aligned path) up to that.
fn keepable(layout: Layout) -> bool {
    layout.align() > 16 && (KEEP_FROM..=KEEP_UP_TO).contains(&layout.size())
}

// SAFETY: every block handed out is either System's, allocated with this layout, or
// one that was freed with this same layout and kept (owned by `kept` until handed out
// again, never twice: it is taken out of its slot under the lock)
unsafe impl GlobalAlloc for ReusingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if keepable(layout) {
            let mut slots = self.slots();
            let fits = |b: &Option<Block>| {
                b.is_some_and(|b| b.size == layout.size() && b.align == layout.align())
            };
            if let Some(block) = slots.iter_mut().find(|b| fits(b)).and_then(Option::take) {
                return block.at as *mut u8;
            }
        }
        // SAFETY: the caller's layout, as received
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if keepable(layout) {
            let mut slots = self.slots();
            if let Some(slot) = slots.iter_mut().find(|b| b.is_none()) {
                *slot = Some(Block {
                    at: ptr as usize,
                    size: layout.size(),
                    align: layout.align(),
                });
                return;
            }
        }
        // SAFETY: a block of System's with this layout (see the impl's comment)
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as received (calloc: a kept block is not zeroed)
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: a block of System's with this layout (see the impl's comment)
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const SEGMENT: usize = 512 * 1024;

    fn segment() -> Layout {
        Layout::from_size_align(SEGMENT, 8192).unwrap()
    }

    #[test]
    fn a_freed_segment_buffer_is_handed_out_again_for_the_same_layout() {
        let a = ReusingAllocator::new();
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
        let a = ReusingAllocator::new();
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
    fn at_most_kept_blocks_are_kept() {
        let a = ReusingAllocator::new();
        unsafe {
            let blocks: Vec<_> = (0..KEPT + 2).map(|_| a.alloc(segment())).collect();
            for &p in &blocks {
                a.dealloc(p, segment());
            }
            assert_eq!(a.kept(), KEPT);
        }
    }

    #[test]
    fn small_large_or_malloc_aligned_blocks_are_never_kept() {
        let a = ReusingAllocator::new();
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
    }

    #[test]
    fn alloc_zeroed_never_hands_out_a_dirty_kept_block() {
        let a = ReusingAllocator::new();
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
        let a = Arc::new(ReusingAllocator::new());
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
    }
}
