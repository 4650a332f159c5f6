//! `leakstop scan` and `leakstop baseline create`: assemble rules, filters and
//! the source from the arguments and config, run the scan, write the report.

use crate::bundle::{BundleOptions, BundleScanner, FsMaps, MapLookup};
use crate::cli::{Color, ScanArgs, ScanInput, ScanTarget, UrlArgs};
use crate::config::{self, Config};
use crate::engine::Engine;
use crate::exit::Outcome;
use crate::filter::baseline::{write_baseline, Baseline};
use crate::filter::Filters;
use crate::finding::Finding;
use crate::matcher::Matcher;
use crate::report::{self, Report};
use crate::rules::{self, Rule};
use crate::source::archive::ArchiveLimits;
use crate::source::fs::{self, FsOptions, DEFAULT_MAX_FILE_SIZE};
use crate::source::history;
use crate::source::odb::ObjectScanOptions;
use crate::source::range::{self, Revisions};
use crate::source::staged::{self, StagedOptions};
use crate::source::url::{self, Crawl, UrlOptions, WebUrl};
use crate::source::{Admission, Blob, BlobSink};
use crate::stats::{ScanStats, StatsCollector, VerificationStats};
use crate::verify;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs `leakstop scan`.
pub fn scan(args: &ScanArgs) -> Result<Outcome> {
    if let Some(ScanTarget::Url(url)) = &args.target {
        if args.input.path != Path::new(".") {
            bail!(
                "`scan url` scans a URL, not a PATH: remove `{}`",
                args.input.path.display()
            );
        }
        return scan_url(args, url);
    }
    let mut input = args.input.clone();
    let revisions = revisions(args)?;
    if args.staged || args.git || revisions.is_some() {
        input.path = crate::source::git::repository_root(&input.path)?;
    }
    let config = load_config(&input)?;
    let baseline = match &args.baseline {
        Some(path) => Baseline::load(path)?,
        None => Baseline::default(),
    };
    let engine = build_engine(&config, baseline, args.show_secrets)?;
    let (findings, stats) = if args.staged {
        run_staged(&input, &config, &engine)?
    } else if args.git {
        let progress = !args.no_progress;
        run_history(&input, &config, &engine, args.all_objects, progress)?
    } else if let Some(revisions) = revisions {
        let progress = !args.no_progress;
        run_range(
            &input,
            &config,
            &engine,
            revisions,
            args.all_objects,
            progress,
        )?
    } else {
        run(&input, &config, &engine, !args.no_progress)?
    };

    report_outcome(args, &config, &engine, findings, stats)
}

