//! The mutator: byte flips, inserts and deletions, dictionary tokens, splices with another
//! input, duplicated chunks (growth and nesting), truncation.

/// xorshift64*: small, seedable, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Inputs are kept under this size: bigger ones only slow the run down.
pub const MAX_INPUT: usize = 64 * 1024;

/// One to four stacked mutations of `base`; `other` is a splice partner.
pub fn mutate(rng: &mut Rng, base: &[u8], other: &[u8], tokens: &[&[u8]]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let b = [
                    b'{', b'}', b'%', b'#', b'"', b'\n', b'(', b')', b'[', b']', 0xC3, 0xE2,
                ][rng.below(12)];
                v.insert(at, b);
            }
            2 if !v.is_empty() => {
                let s = rng.below(v.len());
                let e = (s + 1 + rng.below(16)).min(v.len());
                v.drain(s..e);
            }
            3 | 4 if !tokens.is_empty() => {
                let t = tokens[rng.below(tokens.len())];
                v.splice(at..at, t.iter().copied());
            }
            5 if !other.is_empty() => {
                let s = rng.below(other.len());
                let e = s + rng.below(other.len() - s + 1);
                v.splice(at..at, other[s..e].iter().copied());
            }
            6 if !v.is_empty() => {
                // Duplicate a chunk several times: deep nesting, long chains, growth.
                let s = rng.below(v.len());
                let e = (s + 1 + rng.below(64)).min(v.len());
                let chunk = v[s..e].to_vec();
                let most = if rng.below(8) == 0 { 2000 } else { 8 };
                let times = 1 + rng.below(most);
                let mut add = Vec::with_capacity(chunk.len() * times);
                for _ in 0..times {
                    add.extend_from_slice(&chunk);
                }
                v.splice(e..e, add);
            }
            7 if !v.is_empty() => v.truncate(at),
            _ => {
                // Overwrite a byte with an interesting one.
                if let Some(b) = v.get_mut(at) {
                    *b = [0, 0x7f, 0xff, b'\t', b'\r', b'-', b'~', b'|'][rng.below(8)];
                }
            }
        }
        v.truncate(MAX_INPUT);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_bounded_and_vary() {
        let mut rng = Rng::new(7);
        let tokens: Vec<&[u8]> = vec![b"{{", b"%}"];
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..2000 {
            let m = mutate(&mut rng, b"{{ x }}\n[meta]\n", b"other", &tokens);
            assert!(m.len() <= MAX_INPUT);
            distinct.insert(m);
        }
        assert!(distinct.len() > 500);
        // Empty inputs work too.
        let _ = mutate(&mut rng, b"", b"", &[]);
    }
}
