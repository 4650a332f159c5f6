//! `leakstop serve`: resolve the address (loopback unless `--bind` says
//! otherwise), the token, the policy and the audit log, and hand the
//! dashboard the `bot revoke` path itself as its emergency action.

use crate::bot::run::Selector;
use crate::cli::{BotCommonArgs, BotStoreArgs, ServeArgs};
use crate::exit::Outcome;
use crate::finding::Secret;
use crate::serve::{self, Options, Revoker};
use anyhow::{bail, Context};
use std::sync::Arc;

/// The token: the first line of `--token-file`, or `--token-env`'s value.
fn token(args: &ServeArgs) -> anyhow::Result<Secret> {
    let token = match (&args.token_file, &args.token_env) {
        (Some(file), _) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the token file {}", file.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        (None, Some(var)) => std::env::var(var).unwrap_or_default().trim().to_string(),
        (None, None) => bail!("give --token-file FILE or --token-env VAR"),
    };
    if token.len() < 16 {
        bail!("the dashboard token must be at least 16 characters (use a random one, e.g. `openssl rand -hex 32`)");
    }
    Ok(Secret::new(token))
}

pub fn run(args: &ServeArgs) -> anyhow::Result<Outcome> {
    let env_bind = std::env::var(serve::BIND_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let (bind, warning) = serve::resolve_bind(args.bind.as_deref(), env_bind.as_deref())?;
    let token = token(args)?;
    if !args.store.is_file() {
        bail!(
            "{}: no incident store there (run `leakstop bot run --execute --store {}` first)",
            args.store.display(),
            args.store.display()
        );
    }
    let policy = super::bot::load_policy(args.policy.as_deref())?;
    let audit_log = args
        .audit_log
        .clone()
        .unwrap_or_else(|| args.store.with_file_name("audit.jsonl"));
    let web = super::bot::github_setup(args.github_api.as_deref())
        .map(|g| g.web_base())
        .unwrap_or_else(|| "https://github.com".into());
    let common = BotCommonArgs {
        store: BotStoreArgs {
            store: Some(args.store.clone()),
        },
        repo: args.repo.clone(),
        public: args.public,
        policy: args.policy.clone(),
        audit_log: Some(audit_log.clone()),
        github_api: args.github_api.clone(),
        timeout: args.timeout,
        execute: true,
        dry_run: false,
    };
    let revoker: Option<Revoker> = args.findings.clone().map(|findings| {
        let revoke: Revoker = Arc::new(move |selector: Selector| {
            let mut out = Vec::new();
            let summary = super::bot::revoke_selected(&common, &findings, selector, &mut out)
                .map_err(|e| format!("{e:#}"))?;
            Ok((summary, String::from_utf8_lossy(&out).into_owned()))
        });
        revoke
    });
    if let Some(warning) = warning {
        eprintln!("{warning}");
    }
    if revoker.is_none() {
        eprintln!("leakstop: serve: no --findings given: emergency actions are off");
    }
    serve::serve(
        Options {
            store: args.store.clone(),
            audit_log,
            bind,
            token,
            policy,
            revoker,
            web,
        },
        |addr| {
            eprintln!("leakstop: dashboard on http://{addr}/ (emergency actions need the token)")
        },
    )?;
    Ok(Outcome::default())
}
