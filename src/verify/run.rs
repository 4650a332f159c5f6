//! Running verification over a scan's findings: one check per distinct
//! credential (however many places it appears in), answers from the cache
//! where fresh, the rest on a small pool of threads with a global and a
//! per-provider limit on requests in flight.

use super::cache::Cache;
use super::endpoint::{self, Overrides, UnsafeUrl};
use super::http::{Client, Policy};
use super::limits::{self, Deadline, Slots};
use super::templated::HttpVerifier;
use super::{Context, Credential, Status, Verification, Verifier};
use crate::finding::{Finding, Secret};
use crate::provider::Check;
use crate::rules::Rule;
use ring::digest::{Context as Hasher, SHA256};
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How verification runs (from flags and `[verify]` config).
#[derive(Debug, Clone)]
pub struct Options {
    pub policy: Policy,
    /// Requests in flight at once, over all providers.
    pub concurrency: usize,
    /// Requests in flight per provider, unless its pattern file says otherwise.
    pub provider_concurrency: usize,
    /// `None` turns the cache off (`--no-verify-cache`).
    pub cache_dir: Option<PathBuf>,
    pub cache_ttl: Duration,
    pub overrides: Overrides,
    pub verify_canaries: bool,
    /// The overall budget: checks not done by then are `skipped: deadline`.
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: Policy::default(),
            concurrency: 8,
            provider_concurrency: 2,
            cache_dir: None,
            cache_ttl: Duration::from_secs(24 * 3600),
            overrides: Overrides::default(),
            verify_canaries: false,
            deadline: limits::DEFAULT_DEADLINE,
        }
    }
}

impl Options {
    /// The options with every limit within its maximum (module `limits`),
    /// whoever built them.
    pub fn clamped(mut self) -> Self {
        self.policy.retries = self.policy.retries.min(limits::MAX_RETRIES);
        self.concurrency = self.concurrency.clamp(1, limits::MAX_CONCURRENCY);
        self.provider_concurrency = self
            .provider_concurrency
            .clamp(1, limits::MAX_PROVIDER_CONCURRENCY);
        self.deadline = self.deadline.min(limits::MAX_DEADLINE);
        self
    }
}

/// What a verification run did, for the stderr summary.
#[derive(Debug, Default)]
pub struct Summary {
    /// Distinct credentials.
    pub distinct: usize,
    /// Checks that went to a provider (the rest were cached or not checkable).
    pub checked: usize,
    pub cached: usize,
    pub by_status: BTreeMap<Status, usize>,
    /// Problems that did not stop the run (a cache that could not be written).
    pub warnings: Vec<String>,
    /// Checks that failed inside leakstop (a panic): the run is incomplete.
    pub errors: Vec<String>,
}

impl Summary {
    pub fn describe(&self, findings: usize) -> String {
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        format!(
            "leakstop: verified {} distinct credential{} in {} finding{}: {}; {} checked with the provider, {} from cache",
            self.distinct,
            if self.distinct == 1 { "" } else { "s" },
            findings,
            if findings == 1 { "" } else { "s" },
            if statuses.is_empty() { "nothing to verify".to_string() } else { statuses.join(", ") },
            self.checked,
            self.cached,
        )
    }
}

/// A check to make: one per distinct credential.
struct Job<'r> {
    /// Dedupe and cache key (see [`cache_key`]).
    key: String,
    rule: &'r Rule,
    provider: &'r str,
    credential: Credential,
    base_url: String,
    /// Indices of the findings that share this credential.
    findings: Vec<usize>,
}

