//! The benchmark data generator; `bench/data.mjs` is its JavaScript twin and must
//! produce the same bytes for the same seed (mulberry32, 32-bit so JS needs no BigInt).

pub struct Rng(u32);

impl Rng {
    pub fn new(seed: u32) -> Rng {
        Rng(seed)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x6D2B_79F5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        t ^ (t >> 14)
    }

    /// Uniform in `0..n` (n < 2^32; the slight modulo bias is shared by both twins).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

/// Key `i`: 16 ASCII digits, so key order is numeric order.
pub fn key(i: u64) -> [u8; 16] {
    let mut out = [b'0'; 16];
    let digits = i.to_string();
    out[16 - digits.len()..].copy_from_slice(digits.as_bytes());
    out
}

/// Value of key `i`: `size` bytes from a generator seeded by `seed` and `i`.
pub fn value(seed: u32, i: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ (i as u32).wrapping_mul(0x9E37_79B1));
    let mut out = Vec::with_capacity(size + 4);
    while out.len() < size {
        out.extend_from_slice(&rng.next_u32().to_le_bytes());
    }
    out.truncate(size);
    out
}

/// The order of `fill-rand`: a Fisher–Yates shuffle of `0..n`.
pub fn shuffled(seed: u32, n: u32) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n).collect();
    let mut rng = Rng::new(seed.wrapping_add(1));
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// Size of the random-key pools: keys are drawn before timing starts and cycled
/// through, so neither twin times key formatting or the PRNG.
pub const POOL: usize = 1 << 18;

/// The random keys a read workload cycles through: `rng.below(n) + offset` for an
/// `Rng` seeded with `stream` (reads use `seed + 2`, worker `w` uses `seed + 3 + w`).
pub fn pool(stream: u32, n: u32, offset: u32, len: usize) -> Vec<u32> {
    let mut rng = Rng::new(stream);
    (0..len).map(|_| rng.below(n) + offset).collect()
}

/// The generator of the `mixed` stream, which `mixed_block` draws from block by block
/// (the twin of bench/data.mjs's mixedStream / mixedBlock).
pub fn mixed_stream(seed: u32) -> Rng {
    Rng::new(seed.wrapping_add(2))
}

/// The next `len` steps of the `mixed` stream: per step an index `below(n)`, then a write
/// if `below(10) == 0`.
pub fn mixed_block(rng: &mut Rng, n: u32, len: usize) -> Vec<(u32, bool)> {
    (0..len)
        .map(|_| {
            let i = rng.below(n);
            (i, rng.below(10) == 0)
        })
        .collect()
}
