//! Deterministic randomness: splitmix64, seeded by `seed=` or a per-render counter.

use super::scope::with_scope;
use super::Args;

pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub(super) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1).min(u64::MAX as i128) as u64;
        (lo as i128 + self.below(span) as i128) as i64
    }
    pub(super) fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list.get(self.below(list.len() as u64) as usize)
            .copied()
            .unwrap_or("")
    }
    pub(super) fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
}

/// The generator for one call: from `seed=` when given, else the next per-render draw.
pub(super) fn rng(a: &Args) -> tera::Result<Rng> {
    match a.get("seed") {
        Some(v) => Ok(Rng(v.as_u64().ok_or_else(|| {
            tera::Error::msg(format!("`seed` must be a non-negative integer, got `{v}`"))
        })?)),
        None => Ok(Rng(with_scope(|s| {
            s.counter += 1;
            0x5EED_0000_0000_0000 ^ s.counter
        }))),
    }
}
