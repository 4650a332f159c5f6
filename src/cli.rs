//! Command-line definitions. No logic lives here.

pub use crate::report::Format;
use crate::units::{parse_seconds, parse_size};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "leakstop",
    version,
    about = "Find leaked credentials in working trees, git history and client bundles",
    after_help = "Exit codes: 0 clean, 1 findings, 2 live findings, 3 incomplete scan, 4 usage or configuration error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a directory for secrets (or, with `scan url`, a deployed web app).
    Scan(Box<ScanArgs>),
    /// Manage baseline files of accepted findings.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// List and check detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Install git hooks that run leakstop.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Run as the GitHub Action does (action.yml): pick what to scan from the
    /// workflow's event, scan, annotate files and lines, write the job
    /// summary, the SARIF file and the step outputs.
    Action(ActionArgs),
    /// The revocation bot: incidents, verify, revoke, issues, audit (docs/bot.md).
    #[command(subcommand)]
    Bot(BotCommand),
    /// A web dashboard over the bot's incident store on 127.0.0.1: incidents,
    /// timelines, time to revoke, and emergency revocation behind a token
    /// (docs/dashboard.md).
    Serve(ServeArgs),
    /// Check the bot's hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Work with reports.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine JSON reports (the shards of `scan github --shard K/N`) into
    /// one: findings sorted as one run sorts them, stats summed.
    Merge {
        /// JSON reports (`--format json`).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged report to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Output format of the merged report.
        #[arg(long, short, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Render JSON or JSONL reports as one self-contained HTML page: counts
    /// by provider, severity, verification and repository, charts, and a
    /// sortable, filterable table (secrets redacted; no network requests).
    Html {
        /// JSON (`--format json`) or JSON Lines (`--format jsonl`) reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the page to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// File findings into incidents and drive each one forward by policy
    /// (a dry run printing the plan unless --execute).
    Run(BotRunArgs),
    /// Incidents by state, oldest first, with time since detection.
    Status {
        #[command(flatten)]
        store: BotStoreArgs,
    },
    /// Revoke now, whatever the policy says (a dry run unless --execute).
    Revoke(BotRevokeArgs),
    /// Run the whole pipeline against built-in fake providers and a fake
    /// GitHub on 127.0.0.1 with planted keys; report the time from detection
    /// to confirmed revocation and the provider calls for each provider.
    Drill,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; names a changed, deleted, inserted or reordered record.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct BotStoreArgs {
    /// The incident store (SQLite; default $XDG_DATA_HOME/leakstop/bot.sqlite).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["findings", "scan"])))]
pub struct BotRunArgs {
    /// A leakstop JSON or JSONL report; to verify and revoke it must carry
    /// the secrets (`scan --show-secrets --format jsonl`).
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
    /// Scan these paths (as `leakstop scan PATH` does, with each path's
    /// .leakstop.toml) instead of reading a report; the secrets stay in memory.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub scan: Vec<PathBuf>,
    /// With --scan: scan each repository's git history, not its files.
    #[arg(long, requires = "scan")]
    pub git: bool,
    #[command(flatten)]
    pub common: BotCommonArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["incident", "fingerprint", "provider"])))]
pub struct BotRevokeArgs {
    /// The incident id (`bot status`).
    #[arg(long)]
    pub incident: Option<i64>,
    /// The incident's fingerprint.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// Every live incident of this provider (with --all-live).
    #[arg(long, requires = "all_live")]
    pub provider: Option<String>,
    #[arg(long)]
    pub all_live: bool,
    /// The report holding the secrets (the store never keeps them).
    #[arg(long, value_name = "FILE")]
    pub findings: PathBuf,
    #[command(flatten)]
    pub common: BotCommonArgs,
}

