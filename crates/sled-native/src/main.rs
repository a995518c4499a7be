//! `sled-native`: runs one benchmark workload directly on sled and prints one JSON
//! line `{"contender":"sled-native","workload":…,"opsPerSec":…,"ops":…,"seconds":…}`.
//! It is the physical limit of the binding: sled-node's ratio to it is the binding's
//! overhead. Usage: `sled-native <workload> <db-dir> [n] [value-size] [seed] [ops]`.

mod data;

use std::process::ExitCode;
use std::time::Instant;

use data::{key, shuffled, value, Rng};

struct Args {
    workload: String,
    path: String,
    n: u32,
    value_size: usize,
    seed: u32,
    ops: u32,
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
        ops: num(5, 200_000)? as u32,
    })
}

fn fill(db: &sled::Db, a: &Args, order: impl Iterator<Item = u32>) -> sled::Result<()> {
    for i in order {
        db.insert(key(i.into()), value(a.seed, i.into(), a.value_size))?;
    }
    Ok(())
}

/// Runs the workload; returns the number of operations timed and the seconds taken.
fn run(a: &Args) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    let db = sled::Config::new().path(&a.path).open()?;
    let needs_data = !a.workload.starts_with("fill-");
    if needs_data {
        fill(&db, a, 0..a.n)?;
    }
    let mut rng = Rng::new(a.seed.wrapping_add(2));
    let start = Instant::now();
    let ops: u64 = match a.workload.as_str() {
        "fill-seq" => {
            fill(&db, a, 0..a.n)?;
            a.n.into()
        }
        "fill-rand" => {
            fill(&db, a, shuffled(a.seed, a.n).into_iter())?;
            a.n.into()
        }
        "fill-batch" => {
            for chunk in (0..a.n).collect::<Vec<_>>().chunks(1000) {
                let mut batch = sled::Batch::default();
                for &i in chunk {
                    batch.insert(&key(i.into()), value(a.seed, i.into(), a.value_size));
                }
                db.apply_batch(batch)?;
            }
            a.n.into()
        }
        "read-rand" | "read-miss" => {
            let offset = if a.workload == "read-miss" { a.n } else { 0 };
            for _ in 0..a.ops {
                let i = rng.below(a.n) + offset;
                std::hint::black_box(db.get(key(i.into()))?);
            }
            a.ops.into()
        }
        "read-many" => {
            let calls = a.ops / 100;
            for _ in 0..calls {
                for _ in 0..100 {
                    std::hint::black_box(db.get(key(rng.below(a.n).into()))?);
                }
            }
            calls.into()
        }
        "scan-full" => {
            let mut count = 0u64;
            for entry in db.iter() {
                std::hint::black_box(entry?);
                count += 1;
            }
            if count != u64::from(a.n) {
                return Err(format!("scan saw {count} entries, expected {}", a.n).into());
            }
            count
        }
        "scan-range" => {
            let calls = a.ops / 100;
            for _ in 0..calls {
                let start = key(rng.below(a.n).into());
                for entry in db.range(start..).take(100) {
                    std::hint::black_box(entry?);
                }
            }
            calls.into()
        }
        "mixed" => {
            for _ in 0..a.ops {
                let i = rng.below(a.n);
                if rng.below(10) == 0 {
                    db.insert(key(i.into()), value(a.seed, i.into(), a.value_size))?;
                } else {
                    std::hint::black_box(db.get(key(i.into()))?);
                }
            }
            a.ops.into()
        }
        other => return Err(format!("unknown workload {other}").into()),
    };
    let seconds = start.elapsed().as_secs_f64();
    db.flush()?;
    Ok((ops, seconds))
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sled-native: {e}\nusage: sled-native <workload> <db-dir> [n] [value-size] [seed] [ops]");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((ops, seconds)) => {
            println!(
                "{{\"contender\":\"sled-native\",\"workload\":\"{}\",\"opsPerSec\":{},\"ops\":{ops},\"seconds\":{seconds}}}",
                args.workload,
                ops as f64 / seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sled-native: {e}");
            ExitCode::FAILURE
        }
    }
}
