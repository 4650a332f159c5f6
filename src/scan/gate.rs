//! A gate holds against its input: in a range scan (a pull request, a push)
//! the commits being checked may not weaken the check. The config and the
//! baseline come from the base commit, and every way the scanned commits
//! loosen them (a rule disabled or overridden, a path, secret or regex
//! allowlisted, `[scan]` or `[verify]` changed, a baseline entry added) is
//! reported as a finding of its own. Everything is read in-process (gix).

use crate::config::{Config, CONFIG_FILE_NAME};
use crate::filter::baseline::Baseline;
use crate::finding::{fingerprint, Finding, Secret};
use crate::rules::{Confidence, Severity};
use crate::source::range::{self, Revisions};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Rule id of the findings this module makes.
pub const GATE_RULE_ID: &str = "leakstop.gate-change";

/// The trusted config and baseline of a range scan, and what the scanned
/// commits change in them.
pub struct TrustedInputs {
    pub config: Config,
    pub baseline: Baseline,
    pub changes: Vec<Finding>,
}

/// The base commit of a range (see [`range::base_commit`]), as hex.
pub fn base_revision(root: &Path, revisions: &Revisions) -> Result<Option<String>> {
    let repo = gix::discover(root)
        .with_context(|| format!("opening the repository at {}", root.display()))?;
    Ok(range::base_commit(&repo, revisions)?.map(|id| id.to_string()))
}

/// Reads the config (`.leakstop.toml` at the root) and `baseline` (a path
/// in the repository) as they are at `base`, and compares them with the
/// working tree's.
pub fn trusted_inputs(root: &Path, base: &str, baseline: Option<&Path>) -> Result<TrustedInputs> {
    let mut changes = Vec::new();
    let head_config_text = std::fs::read_to_string(root.join(CONFIG_FILE_NAME)).ok();
    let base_config_text = read_at(root, base, CONFIG_FILE_NAME)?;
    let label = PathBuf::from(format!("{base}:{CONFIG_FILE_NAME}"));
    let config = match &base_config_text {
        Some(text) => Config::parse(&label, text)
            .with_context(|| format!("the config at the base commit {base}"))?,
        None => Config::default(),
    };
    if head_config_text != base_config_text {
        let head = head_config_text.as_deref().unwrap_or_default();
        let weakened = match Config::parse(Path::new(CONFIG_FILE_NAME), head) {
            Ok(head_config) => config_weakenings(&config, &head_config),
            Err(error) => vec![Weakening::new(
                format!("changes {CONFIG_FILE_NAME} into an invalid config ({error})"),
                "",
            )],
        };
        changes.extend(
            weakened
                .into_iter()
                .map(|w| gate_finding(CONFIG_FILE_NAME, head, w)),
        );
    }
    let baseline = match baseline {
        None => Baseline::default(),
        Some(path) => trusted_baseline(root, base, path, &mut changes)?,
    };
    Ok(TrustedInputs {
        config,
        baseline,
        changes,
    })
}

/// The baseline at `base`; entries the working tree's copy adds are reported.
fn trusted_baseline(
    root: &Path,
    base: &str,
    path: &Path,
    changes: &mut Vec<Finding>,
) -> Result<Baseline> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let absolute = absolute
        .parent()
        .and_then(|dir| dir.canonicalize().ok())
        .zip(absolute.file_name())
        .map_or(absolute.clone(), |(dir, name)| dir.join(name));
    let Ok(inside) = absolute.strip_prefix(&root) else {
        // Outside the repository: the commits cannot have changed it.
        return Ok(Baseline::load(path)?);
    };
    let in_repo = inside.to_string_lossy().replace('\\', "/");
    let label = PathBuf::from(format!("{base}:{in_repo}"));
    let base_baseline = match read_at(&root, base, &in_repo)? {
        Some(text) => Baseline::parse(&label, &text)?,
        None => Baseline::default(),
    };
    let head_text = std::fs::read_to_string(&absolute).unwrap_or_default();
    if let Ok(head) = Baseline::parse(path, &head_text) {
        let known: HashSet<&String> = base_baseline.fingerprints().collect();
        let mut added: Vec<&String> = head.fingerprints().filter(|f| !known.contains(f)).collect();
        added.sort();
        for fingerprint in added {
            changes.push(gate_finding(
                &in_repo,
                &head_text,
                Weakening::new(
                    format!(
                        "adds baseline entry {fingerprint}: a secret accepted by the change itself"
                    ),
                    fingerprint,
                ),
            ));
        }
    }
    Ok(base_baseline)
}

