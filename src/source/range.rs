//! The commit-range source, for PR checks and pre-push: a history scan
//! ([`history::scan_selected`]) of the commits the range selects, with the
//! range's bases hidden. Each distinct blob is scanned once and attributed
//! to the first commit and path that introduced it; the version of the file
//! before that commit travels with the blob, so only secrets the commit
//! added are reported, never older ones. Revisions are resolved in-process
//! (gix rev-parse), so nothing a user or git's pre-push protocol passes ever
//! reaches a git command line.

use super::history::{self, Tips};
use super::odb::{self, ObjectScanOptions, OdbError};
use super::BlobSink;
use crate::filter::Filters;
use crate::stats::StatsCollector;
use gix::ObjectId;

/// The commits a range scan walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revisions {
    /// One revision as `git rev-parse` reads it: `A..B`, `A...B`, `B`
    /// (everything reachable from it), `^A`, `A^!`, `A^@`.
    Spec(String),
    /// A push (git's pre-push protocol): the pushed tips, minus what the
    /// remote already has (its old tips) and anything any remote-tracking
    /// ref reaches (`git log <tips> --not <olds> --remotes`).
    Push {
        tips: Vec<ObjectId>,
        remote_tips: Vec<ObjectId>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error("`{spec}` is not a revision range: {message}")]
    Revision { spec: String, message: String },
    #[error("pre-push line {line} refused: {why}: {text:?}")]
    PrePush {
        line: usize,
        why: &'static str,
        text: String,
    },
    #[error(transparent)]
    Odb(#[from] OdbError),
}

/// Scans the blobs introduced by the commits `revisions` selects. Returns
/// the number of commits walked.
pub fn scan(
    options: &ObjectScanOptions,
    revisions: &Revisions,
    filters: &Filters,
    sink: &dyn BlobSink,
    stats: &StatsCollector,
) -> Result<usize, RangeError> {
    let shared = odb::open(&options.repo)?;
    let tips = resolve(&odb::local(&shared), revisions)?;
    Ok(history::scan_selected(
        &shared, options, &tips, filters, sink, stats,
    )?)
}

/// The tips and hidden bases of `revisions`, each peeled to a commit.
fn resolve(repo: &gix::Repository, revisions: &Revisions) -> Result<Tips, RangeError> {
    match revisions {
        Revisions::Spec(spec) => resolve_spec(repo, spec),
        Revisions::Push { tips, remote_tips } => {
            let push_error = |id: &ObjectId, message: String| RangeError::Revision {
                spec: id.to_string(),
                message,
            };
            let commits = tips
                .iter()
                .map(|id| peel(repo, *id).map_err(|m| push_error(id, m)))
                .collect::<Result<_, _>>()?;
            // The remote's old tip may be a commit this clone never fetched:
            // it hides nothing here, and scanning more is the safe side.
            let mut hidden: Vec<ObjectId> = remote_tips
                .iter()
                .filter_map(|id| peel(repo, *id).ok())
                .collect();
            hidden.extend(remote_tracking_commits(repo)?);
            Ok(Tips {
                commits,
                hidden,
                ..Tips::default()
            })
        }
    }
}

fn resolve_spec(repo: &gix::Repository, spec: &str) -> Result<Tips, RangeError> {
    use gix::revision::plumbing::Spec;
    let error = |message: String| RangeError::Revision {
        spec: spec.to_string(),
        message,
    };
    if spec.starts_with('-') {
        return Err(error("a revision cannot start with `-`".into()));
    }
    let parsed = repo
        .rev_parse(spec)
        .map_err(|e| error(e.to_string()))?
        .detach();
    let commit = |id: ObjectId| peel(repo, id).map_err(error);
    let parents = |id: ObjectId| -> Result<Vec<ObjectId>, RangeError> {
        let commit = repo
            .find_commit(commit(id)?)
            .map_err(|e| error(e.to_string()))?;
        Ok(commit.parent_ids().map(|p| p.detach()).collect())
    };
    let (commits, hidden) = match parsed {
        Spec::Include(id) => (vec![commit(id)?], vec![]),
        Spec::Exclude(id) => (vec![], vec![commit(id)?]),
        Spec::Range { from, to } => (vec![commit(to)?], vec![commit(from)?]),
        Spec::Merge { theirs, ours } => {
            let (theirs, ours) = (commit(theirs)?, commit(ours)?);
            // Both sides, minus what they share (no merge base: all of both).
            let base = repo.merge_base(theirs, ours).ok().map(|id| id.detach());
            (vec![theirs, ours], base.into_iter().collect())
        }
        Spec::IncludeOnlyParents(id) => (parents(id)?, vec![]),
        Spec::ExcludeParents(id) => (vec![commit(id)?], parents(id)?),
    };
    Ok(Tips {
        commits,
        hidden,
        ..Tips::default()
    })
}

