//! sled's segment buffers have the shape the addon's allocator keeps (`allocator.rs`):
//! this test binary uses it as its global allocator, as the addon does, so a change of
//! sled's buffer layout that would switch the reuse off fails here.

use std::alloc::System;

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
    // ~4 MiB of log: several 512 KiB segments written out, their buffers freed
    for i in 0..32_000u32 {
        db.insert(i.to_be_bytes(), vec![7u8; 100])
            .expect("an insert");
        if i % 4_000 == 0 {
            db.flush().expect("a flush");
        }
    }
    db.flush().expect("a flush");
    drop(db);
    assert!(ALLOCATOR.kept() > 0, "no segment buffer was kept");
}
