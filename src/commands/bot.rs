//! `leakstop bot run|status|revoke` and `leakstop audit verify`: resolve
//! flags, policy, store and audit log paths, run the bot, print its summary.

use crate::bot::audit::{self, AuditLog};
use crate::bot::input;
use crate::bot::policy::Policy;
use crate::bot::run::{self, GithubSetup, Selector, Settings};
use crate::bot::store::Store;
use crate::cli::{BotCommonArgs, BotRevokeArgs, BotRunArgs, BotStoreArgs};
use crate::exit::Outcome;
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default policy file, read from the working directory when present.
const POLICY_FILE: &str = "leakstop-bot.toml";

fn store_path(args: &BotStoreArgs) -> anyhow::Result<PathBuf> {
    match &args.store {
        Some(path) => Ok(path.clone()),
        None => run::default_data_dir()
            .map(|dir| dir.join("bot.sqlite"))
            .context("no --store given and no data directory (set XDG_DATA_HOME or HOME)"),
    }
}

fn open_store(path: &Path) -> anyhow::Result<Store> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Store::open(path).with_context(|| format!("opening {}", path.display()))
}

/// Where a run's findings come from.
enum Input<'a> {
    /// A report (`--findings FILE`).
    Report(&'a Path),
    /// Scans run here (`--scan PATH...`, `--git` for history).
    Scan(&'a [PathBuf], bool),
}

/// Scans each path as `leakstop scan PATH` does (the same settings
/// resolution, engine and scan entry), keeping the secrets in memory.
fn scan_leaks(paths: &[PathBuf], git: bool, repo: &str) -> anyhow::Result<Vec<input::Leak>> {
    #[derive(clap::Parser)]
    struct ScanOnly {
        #[command(flatten)]
        input: crate::cli::ScanInput,
    }
    let mut leaks = Vec::new();
    for path in paths {
        let args = [std::ffi::OsString::from("leakstop"), path.clone().into()];
        let scan_input = <ScanOnly as clap::Parser>::try_parse_from(args)?.input;
        let mode = if git {
            crate::scan::Mode::History { all_objects: false }
        } else {
            crate::scan::Mode::Directory
        };
        let resolved = crate::commands::scan::settings::resolve(&scan_input, mode, None, false)?;
        let engine = crate::scan::setup::build_engine(&resolved.config, resolved.baseline, true)?;
        let scanned = crate::scan::run(&resolved.settings, &engine)?;
        eprintln!(
            "leakstop: bot: scanned {}: {} finding(s)",
            path.display(),
            scanned.findings.len()
        );
        leaks.extend(input::from_findings(&scanned.findings, repo)?);
    }
    Ok(leaks)
}

/// The policy: `--policy`, else ./leakstop-bot.toml when present, else the defaults.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    Ok(match path {
        Some(path) => Policy::load(path)?,
        None if Path::new(POLICY_FILE).is_file() => Policy::load(Path::new(POLICY_FILE))?,
        None => Policy::default(),
    })
}

/// The GitHub API (`--github-api` or LEAKSTOP_GITHUB_API) and GITHUB_TOKEN.
fn github_endpoint(api: Option<&str>) -> (Option<String>, Option<String>) {
    let token = std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty());
    let api = api.map(str::to_string).or_else(|| {
        std::env::var("LEAKSTOP_GITHUB_API")
            .ok()
            .filter(|v| !v.is_empty())
    });
    (api, token)
}

fn github_from(api: Option<String>, token: Option<String>) -> Option<GithubSetup> {
    match (api, token) {
        (Some(api), token) => Some(GithubSetup { api, token }),
        (None, Some(token)) => Some(GithubSetup {
            api: crate::github::DEFAULT_API.into(),
            token: Some(token),
        }),
        (None, None) => None,
    }
}

/// GitHub for issues as a personal access token sees it (the dashboard's
/// links; the bot itself may use a GitHub App instead).
pub fn github_setup(api: Option<&str>) -> Option<GithubSetup> {
    let (api, token) = github_endpoint(api);
    github_from(api, token)
}

fn settings(
    common: &BotCommonArgs,
    findings: Input<'_>,
    selector: Selector,
    force: bool,
) -> anyhow::Result<Settings> {
    let mut policy = load_policy(common.policy.as_deref())?;
    // CODEOWNERS and commit authors are read where the findings come from.
    if let Input::Scan(paths, _) = &findings {
        policy.checkout = paths.first().cloned();
    }
    let (api, token) = github_endpoint(common.github_api.as_deref());
    // A GitHub App named in the policy authenticates instead of the token.
    let token = match &policy.github_app {
        // (A dry run sends nothing, not even for a token.)
        Some(app) if common.execute => {
            let api = api
                .clone()
                .unwrap_or_else(|| crate::github::DEFAULT_API.into());
            let mut cache = crate::github::app::TokenCache::new();
            let timeout = Duration::from_secs_f64(common.timeout);
            Some(app.installation_token(&api, timeout, &mut cache)?)
        }
        _ => token,
    };
    let github = github_from(api, token);
    // Admin credentials: the policy names the variables; only their values
    // (never written anywhere) reach the providers that need them.
    let credentials = policy
        .credentials
        .iter()
        .map(|(provider, names)| {
            let values = names
                .iter()
                .filter_map(|(name, var)| {
                    let value = std::env::var(var).ok().filter(|v| !v.is_empty())?;
                    Some((name.clone(), crate::finding::Secret::new(value)))
                })
                .collect();
            (provider.clone(), values)
        })
        .collect();
    let store_token = policy
        .store
        .as_ref()
        .and_then(|store| std::env::var(store.token_var()).ok())
        .filter(|t| !t.is_empty())
        .map(crate::finding::Secret::new);
    Ok(Settings {
        store_token,
        credentials,
        leaks: match findings {
            Input::Report(path) => input::read(path, &common.repo)?,
            Input::Scan(paths, git) => scan_leaks(paths, git, &common.repo)?,
        },
        execute: common.execute,
        force_revoke: force,
        public: common.public,
        selector,
        policy,
        github,
        timeout: Duration::from_secs_f64(common.timeout),
        overrides: crate::verify::endpoint::Overrides::default(),
    })
}

