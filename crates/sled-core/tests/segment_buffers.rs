//! sled's segment buffers have the shape the addon's allocator keeps (`allocator.rs`):
//! this test binary uses it as its global allocator, as the addon does, so a change of
//! sled's buffer layout that would switch the reuse off fails here.

use std::alloc::{Layout, System};

use sled_core::allocator::ReusingAllocator;

#[global_allocator]
static ALLOCATOR: ReusingAllocator = ReusingAllocator::new(System);

#[test]
fn sleds_segment_buffers_are_kept_for_reuse() {
    assert_eq!(ALLOCATOR.kept(), 0, "nothing kept before sled runs");
    let db = sled::Config::new()
        .temporary(true)
        .open()
        .expect("a temporary database");
    let segment = Layout::from_size_align(512 * 1024, 8192).expect("a layout");
    // sled frees a written segment's buffer through epoch reclamation, which runs when
    // some thread pins the epoch later: not at a fixed point, and not at all once every
    // thread is idle (a check after `drop(db)` failed once in CI, nothing freed yet).
    // So keep writing ~400 KiB of log per round, flushing, until a buffer of sled's
    // default shape is kept; 2,000 rounds (~800 MiB) without one is a failure
    let mut key = 0u32;
    for _ in 0..2_000 {
        for _ in 0..4_000 {
            db.insert(key.to_be_bytes(), vec![7u8; 100])
                .expect("an insert");
            key = key.wrapping_add(1) % 64_000;
        }
        db.flush().expect("a flush");
        if ALLOCATOR.kept_layouts().contains(&Some(segment)) {
            return;
        }
    }
    panic!(
        "no segment buffer of sled's default shape was kept: {:?}",
        ALLOCATOR.kept_layouts()
    );
}
