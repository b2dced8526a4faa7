//! Shards: a deterministic split of the selected (file, scenario) pairs across CI machines
//! (`run --shard INDEX/TOTAL`). Every shard computes the same split from the same inputs,
//! so together the shards are exactly the whole set, each pair in one shard. Balanced by
//! recorded durations (longest first into the least-loaded shard); pairs without one
//! weigh the mean of the known, and with none known the split is by count.

use sha2::{Digest, Sha256};

/// The most shards a run may be split into.
pub const MAX_SHARDS: usize = 10_000;

/// `INDEX/TOTAL`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub total: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = || format!("`{s}`: a shard is INDEX/TOTAL with 1 <= INDEX <= TOTAL, as 2/4");
        let (i, t) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = i.trim().parse().map_err(|_| usage())?;
        let total: usize = t.trim().parse().map_err(|_| usage())?;
        if index == 0 || index > total {
            return Err(usage());
        }
        if total > MAX_SHARDS {
            return Err(format!("`{s}`: at most {MAX_SHARDS} shards"));
        }
        Ok(Shard { index, total })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// One pair to place: a stable identity (the same on every machine: a workspace-relative
/// path and the scenario name) and its recorded duration, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub duration_ms: Option<u64>,
}

/// The split of a set of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The shard (0-based) of each item, in the items' order.
    pub shard_of: Vec<usize>,
    /// The planned load of each shard (milliseconds, or items when none was known).
    pub loads: Vec<u64>,
    /// Identifies the whole split: shards that print the same one planned the same split
    /// (`report merge` checks it).
    pub fingerprint: String,
}

impl Split {
    /// Whether item `i` belongs to `shard`.
    pub fn contains(&self, shard: Shard, i: usize) -> bool {
        self.shard_of.get(i) == Some(&(shard.index - 1))
    }
}

/// Split `items` into `total` shards.
pub fn split(items: &[Item], total: usize) -> Split {
    let total = total.clamp(1, MAX_SHARDS);
    let known: Vec<u64> = items.iter().filter_map(|i| i.duration_ms).collect();
    let weight = |i: &Item| -> u64 {
        if known.is_empty() {
            1
        } else {
            // At least 1 ms, so instant scenarios still spread by count.
            i.duration_ms
                .unwrap_or(known.iter().sum::<u64>() / known.len() as u64)
                .max(1)
        }
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Longest first; ties by identity, so the order never depends on the input's.
    order.sort_by(|&a, &b| {
        weight(&items[b])
            .cmp(&weight(&items[a]))
            .then_with(|| items[a].id.cmp(&items[b].id))
    });
    let mut loads = vec![0u64; total];
    let mut counts = vec![0usize; total];
    let mut shard_of = vec![0usize; items.len()];
    for i in order {
        // Least loaded, then fewest items, then lowest index.
        let target = (0..total)
            .min_by_key(|&s| (loads[s], counts[s], s))
            .unwrap_or(0);
        shard_of[i] = target;
        loads[target] = loads[target].saturating_add(weight(&items[i]));
        counts[target] += 1;
    }
    let mut h = Sha256::new();
    let mut placed: Vec<(&str, usize)> = items
        .iter()
        .zip(&shard_of)
        .map(|(i, s)| (i.id.as_str(), *s))
        .collect();
    placed.sort();
    h.update((total as u64).to_le_bytes());
    for (id, s) in placed {
        h.update((id.len() as u64).to_le_bytes());
        h.update(id.as_bytes());
        h.update((s as u64).to_le_bytes());
    }
    Split {
        shard_of,
        loads,
        fingerprint: hex::encode(&h.finalize()[..8]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize, duration: impl Fn(usize) -> Option<u64>) -> Vec<Item> {
        (0..n)
            .map(|i| Item {
                id: format!("tests/f{}.clnrm.toml\u{0}s{i}", i % 7),
                duration_ms: duration(i),
            })
            .collect()
    }

    #[test]
    fn shards_parse_and_bad_ones_are_usage_errors() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, total: 4 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", "1/100000", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shards_cover_every_item_exactly_once_and_by_count_when_nothing_is_known() {
        let set = items(200, |_| None);
        let split = split(&set, 4);
        let mut sizes = [0usize; 4];
        for s in &split.shard_of {
            sizes[*s] += 1;
        }
        assert_eq!(sizes, [50, 50, 50, 50]);
        for i in 0..set.len() {
            let owners = (1..=4)
                .filter(|&k| split.contains(Shard { index: k, total: 4 }, i))
                .count();
            assert_eq!(owners, 1);
        }
    }

    #[test]
    fn the_split_does_not_depend_on_the_order_items_were_found_in() {
        let set = items(50, |i| (i % 3 == 0).then_some(i as u64 * 10));
        let a = split(&set, 3);
        let mut reversed = set.clone();
        reversed.reverse();
        let b = split(&reversed, 3);
        assert_eq!(a.fingerprint, b.fingerprint);
        for (i, item) in set.iter().enumerate() {
            let j = reversed.iter().position(|r| r.id == item.id).unwrap();
            assert_eq!(a.shard_of[i], b.shard_of[j]);
        }
        // Another split (another total, or other durations) has another fingerprint.
        assert_ne!(split(&set, 4).fingerprint, a.fingerprint);
    }

    #[test]
    fn recorded_durations_balance_the_load_longest_first() {
        // One long scenario and many short ones: the long one gets a shard of its own.
        let mut set = items(9, |_| Some(100));
        set.push(Item {
            id: "long".into(),
            duration_ms: Some(800),
        });
        let split = split(&set, 2);
        let long_shard = split.shard_of[9];
        let with_long = split.shard_of.iter().filter(|s| **s == long_shard).count();
        assert_eq!(with_long, 1 + 1, "{split:?}");
        assert_eq!(split.loads[long_shard], 900);
        assert_eq!(split.loads[1 - long_shard], 800);
    }

    #[test]
    fn more_shards_than_items_leaves_some_empty() {
        let set = items(2, |_| None);
        let split = split(&set, 5);
        assert_eq!(split.loads.iter().filter(|l| **l > 0).count(), 2);
    }
}
