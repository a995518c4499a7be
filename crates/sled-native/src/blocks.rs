//! Block timing, the twin of what tinybench does in the JS harness: operations are
//! timed in blocks (one `Instant` pair per block, so the clock costs nothing per op)
//! and the reported rate is the median block's, like the harness's tinybench median.

use std::time::{Duration, Instant};

pub struct Blocks {
    /// (operations, duration) of every timed block
    samples: Vec<(u64, Duration)>,
    total: Duration,
}

impl Blocks {
    pub fn new() -> Blocks {
        Blocks {
            samples: Vec::new(),
            total: Duration::ZERO,
        }
    }

    /// Times `f`, which performs `ops` operations.
    pub fn time<T>(&mut self, ops: u64, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.record(ops, start.elapsed());
        out
    }

    pub fn record(&mut self, ops: u64, took: Duration) {
        self.samples.push((ops, took));
        self.total += took;
    }

    /// True once at least `min_ops` operations and `min_time` of timed work are done.
    pub fn enough(&self, min_ops: u64, min_time: Duration) -> bool {
        self.ops() >= min_ops && self.total >= min_time
    }

    pub fn ops(&self) -> u64 {
        self.samples.iter().map(|s| s.0).sum()
    }

    pub fn seconds(&self) -> f64 {
        self.total.as_secs_f64()
    }

    pub fn count(&self) -> usize {
        self.samples.len()
    }

    /// Operations per second of the median block (by rate).
    pub fn median_rate(&self) -> f64 {
        let mut rates: Vec<f64> = self
            .samples
            .iter()
            .map(|(ops, d)| *ops as f64 / d.as_secs_f64().max(1e-9))
            .collect();
        rates.sort_by(f64::total_cmp);
        match rates.len() {
            0 => 0.0,
            len if len % 2 == 1 => rates[len / 2],
            len => (rates[len / 2 - 1] + rates[len / 2]) / 2.0,
        }
    }
}
