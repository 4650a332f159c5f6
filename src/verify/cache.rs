//! The verification cache: results keyed by a hash of the credential (never
//! the credential itself), with a time to live, so a re-run does not hit
//! providers again. Only definite answers (live, invalid, revoked) are kept.
//! One JSON file, read at the start of a run and replaced atomically at the end.

use super::Verification;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Environment variable naming the cache directory.
pub const CACHE_DIR_ENV: &str = "LEAKSTOP_CACHE_DIR";
const FILE_NAME: &str = "verify-v1.json";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("writing verification cache {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Unix seconds when the provider answered.
    checked_at: u64,
    result: Verification,
}

pub struct Cache {
    path: PathBuf,
    ttl: Duration,
    file: CacheFile,
    dirty: bool,
}

/// `$LEAKSTOP_CACHE_DIR`, else `$XDG_CACHE_HOME/leakstop`, else `~/.cache/leakstop`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("leakstop"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("leakstop"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Cache {
    /// Opens the cache in `dir`. A missing, unreadable or foreign file is an
    /// empty cache: the cache only saves requests, it never decides results.
    pub fn open(dir: &Path, ttl: Duration) -> Cache {
        let path = dir.join(FILE_NAME);
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|f| f.version == VERSION)
            .unwrap_or(CacheFile {
                version: VERSION,
                entries: BTreeMap::new(),
            });
        Cache {
            path,
            ttl,
            file,
            dirty: false,
        }
    }

    /// A fresh cached result for `key`.
    pub fn get(&self, key: &str) -> Option<Verification> {
        let entry = self.file.entries.get(key)?;
        if now().saturating_sub(entry.checked_at) > self.ttl.as_secs() {
            return None;
        }
        let mut result = entry.result.clone();
        result.cached = true;
        Some(result)
    }

    pub fn put(&mut self, key: String, result: &Verification) {
        if !result.status.cacheable() {
            return;
        }
        let mut result = result.clone();
        result.cached = false;
        self.file.entries.insert(
            key,
            Entry {
                checked_at: now(),
                result,
            },
        );
        self.dirty = true;
    }

    /// Writes the cache (dropping expired entries) if anything changed.
    pub fn save(mut self) -> Result<(), CacheError> {
        if !self.dirty {
            return Ok(());
        }
        let horizon = now().saturating_sub(self.ttl.as_secs());
        self.file.entries.retain(|_, e| e.checked_at >= horizon);
        let write_error = |source| CacheError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let bytes = serde_json::to_vec(&self.file).map_err(|e| write_error(e.into()))?;
        let temp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, bytes).map_err(write_error)?;
        std::fs::rename(&temp, &self.path).map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;

    #[test]
    fn keeps_definite_answers_within_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), Duration::from_secs(3600));
        cache.put("k1".into(), &Verification::new(Status::Live, None));
        cache.put("k2".into(), &Verification::error("timeout"));
        cache.save().unwrap();
        let cache = Cache::open(dir.path(), Duration::from_secs(3600));
        let hit = cache.get("k1").unwrap();
        assert_eq!(hit.status, Status::Live);
        assert!(hit.cached);
        assert!(cache.get("k2").is_none());
    }
}