/// Verifies every finding in place (`finding.verification`).
pub fn verify_findings(
    findings: &mut [Finding],
    rules: &HashMap<&str, &Rule>,
    options: &Options,
) -> Result<Summary, UnsafeUrl> {
    let options = &options.clone().clamped();
    let (jobs, decided) = plan_all(findings, rules, options)?;
    let mut summary = Summary::default();
    let results = answer(&jobs, options, &mut summary);
    // Results known without a request count once per (rule, secret), like jobs.
    let decided_distinct: HashMap<(&str, &str), Status> = decided
        .iter()
        .map(|(index, result)| {
            let finding = &findings[*index];
            (
                (finding.rule_id.as_str(), finding.fingerprint.as_str()),
                result.status,
            )
        })
        .collect();
    summary.distinct = jobs.len() + decided_distinct.len();
    for status in decided_distinct
        .into_values()
        .chain(results.iter().map(|r| r.status))
    {
        *summary.by_status.entry(status).or_default() += 1;
    }
    for (job, result) in jobs.iter().zip(results) {
        for &index in &job.findings {
            findings[index].verification = Some(result.clone());
        }
    }
    for (index, result) in decided {
        findings[index].verification = Some(result);
    }
    Ok(summary)
}

/// Groups the findings into one job per distinct credential; findings
/// whose result is known without a request come back with it.
fn plan_all<'r>(
    findings: &[Finding],
    rules: &HashMap<&str, &'r Rule>,
    options: &Options,
) -> Result<Planned<'r>, UnsafeUrl> {
    let mut jobs: Vec<Job<'r>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut decided = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let Some(&rule) = rules.get(finding.rule_id.as_str()) else {
            decided.push((index, not_supported("the rule is not loaded")));
            continue;
        };
        let (credential, base_url) = match plan(rule, finding, options)? {
            Plan::Decided(result) => {
                decided.push((index, result));
                continue;
            }
            Plan::Check(credential, base_url) => (credential, base_url),
        };
        let key = cache_key(rule, &credential, &base_url);
        if let Some(&job) = by_key.get(&key) {
            jobs[job].findings.push(index);
            continue;
        }
        by_key.insert(key.clone(), jobs.len());
        jobs.push(Job {
            key,
            rule,
            provider: &rule.provider,
            credential,
            base_url,
            findings: vec![index],
        });
    }
    Ok((jobs, decided))
}

/// One result per job: from the cache where fresh, else from the provider
/// (then cached). Counts go into `summary`.
fn answer(jobs: &[Job<'_>], options: &Options, summary: &mut Summary) -> Vec<Verification> {
    let mut cache = options
        .cache_dir
        .as_deref()
        .map(|dir| Cache::open(dir, options.cache_ttl));
    let client =
        Client::new(options.policy.clone()).with_deadline(Deadline::starting_now(options.deadline));
    let mut results: Vec<Option<Verification>> = jobs
        .iter()
        .map(|job| cache.as_ref().and_then(|c| c.get(&job.key)))
        .collect();
    for (job, result) in jobs.iter().zip(&results) {
        if result.is_some() {
            client.log(&format!(
                "{} finding(s) of {}: answered from the cache",
                job.findings.len(),
                job.rule.id
            ));
        }
    }
    let pending: Vec<usize> = (0..jobs.len()).filter(|&i| results[i].is_none()).collect();
    summary.cached = jobs.len() - pending.len();
    summary.checked = pending.len();
    let (fresh, panicked) = run_pool(jobs, &pending, &client, options);
    if panicked > 0 {
        summary.errors.push(format!(
            "{panicked} check(s) failed inside leakstop (reported as errors); the verification is incomplete"
        ));
    }
    for (job, result) in pending.into_iter().zip(fresh) {
        if let Some(cache) = cache.as_mut() {
            cache.put(jobs[job].key.clone(), &result);
        }
        results[job] = Some(result);
    }
    if let Some(cache) = cache {
        if let Err(e) = cache.save() {
            summary.warnings.push(e.to_string());
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Verification::error("not checked")))
        .collect()
}

/// The jobs to run, and (finding index, result) for findings needing none.
type Planned<'r> = (Vec<Job<'r>>, Vec<(usize, Verification)>);

enum Plan {
    Decided(Verification),
    Check(Credential, String),
}

fn not_supported(reason: &str) -> Verification {
    Verification::with_reason(Status::NotSupported, reason)
}

