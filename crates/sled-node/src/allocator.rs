//! The addon's global allocator (mimalloc), and the arena it is given when the addon loads.

/// Every allocation of Rust code in the addon — sled's pages, nodes and log buffers, and
/// ours — comes from mimalloc instead of the C library's `malloc`. sled allocates on every
/// call (a page's access record, a node it copies to change it), and in the 2-core test
/// VM's 1,000,000-entry store mimalloc made the addon's in-order `insert` ~1.6×, random
/// `insert` ~1.3× and random `get` ~1.07× as fast as with glibc's `malloc`. It also reuses
/// sled's 512 KiB log segment buffers, which glibc mapped and unmapped afresh for each
/// segment in a Node process (an allocator layer of ours kept two of them until then). It
/// speeds up sled in Rust as much or more (bench/README.md: the `sled-native-mimalloc`
/// baseline), so it is no gain over sled, only over the allocator.
/// JS and Node keep their own allocator; a Buffer made from Rust memory is freed by Rust's
/// (this one) when the GC collects it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What mimalloc reserves for its first arena by default on 64-bit systems (its
/// `arena_reserve` option): address space only, backed by memory as it is touched.
#[cfg(target_os = "linux")]
const ARENA_BYTES: usize = 1 << 30;

/// Reserves mimalloc's first arena when the addon loads, with transparent huge pages
/// allowed (`madvise(MADV_HUGEPAGE)`), as mimalloc itself reserves it in a Rust program.
///
/// mimalloc reserves an arena when a segment first needs one, and allows huge pages in it
/// only if that segment did. A thread's first segment does not (mimalloc commits it
/// lazily, its `eager_commit_delay`), and in the addon, loaded with `dlopen`, that segment
/// was the one that reserved the arena: every page of sled's then sat on 4 KiB pages
/// (`/proc/<pid>/smaps`: no `hg` flag on the arena, 26 MB of huge pages in all), while
/// `sled-native-mimalloc` had 246 MB of its 300 MB on 2 MiB pages. sled's lookups walk
/// memory at random, so each one missed the TLB more: in the 2-core VM's 1,000,000-entry
/// `mixed` load a Rust loop over sled inside Node (no JS per call) ran at 325k ops/s
/// against the same loop's 445k in `sled-native-mimalloc`, and the whole `mixed` load of
/// the binding went from ~270k to ~305–345k ops/s with this arena.
///
/// Linux only: THP is a Linux feature, and committing on Windows would charge the whole
/// reservation at once. Memory is committed (the prerequisite for huge pages in mimalloc)
/// only where the kernel overcommits, as mimalloc's own `arena_eager_commit` rule does:
/// under `vm.overcommit_memory = 2` a committed gigabyte would count against the limit at
/// once, so there the arena is left to mimalloc. A failed reservation changes nothing.
#[cfg(target_os = "linux")]
#[napi_derive::module_init]
fn reserve_arena() {
    let overcommits = std::fs::read("/proc/sys/vm/overcommit_memory")
        .is_ok_and(|mode| matches!(mode.first(), Some(b'0' | b'1')));
    if overcommits {
        // SAFETY: a call into the statically linked mimalloc, which is initialized on first
        // use; the arena id is not wanted (null is allowed)
        unsafe {
            libmimalloc_sys::mi_reserve_os_memory_ex(
                ARENA_BYTES,
                true,
                true,
                false,
                std::ptr::null_mut(),
            );
        }
    }
}