/// Writes the report in the requested format and the summary; the outcome
/// that decides the exit code.
fn report_outcome(
    args: &ScanArgs,
    config: &Config,
    engine: &Engine,
    mut findings: Vec<Finding>,
    mut stats: ScanStats,
) -> Result<Outcome> {
    let unused_baseline = engine
        .filters()
        .baseline()
        .unused(&engine.baseline_hits())
        .count();
    let rules_by_id: HashMap<&str, &Rule> = engine
        .matcher()
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut live_findings = 0;
    if args.verify || args.only_verified {
        let options = verify_options(args, config)?;
        let summary = verify::verify_findings(&mut findings, &rules_by_id, &options)?;
        eprintln!("{}", summary.describe(findings.len()));
        stats.verification = Some(VerificationStats {
            distinct_credentials: summary.distinct,
            checked: summary.checked,
            cached: summary.cached,
            by_status: summary
                .by_status
                .iter()
                .map(|(status, n)| (status.to_string(), *n))
                .collect(),
        });
        for warning in &summary.warnings {
            eprintln!("leakstop: warning: {warning}");
        }
        let is_live = |f: &Finding| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == verify::Status::Live)
        };
        if args.only_verified {
            findings.retain(is_live);
            stats.findings = findings.len() as u64;
        }
        live_findings = findings.iter().filter(|f| is_live(f)).count();
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let report = Report {
        findings: &findings,
        stats: &stats,
        rules: rules_by_id,
        color,
    };
    match &args.output {
        Some(path) => {
            let mut buffer = Vec::new();
            report::write(args.format, &report, &mut buffer)?;
            std::fs::write(path, buffer)
                .with_context(|| format!("writing report to {}", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            report::write(args.format, &report, &mut stdout)?;
            stdout.flush()?;
        }
    }
    eprintln!("{}", report::summary(&stats, unused_baseline));
    if (args.staged || args.pre_push) && !findings.is_empty() {
        eprintln!("{BLOCKED_COMMIT_HELP}");
    }
    Ok(Outcome {
        findings: findings.len(),
        live_findings,
        incomplete: stats.incomplete(),
    })
}

/// Verification settings: flags win over `[verify]` in the config.
fn verify_options(args: &ScanArgs, config: &Config) -> Result<verify::Options> {
    let settings = &config.verify;
    let defaults = verify::Options::default();
    let log = args.verbose
        || std::env::var("LEAKSTOP_LOG")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "debug" | "trace"));
    let timeout = args
        .verify_timeout
        .or(settings.timeout)
        .map_or(defaults.policy.timeout, Duration::from_secs_f64);
    let cache_dir = if args.no_verify_cache || settings.cache == Some(false) {
        None
    } else {
        verify::cache::default_dir()
    };
    // Overrides from the environment must be as safe as the config's.
    for (name, value) in std::env::vars() {
        if let Some(endpoint) = name.strip_prefix(verify::endpoint::ENV_PREFIX) {
            if !value.is_empty() {
                verify::endpoint::check(&endpoint.to_ascii_lowercase(), &value)
                    .with_context(|| format!("environment variable {name}"))?;
            }
        }
    }
    // A repository's own config can move where its secrets are verified:
    // say so, so that it is never silent.
    for (name, url) in &settings.base_urls {
        eprintln!("leakstop: verify: base URL for `{name}` from the config: {url}");
    }
    Ok(verify::Options {
        policy: verify::http::Policy {
            timeout,
            retries: settings.retries.unwrap_or(defaults.policy.retries),
            log,
            ..defaults.policy
        },
        concurrency: settings.concurrency.unwrap_or(defaults.concurrency),
        provider_concurrency: settings
            .provider_concurrency
            .unwrap_or(defaults.provider_concurrency),
        cache_dir,
        cache_ttl: settings
            .cache_ttl
            .map_or(defaults.cache_ttl, Duration::from_secs),
        overrides: verify::endpoint::Overrides::new(settings.base_urls.clone()),
        verify_canaries: settings.canaries.unwrap_or(false),
    })
}

/// What a developer whose commit was blocked can do.
const BLOCKED_COMMIT_HELP: &str = "leakstop: commit blocked: the staged changes above contain secrets. Either
  1. remove the secret from the file and `git add` it again (rotate it if it was ever pushed or shared);
  2. if it is not a secret, add `leakstop:allow` in a comment on that line (or on a comment line above);
  3. or accept it: `leakstop baseline create -o .leakstop-baseline.json`, and run the hook with
     `leakstop scan --staged --baseline .leakstop-baseline.json`.";

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

/// Scans the blobs the commits of a range introduce (PR checks, pre-push).
fn run_range(
    input: &ScanInput,
    config: &Config,
    engine: &Engine,
    revisions: Revisions,
    all_objects: bool,
    progress: bool,
) -> Result<(Vec<Finding>, ScanStats)> {
    run_commits(
        input,
        config,
        engine,
        all_objects,
        progress,
        |options, sink, stats| {
            Ok(range::scan(
                options,
                &revisions,
                engine.filters(),
                sink,
                stats,
            )?)
        },
    )
}

/// Scans every blob reachable from any ref (`--git`).
fn run_history(
    input: &ScanInput,
    config: &Config,
    engine: &Engine,
    all_objects: bool,
    progress: bool,
) -> Result<(Vec<Finding>, ScanStats)> {
    run_commits(
        input,
        config,
        engine,
        all_objects,
        progress,
        |options, sink, stats| Ok(history::scan(options, engine.filters(), sink, stats)?),
    )
}

/// Runs a commit-walking source (history or range) on the worker threads;
/// `source` returns the number of commits it walked.
fn run_commits(
    input: &ScanInput,
    config: &Config,
    engine: &Engine,
    all_objects: bool,
    progress: bool,
    source: impl FnOnce(&ObjectScanOptions, &dyn BlobSink, &StatsCollector) -> Result<usize> + Send,
) -> Result<(Vec<Finding>, ScanStats)> {
    let started = Instant::now();
    let options = ObjectScanOptions {
        repo: input.path.clone(),
        admission: Admission {
            max_file_size: max_file_size(input, config),
            default_excludes: default_excludes(input, config),
        },
        all_objects,
    };
    let (commits, findings, stats) =
        collect(engine, input, config, started, progress, |sink, stats| {
            in_thread_pool(input.threads, || source(&options, sink, stats))
        })?;
    eprintln!(
        "leakstop: walked {commits} commit{}",
        if commits == 1 { "" } else { "s" }
    );
    Ok((findings, stats))
}

