//! `leakstop action`: what action.yml runs. Reads the workflow's event,
//! selects the commits (or directory) to scan, runs `leakstop scan` through
//! the same parser and report path as the command line (SARIF to a file),
//! then writes annotations to stdout, the job summary and the step outputs.

use crate::action::{self, annotate, summary, Event, Selection};
use crate::cli::{ActionArgs, Cli, Command};
use crate::commands::scan;
use crate::exit::Outcome;
use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs the action; the outcome under the `fail-on` policy.
pub fn run(args: &ActionArgs) -> Result<Outcome> {
    let event = read_event()?;
    let selection = action::select(args.mode, &event)?;
    eprintln!("leakstop: {} event: scanning {selection}", event.name);
    let links = summary::Links {
        repository: match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
            (Some(server), Some(repo)) => Some(format!("{}/{repo}", server.trim_end_matches('/'))),
            _ => None,
        },
        commit: env("GITHUB_SHA"),
    };
    let prefix = match selection {
        Selection::Directory => display_prefix(&args.path),
        _ => String::new(),
    };
    let sarif = args.sarif.display().to_string();
    if sarif.contains(['\n', '\r']) {
        bail!("the sarif path may not contain a line break");
    }
    if let Selection::Nothing(why) = selection {
        append(
            "GITHUB_STEP_SUMMARY",
            &format!("## leakstop: nothing to scan\n\n{why}.\n"),
        )?;
        append("GITHUB_OUTPUT", "findings=0\nverified=0\nsarif-file=\n")?;
        return Ok(Outcome::default());
    }
    let scan_args = scan_arguments(args, &selection)?;
    let report = scan::scan_report(&scan_args)?;
    let mut stdout = std::io::stdout().lock();
    for finding in &report.findings {
        writeln!(stdout, "{}", annotate::command(finding, &prefix))?;
    }
    stdout.flush()?;
    let live = report.findings.iter().filter(|f| f.is_live()).count();
    append(
        "GITHUB_STEP_SUMMARY",
        &summary::render(
            &report.findings,
            &selection.to_string(),
            report.stats.files_scanned,
            &links,
            &prefix,
        ),
    )?;
    append(
        "GITHUB_OUTPUT",
        &format!(
            "findings={}\nverified={live}\nsarif-file={sarif}\n",
            report.findings.len()
        ),
    )?;
    Ok(args.fail_on.apply(report.outcome))
}

/// The event from `GITHUB_EVENT_NAME` and the payload at `GITHUB_EVENT_PATH`
/// (outside Actions: a manual run, scanned as `workflow_dispatch`).
fn read_event() -> Result<Event> {
    let name = env("GITHUB_EVENT_NAME").unwrap_or_else(|| "workflow_dispatch".into());
    let payload = match env("GITHUB_EVENT_PATH") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the event payload {path}"))?;
            serde_json::from_str(&text)
                .with_context(|| format!("the event payload {path} is not JSON"))?
        }
        None => serde_json::Value::Null,
    };
    Ok(Event::from_payload(&name, &payload))
}

/// The `leakstop scan` command line for `selection`, parsed by the same
/// parser as the real command line.
fn scan_arguments(args: &ActionArgs, selection: &Selection) -> Result<Box<crate::cli::ScanArgs>> {
    let mut argv: Vec<String> = ["leakstop", "scan", "--format", "sarif", "--no-progress"]
        .map(String::from)
        .to_vec();
    argv.push("--output".into());
    argv.push(args.sarif.display().to_string());
    match selection {
        Selection::Range { base, head } => {
            argv.push("--range".into());
            argv.push(format!("{base}..{head}"));
        }
        Selection::Reachable { head } => {
            argv.push("--range".into());
            argv.push(head.clone());
        }
        Selection::History => argv.push("--git".into()),
        Selection::Directory | Selection::Nothing(_) => {}
    }
    if let Some(config) = non_empty(&args.config) {
        argv.extend(["--config".into(), config]);
    }
    if let Some(baseline) = non_empty(&args.baseline) {
        argv.extend(["--baseline".into(), baseline]);
    }
    if args.verify || args.fail_on == action::FailOn::Verified {
        argv.push("--verify".into());
    }
    if let Some(extra) = non_empty(&args.args) {
        let words = shlex::split(&extra)
            .ok_or_else(|| anyhow!("the `args` input has an unterminated quote: {extra}"))?;
        argv.extend(words);
    }
    argv.push("--".into());
    argv.push(args.path.display().to_string());
    match Cli::try_parse_from(&argv) {
        Ok(Cli {
            command: Command::Scan(scan_args),
        }) => Ok(scan_args),
        Ok(_) => bail!("internal: the scan arguments did not parse as a scan"),
        Err(error) => bail!("the action's scan arguments are not valid: {error}"),
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Appends to the file a GitHub environment variable names (the job
/// summary, the step outputs); nothing outside Actions.
fn append(variable: &str, text: &str) -> Result<()> {
    let Some(path) = env(variable) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(PathBuf::from(&path))
        .with_context(|| format!("opening {variable} ({path})"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {variable} ({path})"))
}

/// How a directory's findings are prefixed to be relative to the
/// repository: `dist` → `dist/`; absolute paths relative to `GITHUB_WORKSPACE`.
fn display_prefix(path: &Path) -> String {
    let relative = env("GITHUB_WORKSPACE")
        .and_then(|workspace| path.strip_prefix(workspace).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let text = relative.to_string_lossy().replace('\\', "/");
    let text = text.trim_start_matches("./").trim_end_matches('/');
    if text.is_empty() || text == "." {
        String::new()
    } else {
        format!("{text}/")
    }
}
