//! Sets of chunk indices: which chunks of a run an accumulator holds.
//!
//! Workers pull chunks dynamically, so the chunks finished at any moment are not a
//! prefix of the run. A [`ChunkSet`] records them exactly as sorted, disjoint,
//! non-adjacent half-open ranges `[start, end)`; it is small for the sets a run
//! produces (a few ranges) and merges by union, which is what combining shards or
//! resuming needs.

use serde::{Deserialize, Serialize};

/// A set of chunk indices, stored as sorted, disjoint, non-adjacent ranges.
///
/// Serializes as a list of `[start, end)` pairs, e.g. `[[0, 12], [14, 15]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<(u64, u64)>", into = "Vec<(u64, u64)>")]
pub struct ChunkSet {
    ranges: Vec<(u64, u64)>,
}

/// Why a list of ranges is not a valid [`ChunkSet`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("chunk ranges must be non-empty, sorted and disjoint: {0}")]
pub struct ChunkSetError(String);

impl ChunkSet {
    /// The empty set.
    pub fn new() -> ChunkSet {
        ChunkSet::default()
    }

    /// The chunks `start..end`.
    pub fn range(start: u64, end: u64) -> ChunkSet {
        let mut set = ChunkSet::new();
        set.insert_range(start, end);
        set
    }

    /// Adds the chunks `start..end` (nothing when `start >= end`).
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // First range that ends at or after `start` (touching ranges merge).
        let i = self.ranges.partition_point(|&(_, e)| e < start);
        let mut j = i;
        let (mut s, mut e) = (start, end);
        while j < self.ranges.len() && self.ranges[j].0 <= e {
            s = s.min(self.ranges[j].0);
            e = e.max(self.ranges[j].1);
            j += 1;
        }
        self.ranges.splice(i..j, [(s, e)]);
    }

    /// Adds one chunk.
    pub fn insert(&mut self, k: u64) {
        self.insert_range(k, k + 1);
    }

    /// Whether chunk `k` is in the set.
    pub fn contains(&self, k: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, e)| e <= k);
        self.ranges.get(i).is_some_and(|&(s, _)| s <= k)
    }

    /// Whether every chunk of `start..end` is in the set.
    pub fn contains_range(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return true;
        }
        let i = self.ranges.partition_point(|&(_, e)| e <= start);
        self.ranges
            .get(i)
            .is_some_and(|&(s, e)| s <= start && end <= e)
    }

    /// Number of chunks in the set.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|&(s, e)| e - s).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, sorted.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Chunks of `start..end` that are not in the set, ascending.
    pub fn missing(&self, start: u64, end: u64) -> Vec<u64> {
        (start..end).filter(|&k| !self.contains(k)).collect()
    }

    /// Whether the two sets share no chunk.
    pub fn is_disjoint(&self, other: &ChunkSet) -> bool {
        other
            .ranges
            .iter()
            .all(|&(s, e)| self.ranges.iter().all(|&(a, b)| e <= a || b <= s))
    }

    /// Adds every chunk of `other`.
    pub fn union(&mut self, other: &ChunkSet) {
        for &(s, e) in &other.ranges {
            self.insert_range(s, e);
        }
    }

    /// Largest chunk index + 1 (0 when empty).
    pub fn end(&self) -> u64 {
        self.ranges.last().map_or(0, |&(_, e)| e)
    }
}

impl FromIterator<u64> for ChunkSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> ChunkSet {
        let mut ks: Vec<u64> = iter.into_iter().collect();
        ks.sort_unstable();
        ks.dedup();
        let mut set = ChunkSet::new();
        for k in ks {
            match set.ranges.last_mut() {
                Some((_, e)) if *e == k => *e += 1,
                _ => set.ranges.push((k, k + 1)),
            }
        }
        set
    }
}

impl TryFrom<Vec<(u64, u64)>> for ChunkSet {
    type Error = ChunkSetError;

    fn try_from(ranges: Vec<(u64, u64)>) -> Result<ChunkSet, ChunkSetError> {
        for (i, &(s, e)) in ranges.iter().enumerate() {
            if s >= e {
                return Err(ChunkSetError(format!("range [{s}, {e}) is empty")));
            }
            if i > 0 && ranges[i - 1].1 >= s {
                return Err(ChunkSetError(format!(
                    "range [{s}, {e}) overlaps or touches the one before"
                )));
            }
        }
        Ok(ChunkSet { ranges })
    }
}

impl From<ChunkSet> for Vec<(u64, u64)> {
    fn from(set: ChunkSet) -> Vec<(u64, u64)> {
        set.ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_merge_and_serialize() {
        let mut set = ChunkSet::new();
        for k in [5, 0, 1, 3, 2, 9] {
            set.insert(k);
        }
        assert_eq!(set.ranges(), &[(0, 4), (5, 6), (9, 10)]);
        set.insert_range(4, 9);
        assert_eq!(set.ranges(), &[(0, 10)]);
        assert_eq!(set.len(), 10);
        assert!(set.contains_range(2, 10) && !set.contains_range(2, 11));
        let json = serde_json::to_string(&ChunkSet::from_iter([1, 2, 7])).unwrap();
        assert_eq!(json, "[[1,3],[7,8]]");
        let back: ChunkSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.missing(0, 9), vec![0, 3, 4, 5, 6, 8]);
        assert!(serde_json::from_str::<ChunkSet>("[[1,3],[3,4]]").is_err());
        assert!(serde_json::from_str::<ChunkSet>("[[2,2]]").is_err());
        assert!(back.is_disjoint(&ChunkSet::range(3, 7)));
        assert!(!back.is_disjoint(&ChunkSet::range(3, 8)));
    }

    proptest! {
        #[test]
        fn matches_a_plain_set(ops in proptest::collection::vec((0u64..60, 0u64..8), 0..30)) {
            let mut set = ChunkSet::new();
            let mut plain = std::collections::BTreeSet::new();
            for (s, n) in ops {
                set.insert_range(s, s + n);
                plain.extend(s..s + n);
            }
            prop_assert_eq!(set.len(), plain.len() as u64);
            for k in 0..70 {
                prop_assert_eq!(set.contains(k), plain.contains(&k));
            }
            prop_assert_eq!(&ChunkSet::from_iter(plain.iter().copied()), &set);
            prop_assert!(ChunkSet::try_from(Vec::from(set.clone())).is_ok());
        }
    }
}