/// Runs `work` on `threads` worker threads (`--threads`), or on rayon's
/// default of one per CPU.
fn in_thread_pool<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    match crate::threads::cap(threads) {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("starting worker threads")?
            .install(work),
        None => work(),
    }
}

/// Scans the index against HEAD (pre-commit).
fn run_staged(
    input: &ScanInput,
    config: &Config,
    engine: &Engine,
) -> Result<(Vec<Finding>, ScanStats)> {
    let started = Instant::now();
    let options = StagedOptions {
        repo: input.path.clone(),
        max_file_size: max_file_size(input, config),
        default_excludes: default_excludes(input, config),
    };
    let ((), findings, stats) = collect(engine, input, config, started, false, |sink, stats| {
        Ok(staged::scan(&options, engine.filters(), sink, stats)?)
    })?;
    Ok((findings, stats))
}

/// Runs a source into a fresh collector; its result, the sorted findings and the stats.
fn collect<T>(
    engine: &Engine,
    input: &ScanInput,
    config: &Config,
    started: Instant,
    progress: bool,
    source: impl FnOnce(&dyn BlobSink, &StatsCollector) -> Result<T>,
) -> Result<(T, Vec<Finding>, ScanStats)> {
    let stats = StatsCollector::default();
    let collector = Collector {
        scanner: bundle_scanner(engine, input, config, None),
        stats: &stats,
        findings: Mutex::default(),
    };
    let value = with_progress(progress, &stats, || source(&collector, &stats))?;
    let Collector { findings, .. } = collector;
    let (findings, stats) = finish(findings, stats, started);
    Ok((value, findings, stats))
}

fn max_file_size(input: &ScanInput, config: &Config) -> u64 {
    input
        .max_file_size
        .or(config.max_file_size())
        .unwrap_or(DEFAULT_MAX_FILE_SIZE)
}

fn default_excludes(input: &ScanInput, config: &Config) -> bool {
    !input.no_default_excludes && config.scan.default_excludes.unwrap_or(true)
}

/// Sorts the findings by location and closes the stats.
pub fn finish(
    findings: Mutex<Vec<Finding>>,
    stats: StatsCollector,
    started: Instant,
) -> (Vec<Finding>, ScanStats) {
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
    let count = findings.len();
    (findings, stats.finish(count, started.elapsed()))
}

/// Runs `leakstop baseline create`: every current finding becomes an entry.
pub fn create_baseline(input: &ScanInput, output: &Path) -> Result<Outcome> {
    let config = load_config(input)?;
    let engine = build_engine(&config, Baseline::default(), false)?;
    let (findings, stats) = run(input, &config, &engine, true)?;
    let count = write_baseline(output, &findings)?;
    eprintln!("{}", report::summary(&stats, 0));
    eprintln!(
        "leakstop: wrote {count} baseline entr{} ({} finding{}) to {}",
        if count == 1 { "y" } else { "ies" },
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        output.display()
    );
    Ok(Outcome {
        findings: 0,
        live_findings: 0,
        incomplete: stats.incomplete(),
    })
}

fn load_config(input: &ScanInput) -> Result<Config> {
    if !input.path.exists() {
        bail!("scan path {} does not exist", input.path.display());
    }
    let config = config::discover(input.config.as_deref(), &input.path, input.no_config)?;
    if let Some(source) = &config.source {
        eprintln!("leakstop: using config {}", source.display());
    }
    Ok(config)
}