/// What to do for one finding: a check to make, or a result known without one.
fn plan(rule: &Rule, finding: &Finding, options: &Options) -> Result<Plan, UnsafeUrl> {
    let Some(spec) = rule.verify.as_ref() else {
        return Ok(Plan::Decided(not_supported(
            "leakstop knows no harmless read-only check for this kind of credential",
        )));
    };
    if let Check::NotSupported(reason) = &spec.check {
        return Ok(Plan::Decided(not_supported(reason)));
    }
    let mut parts = BTreeMap::new();
    parts.insert(spec.secret_name().to_string(), finding.raw_secret.clone());
    for companion in &spec.companions {
        match finding.companions.get(&companion.name) {
            Some(value) => {
                parts.insert(companion.name.clone(), value.clone());
            }
            None if companion.optional => {}
            None => {
                return Ok(Plan::Decided(Verification::with_reason(
                    Status::Skipped,
                    companion.missing_reason(),
                )))
            }
        }
    }
    let name = spec.endpoint_name(&rule.provider);
    let default = spec
        .base_url
        .as_deref()
        .or(rule.provider_verify.base_url.as_deref());
    let Some(base_url) = options.overrides.resolve(name, default) else {
        return Ok(Plan::Decided(Verification::with_reason(
            Status::Skipped,
            format!(
                "no base URL for `{name}`: set {} or [verify.base_urls] {name} in the config",
                endpoint::env_name(name)
            ),
        )));
    };
    endpoint::check(name, &base_url)?;
    Ok(Plan::Check(Credential { parts }, base_url))
}

/// The cache and dedupe key: a hash of the check (verifier, base URL) and
/// every part of the credential. Never the credential in clear.
fn cache_key(rule: &Rule, credential: &Credential, base_url: &str) -> String {
    let verifier = match rule.verify.as_ref().map(|s| &s.check) {
        Some(Check::Builtin(builtin)) => builtin.name(),
        _ => rule.id.as_str(),
    };
    let mut hasher = Hasher::new(&SHA256);
    hasher.update(b"leakstop-verify-v1\0");
    hasher.update(verifier.as_bytes());
    hasher.update(&[0]);
    hasher.update(base_url.as_bytes());
    for (name, value) in &credential.parts {
        hasher.update(&[0]);
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(Secret::expose(value).as_bytes());
    }
    hasher
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the `pending` jobs on up to `options.concurrency` threads; results in
/// the order of `pending`, and how many checks panicked. A panicking check
/// gives its provider slot back (the guard drops) and is recorded as an
/// error; the other workers go on.
fn run_pool(
    jobs: &[Job<'_>],
    pending: &[usize],
    client: &Client,
    options: &Options,
) -> (Vec<Verification>, usize) {
    let next = AtomicUsize::new(0);
    let panicked = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Verification>>> =
        pending.iter().map(|_| Mutex::new(None)).collect();
    let limits = Slots::default();
    let workers = options.concurrency.max(1).min(pending.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let slot = next.fetch_add(1, Ordering::Relaxed);
                let Some(&job) = pending.get(slot) else {
                    break;
                };
                let job = &jobs[job];
                let limit = job
                    .rule
                    .provider_verify
                    .concurrency
                    .unwrap_or(options.provider_concurrency)
                    .min(limits::MAX_PROVIDER_CONCURRENCY);
                let result = match client.past_deadline() {
                    Some(skipped) => skipped,
                    None => {
                        let _slot = limits.acquire(job.provider, limit);
                        catch_unwind(AssertUnwindSafe(|| check(job, client, options)))
                            .unwrap_or_else(|_| {
                                panicked.fetch_add(1, Ordering::Relaxed);
                                Verification::error("the check failed inside leakstop")
                            })
                    }
                };
                *slots[slot].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    let results = slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Verification::error("not checked"))
        })
        .collect();
    (results, panicked.into_inner())
}

fn check(job: &Job<'_>, client: &Client, options: &Options) -> Verification {
    let Some(spec) = job.rule.verify.as_ref() else {
        return not_supported("no verification defined");
    };
    let context = Context {
        client,
        base_url: &job.base_url,
        verify_canaries: options.verify_canaries,
    };
    match &spec.check {
        Check::Builtin(kind) => super::builtin(*kind).verify(&job.credential, &context),
        Check::Request(check) => HttpVerifier { check }.verify(&job.credential, &context),
        Check::NotSupported(reason) => not_supported(reason),
    }
}
