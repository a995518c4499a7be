//! `sled-native-mimalloc`: the benchmark baseline with mimalloc as the global allocator,
//! as sled-node's addon has it (lib.rs).

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sled_native::cli("sled-native-mimalloc")
}
