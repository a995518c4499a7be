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

/// mimalloc's `mi_option_arena_reserve` (its place in `mi_option_t`, mimalloc.h of the v2
/// sources libmimalloc-sys builds, which declares no constant for it): the size, in KiB, of
/// the arena mimalloc reserves when it first needs one (1 GiB on 64-bit systems by default,
/// `MIMALLOC_ARENA_RESERVE` in the environment). A test below checks the default.
#[cfg(target_os = "linux")]
const ARENA_RESERVE_OPTION: libmimalloc_sys::mi_option_t = 23;

/// Reserves mimalloc's first arena when the addon loads, with transparent huge pages
/// allowed (`madvise(MADV_HUGEPAGE)`), as mimalloc reserves it by itself in a Rust program.
///
/// mimalloc reserves an arena when a segment first needs one, and allows huge pages in it
/// only if that segment did. Once a process has more than one thread, a thread's first
/// segment does not (mimalloc commits it lazily, its `eager_commit_delay`). In a Rust
/// program the main thread's first segment reserves the arena while it is the only
/// thread, so huge pages are allowed. In the addon, loaded with `dlopen`, the main thread's
/// first segment came from the OS while mimalloc was still starting (no arena), and the
/// arena was reserved by the first segment of sled's log flusher thread, without huge
/// pages (seen in gdb at `mi_reserve_os_memory_ex`). So every page of sled's sat on 4 KiB
/// pages (`/proc/<pid>/smaps`: no `hg` flag on the arena, 26 MB of huge pages in all),
/// while `sled-native-mimalloc` had 246 MB of its 300 MB on 2 MiB pages. sled's lookups
/// walk memory at random, so each one missed the TLB more: in the 2-core VM's
/// 1,000,000-entry `mixed` load a Rust loop over sled inside Node (no JS per call) ran at
/// 325k ops/s against the same loop's 445k in `sled-native-mimalloc`, and the binding's
/// `mixed` went from ~270k to ~320k ops/s with this arena.
///
/// Reserving at load rather than at the first open keeps it first whichever thread
/// allocates next (a worker that loads the addon, the libuv pool running `openAsync`); the
/// cost is that much address space from `require` on (see docs/api.md). mimalloc is
/// started first, so that its options and page sizes are read, and the environment
/// decides where it says something: `MIMALLOC_RESERVE_OS_MEMORY` (mimalloc then reserved
/// its own arena, with huge pages allowed) skips this, `MIMALLOC_ARENA_RESERVE` sets the
/// size, `MIMALLOC_ALLOW_THP=0` keeps the advice off.
///
/// Linux only: THP is a Linux feature, and committing on Windows would charge the whole
/// reservation at once. Memory is committed (the prerequisite for huge pages in mimalloc)
/// only where the kernel overcommits, as mimalloc's own `arena_eager_commit` rule does:
/// under `vm.overcommit_memory = 2` a committed arena would count against the limit at
/// once, so there the arena is left to mimalloc. A failed reservation changes nothing.
#[cfg(target_os = "linux")]
#[napi_derive::module_init]
fn reserve_arena() {
    use libmimalloc_sys as mi;
    // SAFETY: calls into the statically linked mimalloc: its start-up runs once (a second
    // call returns), options are plain reads, and the arena id is not wanted (null is
    // allowed)
    unsafe {
        mi::mi_process_init();
        if mi::mi_option_is_enabled(mi::mi_option_reserve_os_memory) {
            return;
        }
        let overcommits = std::fs::read("/proc/sys/vm/overcommit_memory")
            .is_ok_and(|mode| matches!(mode.first(), Some(b'0' | b'1')));
        let kib = mi::mi_option_get(ARENA_RESERVE_OPTION);
        if overcommits && kib > 0 {
            mi::mi_reserve_os_memory_ex(
                kib as usize * 1024,
                true,
                true,
                false,
                std::ptr::null_mut(),
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn arena_reserve_option_is_the_one_mimalloc_documents() {
        if std::env::var_os("MIMALLOC_ARENA_RESERVE").is_some() {
            return;
        }
        // mimalloc's default on 64-bit systems: 1 GiB, in KiB (a different option at this
        // place in the enum would have another default)
        // SAFETY: a plain read of an option
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(super::ARENA_RESERVE_OPTION) },
            1 << 20
        );
    }
}
