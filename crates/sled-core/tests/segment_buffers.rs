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
    // ~4 MiB of log: several 512 KiB segments written out, their buffers freed (sled
    // frees them through epoch reclamation; eight flushes give it many chances)
    for i in 0..32_000u32 {
        db.insert(i.to_be_bytes(), vec![7u8; 100])
            .expect("an insert");
        if i % 4_000 == 0 {
            db.flush().expect("a flush");
        }
    }
    db.flush().expect("a flush");
    drop(db);
    // sled's background threads may still free buffers: look for its default shape
    let segment = Layout::from_size_align(512 * 1024, 8192).expect("a layout");
    assert!(
        ALLOCATOR.kept_layouts().contains(&Some(segment)),
        "no segment buffer of sled's default shape was kept: {:?}",
        ALLOCATOR.kept_layouts()
    );
}
