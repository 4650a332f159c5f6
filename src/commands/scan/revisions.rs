//! Which git scan the flags ask for, and the revision arguments of range
//! scans (`--range`, `--since-commit`, `--pre-push`).

use crate::cli::ScanArgs;
use crate::scan::Mode;
use crate::source::range::{self, Revisions};
use anyhow::{bail, Context, Result};

/// The scan mode the flags select.
pub fn mode(args: &ScanArgs) -> Result<Mode> {
    if args.staged {
        return Ok(Mode::Staged);
    }
    if args.git {
        return Ok(Mode::History {
            all_objects: args.all_objects,
        });
    }
    Ok(match revisions(args)? {
        Some(revisions) => Mode::Range(revisions),
        None => Mode::Directory,
    })
}

/// The commits `--range`, `--since-commit` or `--pre-push` select; `None`
/// for other scans.
fn revisions(args: &ScanArgs) -> Result<Option<Revisions>> {
    if let Some(range) = &args.range {
        return Ok(Some(Revisions::Spec(range.clone())));
    }
    if let Some(commit) = &args.since_commit {
        if commit.starts_with('-') {
            bail!("--since-commit `{commit}` is not a commit");
        }
        return Ok(Some(Revisions::Spec(format!("{commit}..HEAD"))));
    }
    if args.pre_push {
        // The pre-commit framework passes the pushed range in its environment
        // instead of git's stdin protocol.
        if let (Ok(from), Ok(to)) = (
            std::env::var("PRE_COMMIT_FROM_REF"),
            std::env::var("PRE_COMMIT_TO_REF"),
        ) {
            return Ok(Some(Revisions::Spec(format!("{from}..{to}"))));
        }
        let mut stdin = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin)
            .context("reading the pre-push protocol from stdin")?;
        return Ok(Some(range::parse_pre_push(&stdin)?));
    }
    Ok(None)
}