#[derive(Debug, Args)]
pub struct BotCommonArgs {
    #[command(flatten)]
    pub store: BotStoreArgs,
    /// The repository the findings come from (`owner/name`), for issues and links.
    #[arg(long, value_name = "OWNER/NAME", default_value = "")]
    pub repo: String,
    /// The repository is public: no overlap window, revoke at once.
    #[arg(long)]
    pub public: bool,
    /// The policy (default: ./leakstop-bot.toml if present, else built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The audit log (default: next to the store, audit.jsonl).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// GitHub API base URL for issues (GHES: https://HOST/api/v3; default
    /// LEAKSTOP_GITHUB_API, else https://api.github.com); token from GITHUB_TOKEN.
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
    /// Seconds to wait for any one answer.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: f64,
    /// Act: send the calls. Without it the run only prints its plan.
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Print the plan and change nothing (the default).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("auth").required(true).args(["token_file", "token_env"])))]
pub struct ServeArgs {
    /// The bot's incident store (SQLite).
    #[arg(long, value_name = "PATH")]
    pub store: PathBuf,
    /// Address to listen on (IP or IP:PORT; default 127.0.0.1:8765, or a
    /// loopback LEAKSTOP_SERVE_BIND). A non-loopback address is taken only
    /// from this flag, with a warning.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// File holding the token that emergency actions require (first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding that token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// The report holding the secrets, as for `bot revoke` (the store never
    /// keeps them); without it the emergency actions are off.
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,
    /// The repository the findings come from (`owner/name`), as for `bot revoke`.
    #[arg(long, value_name = "OWNER/NAME", default_value = "")]
    pub repo: String,
    /// The repository is public (as for `bot revoke`).
    #[arg(long)]
    pub public: bool,
    /// The policy (default: ./leakstop-bot.toml if present, else built-in
    /// defaults); its overlap windows decide which incidents are overdue.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The audit log (default: next to the store, audit.jsonl).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// GitHub API base URL for issues and links (as for `bot revoke`).
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
    /// Seconds to wait for any one provider answer.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install a pre-commit hook running `leakstop scan --staged`, or with
    /// --pre-push a pre-push hook running `leakstop scan --pre-push` (into the
    /// repository's hooks directory, honouring core.hooksPath).
    Install {
        /// Any directory inside the repository.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Replace an existing hook that leakstop did not write.
        #[arg(long, conflicts_with = "chain")]
        force: bool,
        /// Keep an existing hook: move it to `<hook>.local` and run it first.
        #[arg(long)]
        chain: bool,
        /// Install the pre-push hook (scans the commits being pushed) instead.
        #[arg(long)]
        pre_push: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan and record every current finding, so later scans report only new ones.
    Create {
        #[command(flatten)]
        scan: ScanInput,
        /// Where to write the baseline.
        #[arg(long, short, default_value = ".leakstop-baseline.json")]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule: id, provider, confidence, severity.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule files and run their examples.
    Check {
        /// Rule files (TOML, same format as patterns/).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// What to scan and which rules and filters apply.
#[derive(Debug, Args, Clone)]
pub struct ScanInput {
    /// Directory or file to scan; `-` (standard input) or a FIFO such as
    /// `<(cmd)` is read as one stream, up to --max-file-size.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Configuration file (default: .leakstop.toml at the scan root, if present).
    #[arg(global = true, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any .leakstop.toml at the scan root.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Scan files that .gitignore and similar files exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Skip files larger than this (bytes; K, M and G suffixes accepted).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Also report findings in lockfiles' integrity hashes, vendored
    /// dependency folders and generated files.
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Do not decode JS escapes, percent-encoding and base64 before matching.
    #[arg(global = true, long)]
    pub no_decode: bool,
    /// Treat source maps as plain text: no per-source scanning of
    /// `sourcesContent`, no bundle → original positions.
    #[arg(global = true, long)]
    pub no_sourcemaps: bool,
    /// Do not look inside zip/jar/apk/whl/tar/tgz/gz archives.
    #[arg(long)]
    pub no_archives: bool,
    /// Report publishable (client-safe) keys found in client-side code, as
    /// info, instead of suppressing them (docs/client-side.md).
    #[arg(global = true, long)]
    pub show_client_safe: bool,
    /// Report well-known public values (documentation examples such as
    /// `AKIAIOSFODNN7EXAMPLE`, emulator keys; patterns/known-public/) as
    /// info, instead of counting them as suppressed.
    #[arg(global = true, long)]
    pub show_known_public: bool,
}

#[derive(Debug, Args)]
// Report options may go either side of `url` (they are global); a PATH
// given with `url` is refused by the command.
#[command(
    subcommand_negates_reqs = true,
    override_usage = "leakstop scan [OPTIONS] [PATH]\n       leakstop scan url [OPTIONS] <URL>"
)]
pub struct ScanArgs {
    /// Scan something other than a directory.
    #[command(subcommand)]
    pub target: Option<ScanTarget>,
    #[command(flatten)]
    pub input: ScanInput,
    /// Output format.
    #[arg(global = true, long, short, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(global = true, long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full instead of redacted.
    #[arg(global = true, long)]
    pub show_secrets: bool,
    /// Scan what `git commit` would record: the index's blobs, lines added
    /// against HEAD (for pre-commit hooks). PATH is any directory in the repository.
    #[arg(long, conflicts_with_all = ["range", "since_commit", "pre_push"])]
    pub staged: bool,
    /// Scan the blobs introduced by the commits in a range (`BASE..HEAD`),
    /// reporting only secrets those commits added (for PR checks).
    #[arg(long, value_name = "A..B", conflicts_with_all = ["since_commit", "pre_push"])]
    pub range: Option<String>,
    /// Same as `--range COMMIT..HEAD`.
    #[arg(long, value_name = "COMMIT", conflicts_with = "pre_push")]
    pub since_commit: Option<String>,
    /// Scan a repository's history: every blob reachable from any ref
    /// (branches, tags, remotes, stash), each scanned once and reported at the
    /// commit that introduced it. PATH is any directory in the repository.
    #[arg(long, conflicts_with_all = ["staged", "range", "since_commit", "pre_push"])]
    pub git: bool,
    /// With --git: also scan blobs no ref reaches (dangling objects, dropped stashes).
    #[arg(long, requires = "git")]
    pub all_objects: bool,
    /// Read git's pre-push protocol on stdin and scan the commits being pushed.
    #[arg(long)]
    pub pre_push: bool,
    /// Hide findings recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// When to use colour in human output.
    #[arg(global = true, long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Do not draw a progress indicator on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// Check each distinct candidate secret with its own provider (one
    /// harmless read-only request; see docs/verification.md). Off by default:
    /// without it nothing leaves this machine.
    #[arg(long)]
    pub verify: bool,
    /// Report only findings verified live (implies --verify).
    #[arg(long)]
    pub only_verified: bool,
    /// Seconds to wait for each verification request [default: 10, or
    /// `verify.timeout` in the config].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub verify_timeout: Option<f64>,
    /// Seconds for the whole verification; checks not done by then are
    /// reported `skipped` with reason `deadline` [default: 300, or
    /// `LEAKSTOP_VERIFY_DEADLINE`, or `verify.deadline` in an explicit or
    /// user config].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub verify_deadline: Option<f64>,
    /// Neither read nor write the verification cache.
    #[arg(long)]
    pub no_verify_cache: bool,
    /// Log verification requests to stderr (URL templates and header names,
    /// never values; `LEAKSTOP_LOG=debug` does the same), and list every
    /// missing source map instead of counting them.
    #[arg(long, short)]
    pub verbose: bool,
    /// Findings of this severity or above fail the run (exit 1); below it
    /// they are reported but exit 0. Default `low` (or `[scan] fail_on`):
    /// an `info` finding such as a publishable key never fails a hook.
    #[arg(global = true, long, value_name = "SEVERITY")]
    pub fail_on: Option<crate::finding::Severity>,
    /// Report only findings of this severity or above; the rest are counted
    /// as suppressed. Default `low` (or `[scan] min_severity`; `info` with
    /// `--show-client-safe`).
    #[arg(global = true, long, value_name = "SEVERITY")]
    pub min_severity: Option<crate::finding::Severity>,
}

#[derive(Debug, Subcommand)]
pub enum ScanTarget {
    /// Fetch a deployed web app and scan what a browser gets: the page, the
    /// scripts it loads and imports, their source maps, inlined framework data
    /// (docs/client-side.md). Refuses private and loopback addresses.
    Url(UrlArgs),
    /// Scan every repository of GitHub organisations or users, or named
    /// repositories: clone or fetch each into a cache, scan its full history
    /// (incrementally on later runs), one combined report. The token comes
    /// from GITHUB_TOKEN or GH_TOKEN (docs/org-scan.md).
    Github(GithubArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("owners").required(true).multiple(true).args(["org", "user", "repo"])))]
pub struct GithubArgs {
    /// An organisation whose repositories are scanned (repeatable).
    #[arg(long, value_name = "ORG")]
    pub org: Vec<String>,
    /// A user whose own repositories are scanned (repeatable).
    #[arg(long, value_name = "USER")]
    pub user: Vec<String>,
    /// One repository, `owner/name` (repeatable; filters do not apply).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Vec<String>,
    /// The REST API (GitHub Enterprise: `https://HOST/api/v3`) [default:
    /// $GITHUB_API_URL, as Actions sets it, else https://api.github.com].
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Also scan forks.
    #[arg(long)]
    pub include_forks: bool,
    /// Also scan archived repositories.
    #[arg(long)]
    pub include_archived: bool,
    /// Which repositories by visibility (private includes internal).
    #[arg(long, value_enum, default_value_t = crate::github::repos::Visibility::All)]
    pub visibility: crate::github::repos::Visibility,
    /// Only repositories with this topic (repeatable: all of them).
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    /// Where clones and scan state are kept [default: $XDG_CACHE_HOME/leakstop/github].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Scan every repository's whole history, not only what is new since the last run.
    #[arg(long)]
    pub full: bool,
    /// Scan only shard K of N (1-based): repositories split by a stable
    /// hash of their name, for a matrix of machines; `report merge` joins them.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::org::shard::Shard>,
    /// Interrupt a clone or fetch that takes longer than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub clone_timeout: u64,
}

#[derive(Debug, Args)]
pub struct UrlArgs {
    /// The page to start from (http:// or https://).
    pub url: String,
    /// Also fetch scripts and maps from this origin (e.g. a CDN:
    /// `https://cdn.example.com`); repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Allow loopback, private and link-local addresses (scanning an
    /// internal or local app on purpose).
    #[arg(long)]
    pub allow_private_addresses: bool,
    /// Most HTTP requests (robots.txt included).
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_requests: usize,
    /// Most bytes downloaded in total (K, M, G suffixes).
    #[arg(long, default_value = "200M", value_parser = parse_size, value_name = "SIZE")]
    pub max_download: u64,
    /// Time limit for fetching, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub time_limit: u64,
    /// User-Agent header (default: `leakstop/VERSION (secret scanner; client-bundle audit)`).
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// `leakstop action`: the inputs of action.yml. Empty values count as unset
/// (a composite action passes every input, set or not).
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// What to scan: auto (from the event), pr, push, full, dir.
    #[arg(long, value_enum, default_value_t = crate::action::Mode::Auto)]
    pub mode: crate::action::Mode,
    /// The repository (or, with `--mode dir`, the directory) to scan.
    #[arg(long, default_value = ".")]
    pub path: PathBuf,
    /// A config file (default: the repository's `.leakstop.toml`; for pull
    /// requests and pushes, as it is at the base commit).
    #[arg(long, value_name = "FILE")]
    pub config: Option<String>,
    /// A baseline file (for pull requests and pushes, as it is at the base commit).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,
    /// When the job fails: any finding, only verified live ones, or never.
    #[arg(long, value_enum, default_value_t = crate::action::FailOn::Any)]
    pub fail_on: crate::action::FailOn,
    /// Check with each provider whether a secret is live (`true`/`false`).
    #[arg(long, value_name = "BOOL", default_value_t = false, action = clap::ArgAction::Set)]
    pub verify: bool,
    /// Where to write the SARIF report (for github/codeql-action/upload-sarif).
    #[arg(long, value_name = "FILE", default_value = "leakstop.sarif")]
    pub sarif: PathBuf,
    /// Extra `leakstop scan` flags, split like a shell would.
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub args: Option<String>,
}
