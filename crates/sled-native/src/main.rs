//! `sled-native`: runs one benchmark workload directly on sled and prints one JSON
//! line `{"contender":"sled-native","workload":…,"opsPerSec":…,"ops":…,"seconds":…,"samples":…}`.
//! It is the physical limit of the binding: sled-node's ratio to it is the binding's
//! overhead. Usage:
//! `sled-native <workload> <db-dir> [n] [value-size] [seed] [min-ops] [min-time-ms]`.
//! Timed work runs in blocks until both `min-ops` and `min-time-ms` are reached (fills
//! insert exactly `n`); `opsPerSec` is the median block's rate, as in the JS harness.

mod blocks;
mod data;
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
}

fn parse() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
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
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sled-native: {e}\nusage: sled-native <workload> <db-dir> [n] [value-size] [seed] [min-ops] [min-time-ms]");
            return ExitCode::from(2);
        }
    };
    match workloads::run(&args) {
        Ok(b) => {
            println!(
                "{{\"contender\":\"sled-native\",\"workload\":\"{}\",\"opsPerSec\":{},\"ops\":{},\"seconds\":{},\"samples\":{}}}",
                args.workload,
                b.median_rate(),
                b.ops(),
                b.seconds(),
                b.count()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sled-native: {e}");
            ExitCode::FAILURE
        }
    }
}