/// The rule set after the config's disables, overrides and extra rules.
pub fn assemble_rules(config: &Config) -> Result<Vec<Rule>> {
    let mut rules = rules::embedded_rules()?;
    let known: HashSet<String> = rules.iter().map(|r| r.id.clone()).collect();
    for id in &config.rules.disable {
        if !known.contains(id) {
            bail!("config: rules.disable names unknown rule `{id}` (see `leakstop rules list`)");
        }
    }
    rules.retain(|r| !config.rules.disable.contains(&r.id));
    for o in &config.rules.overrides {
        let Some(rule) = rules.iter_mut().find(|r| r.id == o.id) else {
            if known.contains(&o.id) {
                continue; // overriding a disabled rule is harmless
            }
            bail!("config: rules.override names unknown rule `{}`", o.id);
        };
        if let Some(severity) = o.severity {
            rule.severity = severity;
        }
        if let Some(confidence) = o.confidence {
            rule.confidence = confidence;
        }
        if o.min_entropy.is_some() {
            rule.min_entropy = o.min_entropy;
        }
    }
    rules.extend(config.rule.iter().cloned());
    rules::ensure_unique_ids(&rules)?;
    Ok(rules)
}

pub fn build_engine(config: &Config, baseline: Baseline, show_secrets: bool) -> Result<Engine> {
    let matcher = Matcher::new(assemble_rules(config)?)?;
    let filters = Filters::new(config, baseline)?;
    Ok(Engine::new(matcher, filters, show_secrets))
}

/// The bundle features the arguments and the config's `[scan]` leave on
/// (a flag wins over the config).
pub fn bundle_options(input: &ScanInput, config: &Config) -> BundleOptions {
    let scan = &config.scan;
    BundleOptions {
        decode: !input.no_decode && scan.decode.unwrap_or(true),
        sourcemaps: !input.no_sourcemaps && scan.sourcemaps.unwrap_or(true),
        show_client_safe: input.show_client_safe || scan.show_client_safe.unwrap_or(false),
        ..BundleOptions::default()
    }
}

fn bundle_scanner<'a>(
    engine: &'a Engine,
    input: &ScanInput,
    config: &Config,
    maps: Option<&'a dyn MapLookup>,
) -> BundleScanner<'a> {
    BundleScanner {
        engine,
        options: bundle_options(input, config),
        maps,
    }
}

/// Feeds blobs to the engine (through the bundle layers) and keeps the findings.
pub struct Collector<'a> {
    pub scanner: BundleScanner<'a>,
    pub stats: &'a StatsCollector,
    pub findings: Mutex<Vec<Finding>>,
}

impl BlobSink for Collector<'_> {
    fn blob(&self, blob: &Blob<'_>) {
        let mut found = self
            .scanner
            .scan(blob.data, blob.path, blob.kind, self.stats);
        if let Some(lines) = blob.lines {
            found.retain(|f| lines.iter().any(|range| range.contains(&f.line)));
        }
        // Read the previous version only when there is something to compare.
        let previous = match blob.previous {
            Some(read) if !found.is_empty() => read(),
            _ => None,
        };
        if let Some(previous) = previous {
            // Secrets the file already had before this commit are not new.
            let before: HashSet<String> = self
                .scanner
                .scan(&previous, blob.path, blob.kind, &StatsCollector::default())
                .into_iter()
                .map(|f| f.fingerprint)
                .collect();
            found.retain(|f| !before.contains(&f.fingerprint));
        }
        if let Some(commit) = blob.commit {
            for finding in &mut found {
                finding.commit = Some(commit.clone());
                finding.other_occurrences = Some(blob.also_in);
            }
        }
        if !found.is_empty() {
            self.findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
    }
}

/// Scans the filesystem at `input.path`; findings come back sorted by location.
pub fn run(
    input: &ScanInput,
    config: &Config,
    engine: &Engine,
    progress: bool,
) -> Result<(Vec<Finding>, ScanStats)> {
    let started = Instant::now();
    let options = FsOptions {
        root: input.path.clone(),
        respect_ignore_files: !input.no_ignore,
        follow_symlinks: input.follow_symlinks,
        max_file_size: max_file_size(input, config),
        default_excludes: default_excludes(input, config),
        threads: crate::threads::cap(input.threads).unwrap_or(0),
        archives: (!input.no_archives && config.scan.archives.unwrap_or(true))
            .then(ArchiveLimits::default),
    };
    let stats = StatsCollector::default();
    let maps = FsMaps {
        root: input.path.clone(),
    };
    let collector = Collector {
        scanner: bundle_scanner(engine, input, config, Some(&maps)),
        stats: &stats,
        findings: Mutex::default(),
    };
    with_progress(progress, &stats, || {
        fs::walk(&options, engine.filters(), &collector, &stats)
    });
    let Collector { findings, .. } = collector;
    Ok(finish(findings, stats, started))
}

