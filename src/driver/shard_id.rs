//! Which shard of a run a state holds: `run --shard K/M` computes the K-th of M
//! contiguous ranges of the run's chunks.

/// Extension of a shard state file.
pub const SHARD_EXTENSION: &str = "evshard";

/// The K-th (1-based) of M shards of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// K, from 1.
    pub index: u64,
    /// M.
    pub count: u64,
}

impl Shard {
    /// Parses `K/M` with 1 ≤ K ≤ M.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard takes K/M with 1 ≤ K ≤ M (e.g. 3/8), not `{text}`");
        let (k, m) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            m.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The chunks `[start, end)` of this shard among `n_chunks`: M contiguous
    /// ranges whose lengths differ by at most one.
    pub fn chunks(&self, n_chunks: u64) -> (u64, u64) {
        let at = |k: u64| ((k as u128 * n_chunks as u128) / self.count as u128) as u64;
        (at(self.index - 1), at(self.index))
    }

    /// The state file's name, `shard-0003-of-0008.evshard`.
    pub fn file_name(&self) -> String {
        format!(
            "shard-{:04}-of-{:04}.{SHARD_EXTENSION}",
            self.index, self.count
        )
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cut_the_chunks_into_contiguous_near_equal_ranges() {
        for (n, m) in [(1u64, 1u64), (10, 3), (977, 7), (3, 7)] {
            let mut next = 0;
            for k in 1..=m {
                let (s, e) = Shard { index: k, count: m }.chunks(n);
                assert_eq!(s, next);
                assert!(e - s <= n.div_ceil(m) && e - s >= n / m);
                next = e;
            }
            assert_eq!(next, n);
        }
        assert_eq!(Shard::parse("3/8"), Ok(Shard { index: 3, count: 8 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Shard { index: 3, count: 8 }.file_name(),
            "shard-0003-of-0008.evshard"
        );
    }
}
