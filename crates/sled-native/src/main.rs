//! `sled-native`: the benchmark baseline with Rust's default allocator (lib.rs).

use std::process::ExitCode;

fn main() -> ExitCode {
    sled_native::cli("sled-native")
}