/// Runs `work`, with a progress line on a terminal's stderr if `progress`.
fn with_progress<T>(progress: bool, stats: &StatsCollector, work: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if progress && std::io::stderr().is_terminal() {
            scope.spawn(|| draw_progress(stats, &done));
        }
        let value = work();
        done.store(true, Ordering::Relaxed);
        value
    })
}

/// A one-line progress indicator on stderr, drawn only on a terminal and only
/// once a scan has run long enough to need one.
fn draw_progress(stats: &StatsCollector, done: &AtomicBool) {
    let started = Instant::now();
    let mut drawn = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() < Duration::from_millis(500) {
            continue;
        }
        let (files, bytes) = stats.progress();
        eprint!(
            "\r\x1b[2Kscanning: {files} files, {}",
            report::human_bytes(bytes)
        );
        drawn = true;
    }
    if drawn {
        eprint!("\r\x1b[2K");
    }
}

/// Runs `leakstop scan url`: fetch, then scan everything fetched as
/// client-side code, with the fetched maps for bundle positions.
fn scan_url(args: &ScanArgs, url_args: &UrlArgs) -> Result<Outcome> {
    let start = WebUrl::parse(&url_args.url)
        .ok_or_else(|| anyhow!("`{}` is not an http:// or https:// URL", url_args.url))?;
    let allowed_origins = url_args
        .allow_origins
        .iter()
        .map(|o| {
            WebUrl::parse(o)
                .map(|u| u.origin())
                .ok_or_else(|| anyhow!("--allow-origin `{o}` is not an http(s) origin"))
        })
        .collect::<Result<Vec<_>>>()?;
    // A URL scan has no scan root: only an explicit --config applies.
    let config = config::discover(args.input.config.as_deref(), Path::new("."), true)?;
    let baseline = match &args.baseline {
        Some(path) => Baseline::load(path)?,
        None => Baseline::default(),
    };
    let engine = build_engine(&config, baseline, args.show_secrets)?;
    let started = Instant::now();
    let stats = StatsCollector::default();
    let options = UrlOptions {
        start,
        allowed_origins,
        allow_private_addresses: url_args.allow_private_addresses,
        max_requests: url_args.max_requests,
        max_bytes: url_args.max_download,
        max_response: max_file_size(&args.input, &config),
        time_limit: Duration::from_secs(url_args.time_limit),
        user_agent: url_args.user_agent.clone().unwrap_or_else(|| {
            format!(
                "leakstop/{} (secret scanner; client-bundle audit)",
                env!("CARGO_PKG_VERSION")
            )
        }),
    };
    let crawl = url::crawl(&options, &stats);
    eprintln!(
        "leakstop: fetched {} resource{}{}",
        crawl.resources.len(),
        if crawl.resources.len() == 1 { "" } else { "s" },
        if crawl.payloads.is_empty() {
            String::new()
        } else {
            format!(
                "; framework data in the page: {}",
                crawl.payloads.join(", ")
            )
        }
    );
    let maps = UrlMaps { crawl: &crawl };
    let collector = Collector {
        scanner: BundleScanner {
            engine: &engine,
            options: BundleOptions {
                all_client_side: true,
                ..bundle_options(&args.input, &config)
            },
            maps: Some(&maps),
        },
        stats: &stats,
        findings: Mutex::default(),
    };
    let admission = Admission {
        max_file_size: max_file_size(&args.input, &config),
        default_excludes: default_excludes(&args.input, &config),
    };
    for resource in &crawl.resources {
        let path = resource.url.to_string();
        if let Some(kind) = admission.admit(&resource.body, &path, &stats) {
            collector.blob(&Blob {
                data: &resource.body,
                path: &path,
                kind,
                lines: None,
                commit: None,
                previous: None,
                also_in: 0,
            });
        }
    }
    let Collector { findings, .. } = collector;
    let (findings, stats) = finish(findings, stats, started);
    report_outcome(args, &config, &engine, findings, stats)
}

/// The source maps a crawl fetched, by the script that names them.
struct UrlMaps<'a> {
    crawl: &'a Crawl,
}

impl MapLookup for UrlMaps<'_> {
    fn map_for(&self, path: &str, _reference: Option<&str>) -> Option<Result<Vec<u8>, String>> {
        let map_url = self.crawl.maps.get(path)?;
        self.crawl
            .resources
            .iter()
            .find(|r| &r.url.to_string() == map_url)
            .map(|r| Ok(r.body.clone()))
    }
}
