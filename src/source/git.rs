//! Finding the repository a git scan runs in, in-process with gix: no git
//! process is started, so nothing from the command line or from scanned
//! content can reach git's.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("this scan needs a git repository: {0}")]
pub struct NotARepository(String);

/// The top directory of the work tree containing `dir` (what `git rev-parse
/// --show-toplevel` prints, honouring GIT_DIR and GIT_WORK_TREE as git does
/// in a hook), or `dir` itself for a bare repository.
pub fn repository_root(dir: &Path) -> Result<PathBuf, NotARepository> {
    let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(dir)
        .map_err(|e| NotARepository(e.to_string()))?;
    match repo.work_dir() {
        Some(top) => std::fs::canonicalize(top)
            .map_err(|e| NotARepository(format!("{}: {e}", top.display()))),
        None => Ok(dir.to_path_buf()),
    }
}