/// Runs the bot with `settings`, its per-incident lines to `out`.
fn execute(
    common: &BotCommonArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> anyhow::Result<run::Summary> {
    let path = store_path(&common.store)?;
    let store = if settings.execute {
        open_store(&path)?
    } else if path.is_file() {
        Store::open(&path).with_context(|| format!("opening {}", path.display()))?
    } else {
        Store::in_memory()?
    };
    let audit_path = common
        .audit_log
        .clone()
        .unwrap_or_else(|| path.with_file_name("audit.jsonl"));
    let mut log = if settings.execute {
        AuditLog::open(&audit_path, audit::actor())?
    } else {
        // A dry run writes nothing: its log is a scratch file.
        let scratch =
            std::env::temp_dir().join(format!("leakstop-dry-run-{}.jsonl", std::process::id()));
        let log = AuditLog::open(&scratch, audit::actor())?;
        let _ = std::fs::remove_file(&scratch);
        log
    };
    let summary = run::run(settings, &store, &mut log, out)?;
    let states: Vec<String> = summary
        .by_state
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    eprintln!(
        "leakstop: bot: {} incident(s) ({} new, {} new location(s)){}{}",
        summary.incidents,
        summary.new_incidents,
        summary.new_locations,
        if states.is_empty() {
            String::new()
        } else {
            format!(": {}", states.join(", "))
        },
        if settings.execute {
            format!(
                "; audit log {} (head {})",
                audit_path.display(),
                &log.head()[..12]
            )
        } else {
            String::new()
        }
    );
    for error in &summary.errors {
        eprintln!("leakstop: bot: {error}");
    }
    Ok(summary)
}

fn outcome(summary: &run::Summary) -> Outcome {
    Outcome {
        findings: 0,
        live_findings: summary.live_left,
        incomplete: !summary.errors.is_empty(),
    }
}

fn execute_to_stdout(common: &BotCommonArgs, settings: &Settings) -> anyhow::Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    execute(common, settings, &mut out).map(|summary| outcome(&summary))
}

pub fn run(args: &BotRunArgs) -> anyhow::Result<Outcome> {
    let input = match &args.findings {
        Some(path) => Input::Report(path),
        None => Input::Scan(&args.scan, args.git),
    };
    let settings = settings(&args.common, input, Selector::All, false)?;
    execute_to_stdout(&args.common, &settings)
}

/// `bot revoke` for another front end (`leakstop serve`): the same
/// settings, the same run, its per-incident lines to `out`.
pub fn revoke_selected(
    common: &BotCommonArgs,
    findings: &Path,
    selector: Selector,
    out: &mut dyn Write,
) -> anyhow::Result<run::Summary> {
    let settings = settings(common, Input::Report(findings), selector, true)?;
    execute(common, &settings, out)
}

pub fn revoke(args: &BotRevokeArgs) -> anyhow::Result<Outcome> {
    let selector = match (&args.incident, &args.fingerprint, &args.provider) {
        (Some(id), _, _) => Selector::Incident(*id),
        (_, Some(fp), _) => Selector::Fingerprint(fp.clone()),
        (_, _, Some(provider)) => Selector::ProviderLive(provider.clone()),
        _ => anyhow::bail!("name --incident, --fingerprint or --provider with --all-live"),
    };
    let settings = settings(&args.common, Input::Report(&args.findings), selector, true)?;
    execute_to_stdout(&args.common, &settings)
}

pub fn status(args: &BotStoreArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let path = store_path(args)?;
    if !path.is_file() {
        writeln!(out, "no incidents yet ({} does not exist)", path.display())?;
        return Ok(Outcome::default());
    }
    let store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
    run::status(&store, out)?;
    Ok(Outcome::default())
}

/// `bot drill`: fails unless every planted key was revoked, confirmed dead
/// and its issue opened and closed.
pub fn drill(out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let outcomes = crate::bot::drill::drill(out)?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !(o.dead && o.issue_closed))
        .map(|o| o.rule_id.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("the drill failed for {}", failed.join(", "));
    }
    Ok(Outcome::default())
}

/// `audit verify`: exit 0 for an intact chain; otherwise every problem is
/// printed and the command fails.
pub fn audit_verify(file: &Path, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let report = audit::verify(file).with_context(|| format!("reading {}", file.display()))?;
    for problem in &report.problems {
        writeln!(out, "{}: {problem}", file.display())?;
    }
    if !report.problems.is_empty() {
        anyhow::bail!(
            "{}: the audit chain is broken ({} problem(s))",
            file.display(),
            report.problems.len()
        );
    }
    writeln!(
        out,
        "{}: {} record(s), chain intact, head {}",
        file.display(),
        report.records,
        report.head
    )?;
    Ok(Outcome::default())
}
