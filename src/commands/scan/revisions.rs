//! Which git scan the flags ask for, and the revision arguments of range
//! scans (`--range`, `--since-commit`, `--pre-push`).

use crate::cli::ScanArgs;
use crate::scan::Mode;
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

/// The `git log` revision arguments for `--range`, `--since-commit` or
/// `--pre-push`; `None` for other scans.
fn revisions(args: &ScanArgs) -> Result<Option<Vec<String>>> {
    if let Some(range) = &args.range {
        if range.starts_with('-') {
            bail!("--range `{range}` is not a revision range");
        }
        return Ok(Some(vec![range.clone()]));
    }
    if let Some(commit) = &args.since_commit {
        if commit.starts_with('-') {
            bail!("--since-commit `{commit}` is not a commit");
        }
        return Ok(Some(vec![format!("{commit}..HEAD")]));
    }
    if args.pre_push {
        // The pre-commit framework passes the pushed range in its environment
        // instead of git's stdin protocol.
        if let (Ok(from), Ok(to)) = (
            std::env::var("PRE_COMMIT_FROM_REF"),
            std::env::var("PRE_COMMIT_TO_REF"),
        ) {
            return Ok(Some(vec![format!("{from}..{to}")]));
        }
        let mut stdin = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin)
            .context("reading the pre-push protocol from stdin")?;
        return Ok(Some(pre_push_revisions(&stdin)?));
    }
    Ok(None)
}

/// git's pre-push protocol: one `<local ref> <local oid> <remote ref> <remote oid>`
/// line per ref. New branches scan what no remote has yet; deletions push nothing.
pub fn pre_push_revisions(protocol: &str) -> Result<Vec<String>> {
    const ZERO: &str = "0000000000000000000000000000000000000000";
    let mut tips = Vec::new();
    let mut bases = Vec::new();
    for line in protocol.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote] = fields[..] else {
            bail!("unexpected pre-push line: {line:?}");
        };
        if local.bytes().all(|b| b == b'0') {
            continue;
        }
        tips.push(local.to_string());
        if remote != ZERO && !remote.bytes().all(|b| b == b'0') {
            bases.push(format!("^{remote}"));
        }
    }
    let mut revisions = tips;
    if revisions.is_empty() {
        // Nothing pushed but deletions: an empty range.
        revisions.push("HEAD..HEAD".into());
        return Ok(revisions);
    }
    revisions.extend(bases);
    revisions.extend(["--not".to_string(), "--remotes".to_string()]);
    Ok(revisions)
}
