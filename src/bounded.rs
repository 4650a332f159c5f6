//! Bounded reads of the files the scanner reads besides the scanned ones
//! (a bundle's sibling source map, ignore files): such a file comes with the
//! scanned content, so it may be a symlink to `/dev/zero`, a FIFO that never
//! answers, a sparse 1 GiB file or a link out of the scanned tree. One rule
//! for all of them: regular files only, symlinks only when the user asked
//! to follow them and never out of the root, the size checked from metadata
//! before reading and the read itself capped.

use std::io::Read;
use std::path::{Path, PathBuf};

/// How a side file may be read.
#[derive(Debug, Clone)]
pub struct ReadPolicy {
    /// The scan root: a file (after resolving symlinks) must stay under it.
    pub root: PathBuf,
    /// `--follow-symlinks`: without it, a symlink is refused.
    pub follow_symlinks: bool,
    /// Largest size read.
    pub max_size: u64,
}

/// Why a side file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadRefused {
    #[error("not found")]
    NotFound,
    #[error("a symlink (symlinks are followed only with --follow-symlinks)")]
    Symlink,
    #[error("resolves outside the scanned directory")]
    OutsideRoot,
    #[error("not a regular file (a FIFO, socket or device)")]
    NotRegular,
    #[error("{size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Io(std::io::Error),
}

impl ReadRefused {
    /// True for refusals that protect the scanner (as opposed to a file
    /// that is simply absent or unreadable).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ReadRefused::Symlink
                | ReadRefused::OutsideRoot
                | ReadRefused::NotRegular
                | ReadRefused::TooLarge { .. }
        )
    }
}

impl ReadPolicy {
    /// Checks `path` without reading it: what [`ReadPolicy::read`] would refuse.
    pub fn check(&self, path: &Path) -> Result<u64, ReadRefused> {
        let link = std::fs::symlink_metadata(path).map_err(io_error)?;
        if link.file_type().is_symlink() && !self.follow_symlinks {
            return Err(ReadRefused::Symlink);
        }
        // Any component may be a link (`dist -> /elsewhere`): compare the
        // resolved path with the resolved root.
        let resolved = path.canonicalize().map_err(io_error)?;
        let root = self.root.canonicalize().map_err(io_error)?;
        let base = if root.is_file() {
            root.parent().unwrap_or(&root)
        } else {
            &root
        };
        if !resolved.starts_with(base) {
            return Err(ReadRefused::OutsideRoot);
        }
        let metadata = std::fs::metadata(&resolved).map_err(io_error)?;
        if !metadata.is_file() {
            return Err(ReadRefused::NotRegular);
        }
        if metadata.len() > self.max_size {
            return Err(ReadRefused::TooLarge {
                size: metadata.len(),
                limit: self.max_size,
            });
        }
        Ok(metadata.len())
    }

    /// Reads `path` under the policy, at most `max_size` bytes (a file that
    /// grows after the check is still bounded).
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, ReadRefused> {
        let size = self.check(path)?;
        let file = std::fs::File::open(path).map_err(io_error)?;
        // The file opened may not be the one checked (a swap in between).
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Err(ReadRefused::NotRegular);
        }
        let mut bytes = Vec::with_capacity(size.min(self.max_size).min(1 << 24) as usize);
        file.take(self.max_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 > self.max_size {
            return Err(ReadRefused::TooLarge {
                size: bytes.len() as u64,
                limit: self.max_size,
            });
        }
        Ok(bytes)
    }
}

fn io_error(error: std::io::Error) -> ReadRefused {
    if error.kind() == std::io::ErrorKind::NotFound {
        ReadRefused::NotFound
    } else {
        ReadRefused::Io(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_links_out_and_large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("ok.map"), b"{}").unwrap();
        std::fs::write(dir.path().join("outside.map"), b"{}").unwrap();
        std::fs::write(root.join("big.map"), vec![b' '; 100]).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/dev/zero", root.join("zero.map")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("outside.map"), root.join("out.map"))
                .unwrap();
        }
        let policy = |follow| ReadPolicy {
            root: root.clone(),
            follow_symlinks: follow,
            max_size: 10,
        };
        assert_eq!(policy(false).read(&root.join("ok.map")).unwrap(), b"{}");
        assert!(matches!(
            policy(false).read(&root.join("big.map")),
            Err(ReadRefused::TooLarge { size: 100, .. })
        ));
        assert!(matches!(
            policy(false).read(&root.join("none.map")),
            Err(ReadRefused::NotFound)
        ));
        #[cfg(unix)]
        {
            assert!(matches!(
                policy(false).read(&root.join("zero.map")),
                Err(ReadRefused::Symlink)
            ));
            assert!(matches!(
                policy(true).read(&root.join("zero.map")),
                Err(ReadRefused::OutsideRoot)
            ));
            assert!(matches!(
                policy(true).read(&root.join("out.map")),
                Err(ReadRefused::OutsideRoot)
            ));
        }
    }
}
