//! CPU use over the timed part of a cell, the twin of bench/usage.mjs: how many cores the
//! whole machine was busy (from `/proc/stat`) and how many this process used (from
//! `/proc/self/stat`), both in clock ticks (USER_HZ), so the ratio needs no tick rate.
//! Busy cores well above this process's own show that something else shared the CPU.

use std::fs;

pub struct Sample {
    machine_busy: u64,
    machine_total: u64,
    own: u64,
}

/// `(busy, total)` ticks of all CPUs: user nice system idle iowait irq softirq steal.
fn machine() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let idle = fields.get(3)? + fields.get(4)?;
    let total: u64 = fields.iter().sum();
    Some((total - idle, total))
}

/// utime + stime of this process (all threads), fields 14 and 15 of `/proc/self/stat`.
fn own() -> Option<u64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // the command name (field 2) may hold spaces; fields after it follow its ')'
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub fn sample() -> Option<Sample> {
    let (machine_busy, machine_total) = machine()?;
    Some(Sample {
        machine_busy,
        machine_total,
        own: own()?,
    })
}

/// `(busyCores, ownCores)` between two samples, or None if /proc was unreadable or no
/// tick passed.
pub fn cores(from: &Option<Sample>, to: &Option<Sample>) -> Option<(f64, f64)> {
    let (a, b) = (from.as_ref()?, to.as_ref()?);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let total = b.machine_total.checked_sub(a.machine_total)? as f64;
    if total == 0.0 {
        return None;
    }
    let wall = total / cpus;
    let busy = b.machine_busy.saturating_sub(a.machine_busy) as f64;
    let own = b.own.saturating_sub(a.own) as f64;
    Some((busy / wall, own / wall))
}
