//! `sled-native`: runs one benchmark workload directly on sled and prints one JSON
//! line `{"contender":…,"workload":…,"opsPerSec":…,"ops":…,"seconds":…,"samples":…,"peakRssBytes":…,"busyCores":…,"ownCores":…}`.
//! It is the physical limit of the binding: sled-node's ratio to it, at equal allocators
//! (below), is the binding's overhead. Usage:
//! `sled-native <workload> <db-dir> [n] [value-size] [seed] [min-ops] [min-time-ms] [--copy] [--loaded] [--fill=<count>]`.
//! Timed work runs in blocks until both `min-ops` and `min-time-ms` are reached (fills
//! insert exactly `n`, or the first `count` of their order for fill-seq / fill-rand with
//! `--fill`); `opsPerSec` is the median block's rate, as in the JS harness. Workload
//! `load` fills the N entries and times nothing. `busyCores` / `ownCores`: see usage.rs.
//! `--copy` is the `sled-native-copy` baseline: every key and value read is copied out
//! of sled's `IVec` with `to_vec()`, the least any binding must do to hand bytes to its
//! caller. `--loaded`: `db-dir` already holds the N entries (the harness copies a store
//! that workload `load` filled), so only one untimed full scan warms the cache.
//!
//! Two binaries run this: `sled-native` with Rust's default allocator (the system's
//! `malloc`), as a Rust program has it unless it chooses another, and
//! `sled-native-mimalloc` with mimalloc, the allocator sled-node's addon links: sled
//! allocates on every call, so its speed depends on the allocator, and that baseline
//! shows the binding's own cost at equal allocators.

mod blocks;
mod data;
mod usage;
mod workloads;

use std::process::ExitCode;
use std::time::Duration;

pub struct Args {
    pub workload: String,
    pub path: String,
    pub n: u32,
    pub value_size: usize,
    pub seed: u32,
    pub min_ops: u64,
    pub min_time: Duration,
    /// copy every key and value read out of sled (`sled-native-copy`)
    pub copy: bool,
    /// the directory already holds the N entries: do not load them again
    pub loaded: bool,
    /// entries fill-seq and fill-rand insert (the first of their order); default n
    pub fill: Option<u32>,
}

fn parse() -> Result<Args, String> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let (flags, argv): (Vec<String>, Vec<String>) =
        all.into_iter().partition(|a| a.starts_with("--"));
    if let Some(bad) = flags
        .iter()
        .find(|f| *f != "--copy" && *f != "--loaded" && !f.starts_with("--fill="))
    {
        return Err(format!("unknown flag {bad}"));
    }
    let fill = match flags.iter().find_map(|f| f.strip_prefix("--fill=")) {
        Some(v) => Some(v.parse().map_err(|e| format!("--fill: {e}"))?),
        None => None,
    };
    let num = |i: usize, default: u64| -> Result<u64, String> {
        argv.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|e| format!("argument {i}: {e}"))
        })
    };
    Ok(Args {
        workload: argv.first().ok_or("missing workload")?.clone(),
        path: argv.get(1).ok_or("missing db dir")?.clone(),
        n: num(2, 100_000)? as u32,
        value_size: num(3, 100)? as usize,
        seed: num(4, 42)? as u32,
        min_ops: num(5, 200_000)?,
        min_time: Duration::from_millis(num(6, 0)?),
        copy: flags.iter().any(|f| f == "--copy"),
        loaded: flags.iter().any(|f| f == "--loaded"),
        fill,
    })
}

/// The process's peak resident set (VmHWM), in bytes; 0 where /proc is not available.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The command line of the binary called `name` (its contender name).
pub fn cli(name: &str) -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{name}: {e}\nusage: {name} <workload> <db-dir> [n] [value-size] [seed] [min-ops] [min-time-ms] [--copy] [--loaded] [--fill=<count>]");
            return ExitCode::from(2);
        }
    };
    match workloads::run(&args) {
        Ok((b, cpu)) => {
            let (busy, own) = cpu.map_or(("null".into(), "null".into()), |(b, o)| {
                (format!("{b:.3}"), format!("{o:.3}"))
            });
            println!(
                "{{\"contender\":\"{}\",\"workload\":\"{}\",\"opsPerSec\":{},\"ops\":{},\"seconds\":{},\"samples\":{},\"peakRssBytes\":{},\"busyCores\":{busy},\"ownCores\":{own}}}",
                if args.copy { format!("{name}-copy") } else { name.to_string() },
                args.workload,
                b.median_rate(),
                b.ops(),
                b.seconds(),
                b.count(),
                peak_rss_bytes()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