/// The commit `id` names, through annotated tags.
fn peel(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, String> {
    let object = repo.find_object(id).map_err(|e| e.to_string())?;
    let kind = object.kind;
    object
        .peel_to_commit()
        .map(|c| c.id)
        .map_err(|_| format!("{id} is a {kind}, not a commit"))
}

/// The commits every remote-tracking ref (`refs/remotes/*`) points at.
fn remote_tracking_commits(repo: &gix::Repository) -> Result<Vec<ObjectId>, OdbError> {
    let context = "reading the remote-tracking refs";
    let platform = repo.references().map_err(|e| OdbError::git(context, e))?;
    let refs = platform
        .remote_branches()
        .map_err(|e| OdbError::git(context, e))?;
    let mut commits = Vec::new();
    for reference in refs {
        let mut reference = reference.map_err(|e| OdbError::Git {
            context: context.into(),
            source: e,
        })?;
        if let Ok(id) = reference.peel_to_id_in_place() {
            if let Ok(id) = peel(repo, id.detach()) {
                commits.push(id);
            }
        }
    }
    Ok(commits)
}

/// git's pre-push protocol on stdin: one `<local ref> SP <local oid> SP
/// <remote ref> SP <remote oid>` line per pushed ref. Every object id must
/// be full-length hex and every ref well formed; a malformed line is an
/// error naming it (the push is refused), never skipped. Deletions (zero
/// local id) push nothing.
pub fn parse_pre_push(protocol: &str) -> Result<Revisions, RangeError> {
    let mut tips = Vec::new();
    let mut remote_tips = Vec::new();
    for (index, text) in protocol.lines().enumerate() {
        if text.is_empty() {
            continue;
        }
        let malformed = |why| RangeError::PrePush {
            line: index + 1,
            why,
            text: text.to_string(),
        };
        let fields: Vec<&str> = text.split(' ').collect();
        let [local_ref, local, remote_ref, remote] = fields[..] else {
            return Err(malformed("not four space-separated fields"));
        };
        let local = object_id(local, "bad local object id").map_err(malformed)?;
        let remote = object_id(remote, "bad remote object id").map_err(malformed)?;
        if !local_source_ok(local_ref) {
            return Err(malformed("bad local ref"));
        }
        if gix::validate::reference::name(remote_ref.into()).is_err() {
            return Err(malformed("bad remote ref"));
        }
        if !local.is_null() {
            tips.push(local);
        }
        if !remote.is_null() {
            remote_tips.push(remote);
        }
    }
    Ok(Revisions::Push { tips, remote_tips })
}

/// A full object id: 40 (SHA-1) or 64 (SHA-256) hex digits, nothing else.
fn object_id(text: &str, malformed: &'static str) -> Result<ObjectId, &'static str> {
    if !matches!(text.len(), 40 | 64) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed);
    }
    ObjectId::from_hex(text.as_bytes()).map_err(|_| "SHA-256 repositories are not supported yet")
}

/// The local side of a pushed ref: a ref name, `(delete)`, or the source
/// expression as the user typed it (`git push origin HEAD~1:refs/heads/x`
/// puts `HEAD~1` here). leakstop never uses it, but a line it cannot
/// account for is refused rather than guessed at.
fn local_source_ok(text: &str) -> bool {
    text == "(delete)"
        || gix::validate::reference::name(text.into()).is_ok()
        || (!text.is_empty()
            && !text.starts_with('-')
            && text.bytes().all(|b| b.is_ascii_graphic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> String {
        c.to_string().repeat(40)
    }

    #[test]
    fn pre_push_lines_give_tips_and_remote_bases() {
        let zero = id('0');
        let protocol = format!(
            "refs/heads/main {a} refs/heads/main {b}\nrefs/heads/new {c} refs/heads/new {zero}\n\
             (delete) {zero} refs/heads/old {d}\nHEAD~1 {e} refs/heads/x {zero}\n",
            a = id('a'),
            b = id('b'),
            c = id('c'),
            d = id('d'),
            e = id('e'),
        );
        let Revisions::Push { tips, remote_tips } = parse_pre_push(&protocol).unwrap() else {
            panic!("a push");
        };
        let hex = |ids: Vec<ObjectId>| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(hex(tips), vec![id('a'), id('c'), id('e')]);
        assert_eq!(hex(remote_tips), vec![id('b'), id('d')]);
    }

    #[test]
    fn malformed_pre_push_lines_are_refused_and_named() {
        let zero = id('0');
        let sha256 = "a".repeat(64);
        let error = parse_pre_push(&format!("refs/heads/m {sha256} refs/heads/m {zero}\n"))
            .expect_err("no SHA-256 support")
            .to_string();
        assert!(error.contains("SHA-256"), "{error}");
        for bad in [
            format!("refs/heads/main --output=victim.txt refs/heads/main {zero}"),
            format!("refs/heads/main {} refs/heads/main {zero}", &id('a')[..39]),
            format!("refs/heads/main {}g refs/heads/main {zero}", &id('a')[..39]),
            format!("refs/heads/main {} refs/heads/main {zero} extra", id('a')),
            format!("refs/heads/main  {} refs/heads/main {zero}", id('a')),
            format!("--all {} refs/heads/main {zero}", id('a')),
            format!("refs/heads/main {} --output=x {zero}", id('a')),
            format!("refs/heads/main {} refs/heads/ma..in {zero}", id('a')),
        ] {
            let error = parse_pre_push(&format!(
                "refs/heads/ok {} refs/heads/ok {zero}\n{bad}\n",
                id('b')
            ))
            .expect_err(&bad)
            .to_string();
            assert!(error.contains("line 2"), "{error}");
        }
    }
}
