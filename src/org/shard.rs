//! `--shard K/N`: which repositories one of N machines scans. The split
//! hashes each repository's full name (SHA-256, lower-cased), so every
//! machine agrees on it without talking to the others, and it does not
//! move when repositories are added or removed.

use ring::digest::{digest, SHA256};
use std::fmt;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// True if `full_name` (`owner/name`) belongs to this shard.
    pub fn contains(&self, full_name: &str) -> bool {
        bucket(full_name, self.count) == self.index - 1
    }
}

/// The 0-based shard of `full_name` among `count`.
pub fn bucket(full_name: &str, count: u32) -> u32 {
    let hash = digest(&SHA256, full_name.to_lowercase().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_ref()[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || format!("`{text}` is not K/N with 1 <= K <= N (e.g. 2/8)");
        let (index, count) = text.split_once('/').ok_or_else(error)?;
        let index: u32 = index.trim().parse().map_err(|_| error())?;
        let count: u32 = count.trim().parse().map_err(|_| error())?;
        if index == 0 || index > count {
            return Err(error());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse() {
        assert_eq!("2/8".parse(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    /// The split is part of the contract between machines of one matrix
    /// (and between versions of leakstop): pinned.
    #[test]
    fn buckets_are_stable_and_cover_every_name_once() {
        assert_eq!(bucket("acme/api", 4), bucket("ACME/Api", 4));
        let pinned: Vec<u32> = ["acme/api", "acme/web", "acme/infra", "octo/cat"]
            .iter()
            .map(|n| bucket(n, 7))
            .collect();
        assert_eq!(pinned, PINNED);
        for name in ["a/b", "c/d", "e/f", "g/h"] {
            let owners: Vec<u32> = (1..=3)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 3,
                    }
                    .contains(name)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{name}");
        }
    }

    const PINNED: [u32; 4] = [4, 0, 5, 3];
}
