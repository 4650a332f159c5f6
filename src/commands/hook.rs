//! `leakstop hook install`: writes a pre-commit hook into the repository's
//! hooks directory (honouring `core.hooksPath`), refusing to replace a hook
//! it did not write unless asked to replace or chain it.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Marks hooks leakstop wrote, so re-installing updates them in place.
const MARKER: &str = "# leakstop-managed hook";

/// How to treat a hook that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Refuse,
    Replace,
    Chain,
}

/// Which git hook to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    PreCommit,
    PrePush,
}

impl HookKind {
    fn name(self) -> &'static str {
        match self {
            HookKind::PreCommit => "pre-commit",
            HookKind::PrePush => "pre-push",
        }
    }

    fn scan_flag(self) -> &'static str {
        match self {
            HookKind::PreCommit => "--staged",
            HookKind::PrePush => "--pre-push",
        }
    }
}

/// Installs the hook; returns the path written.
pub fn install(repo: &Path, kind: HookKind, existing: Existing) -> Result<PathBuf> {
    let hooks = hooks_dir(repo)?;
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("creating hooks directory {}", hooks.display()))?;
    let hook = hooks.join(kind.name());
    let local_name = format!("{}.local", kind.name());
    let chained = hooks.join(&local_name);
    let mut chain = false;
    if let Ok(current) = std::fs::read_to_string(&hook) {
        if current.contains(MARKER) {
            chain = current.contains(&local_name);
        } else {
            match existing {
                Existing::Refuse => bail!(
                    "{} already exists and was not written by leakstop; use --chain to keep it \
                     (it will run first, as {local_name}) or --force to replace it",
                    hook.display()
                ),
                Existing::Replace => {}
                Existing::Chain => {
                    if chained.exists() {
                        bail!("{} already exists; not overwriting it", chained.display());
                    }
                    std::fs::rename(&hook, &chained)
                        .with_context(|| format!("moving {} aside", hook.display()))?;
                    chain = true;
                }
            }
        }
    }
    let exe = std::env::current_exe().context("locating the leakstop binary")?;
    std::fs::write(&hook, script(&exe, kind, chain))
        .with_context(|| format!("writing {}", hook.display()))?;
    make_executable(&hook)?;
    Ok(hook)
}

/// The hook: run a chained hook first, then scan what is staged. The binary
/// that installed the hook is used if it still exists, else `leakstop` on PATH.
/// A pre-push hook gets the push protocol on stdin: a chained hook reads it
/// from a saved copy so both see it.
fn script(exe: &Path, kind: HookKind, chain: bool) -> String {
    let mut text = format!(
        "#!/bin/sh\n{MARKER}: written by `leakstop hook install`, which rewrites this file.\n"
    );
    let name = kind.name();
    let stdin_copy = kind == HookKind::PrePush && chain;
    if stdin_copy {
        text.push_str("input=$(cat)\n");
    }
    if chain {
        let feed = if stdin_copy {
            "printf '%s\\n' \"$input\" | "
        } else {
            ""
        };
        text.push_str(&format!(
            "local_hook=\"$(dirname \"$0\")/{name}.local\"\n\
             if [ -x \"$local_hook\" ]; then {feed}\"$local_hook\" \"$@\" || exit $?; fi\n"
        ));
    }
    text.push_str(&format!(
        "leakstop={}\n[ -x \"$leakstop\" ] || leakstop=leakstop\n",
        shell_quote(&exe.to_string_lossy())
    ));
    if stdin_copy {
        text.push_str(&format!(
            "printf '%s\\n' \"$input\" | \"$leakstop\" scan {}\n",
            kind.scan_flag()
        ));
    } else {
        text.push_str(&format!("exec \"$leakstop\" scan {}\n", kind.scan_flag()));
    }
    text
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hooks directory git uses for `repo`: `core.hooksPath` if set (`~`
/// expanded; relative to the work tree, or to the git directory of a bare
/// repository, as git runs hooks there), else the shared `hooks` directory
/// (linked worktrees share it). Read in-process: no git command is run.
fn hooks_dir(repo: &Path) -> Result<PathBuf> {
    let repo = gix::discover(repo)
        .map_err(|e| anyhow::anyhow!("hook install needs a git repository: {e}"))?;
    let configured = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .transpose()
        .context("reading core.hooksPath")?
        .map(|path| path.into_owned());
    let dir = match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => repo.workdir().unwrap_or(repo.git_dir()).join(path),
        None => repo.common_dir().join("hooks"),
    };
    std::path::absolute(&dir).with_context(|| format!("locating {}", dir.display()))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