/// One way a change loosens the gate, and a token to find its line by.
struct Weakening {
    description: String,
    needle: String,
}

impl Weakening {
    fn new(description: String, needle: &str) -> Self {
        Weakening {
            description,
            needle: needle.to_string(),
        }
    }
}

/// What `head` allows that `base` did not.
fn config_weakenings(base: &Config, head: &Config) -> Vec<Weakening> {
    let mut out = Vec::new();
    let added = |base: &[String], head: &[String]| -> Vec<String> {
        head.iter().filter(|x| !base.contains(x)).cloned().collect()
    };
    for id in added(&base.rules.disable, &head.rules.disable) {
        out.push(Weakening::new(format!("disables rule `{id}`"), &id));
    }
    let base_overrides: BTreeMap<&str, String> = base
        .rules
        .overrides
        .iter()
        .map(|o| (o.id.as_str(), format!("{o:?}")))
        .collect();
    for o in &head.rules.overrides {
        if base_overrides.get(o.id.as_str()) != Some(&format!("{o:?}")) {
            out.push(Weakening::new(format!("overrides rule `{}`", o.id), &o.id));
        }
    }
    for path in added(&base.allowlist.paths, &head.allowlist.paths) {
        out.push(Weakening::new(format!("allowlists path `{path}`"), &path));
    }
    if !added(&base.allowlist.secrets, &head.allowlist.secrets).is_empty() {
        out.push(Weakening::new(
            "allowlists secret values".to_string(),
            "secrets",
        ));
    }
    for regex in added(&base.allowlist.regexes, &head.allowlist.regexes) {
        out.push(Weakening::new(
            format!("allowlists secrets matching `{regex}`"),
            &regex,
        ));
    }
    if format!("{:?}", base.scan) != format!("{:?}", head.scan) {
        out.push(Weakening::new("changes [scan] settings".into(), "[scan]"));
    }
    if format!("{:?}", base.verify) != format!("{:?}", head.verify) {
        out.push(Weakening::new(
            "changes [verify] settings".into(),
            "[verify]",
        ));
    }
    out
}

/// A finding at the line of `text` (the changed file) that names the change.
fn gate_finding(path: &str, text: &str, weakening: Weakening) -> Finding {
    let line = if weakening.needle.is_empty() {
        1
    } else {
        text.lines()
            .position(|l| l.contains(&weakening.needle))
            .map_or(1, |i| i + 1)
    };
    let description = format!("the scanned commits {}", weakening.description);
    Finding {
        rule_id: GATE_RULE_ID.into(),
        rule_name: "Change to the scanner's own config or baseline".into(),
        provider: "leakstop".into(),
        path: path.into(),
        line,
        column: 1,
        end_line: line,
        end_column: 1,
        secret_redacted: "(not a secret)".into(),
        secret: None,
        fingerprint: fingerprint(
            GATE_RULE_ID,
            format!("{path}\0{}", weakening.description).as_bytes(),
            false,
        ),
        confidence: Confidence::High,
        severity: Severity::High,
        client_safe: false,
        context: description,
        commit: None,
        other_occurrences: None,
        original: None,
        verification: None,
        companions: BTreeMap::new(),
        encoding: Vec::new(),
        client_exposed: false,
        repository: None,
        raw_secret: Secret::new(String::new()),
        span: 0..0,
    }
}

/// Config and baseline files are small; a larger blob at the base is refused.
const MAX_TRUSTED_FILE: u64 = 16 << 20;

/// The content of `path` at commit `revision` (hex), or `None` if that
/// commit has no such file.
fn read_at(root: &Path, revision: &str, path: &str) -> Result<Option<String>> {
    let repo = gix::discover(root)
        .with_context(|| format!("opening the repository at {}", root.display()))?;
    let id = gix::ObjectId::from_hex(revision.as_bytes())
        .with_context(|| format!("`{revision}` is not a commit id"))?;
    let tree = repo
        .find_commit(id)
        .with_context(|| format!("reading commit {revision}"))?
        .tree()
        .with_context(|| format!("reading the tree of {revision}"))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .with_context(|| format!("looking up {path} at {revision}"))?
    else {
        return Ok(None);
    };
    if !entry.mode().is_blob() {
        bail!("{revision}:{path} is not a file");
    }
    let header = repo
        .find_header(entry.object_id())
        .with_context(|| format!("reading {revision}:{path}"))?;
    if header.size() > MAX_TRUSTED_FILE {
        bail!("{revision}:{path} is larger than {MAX_TRUSTED_FILE} bytes");
    }
    let blob = entry
        .object()
        .with_context(|| format!("reading {revision}:{path}"))?;
    Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()))
}
