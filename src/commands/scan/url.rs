//! `leakstop scan url`: the crawl's limits from the flags, then the shared
//! report path.

use super::output::{report_outcome, ScanReport};
use super::settings::{admission, bundle_options};
use crate::cli::{ScanArgs, UrlArgs};
use crate::config;
use crate::filter::baseline::Baseline;
use crate::scan::setup::build_engine;
use crate::scan::web;
use crate::source::web::{UrlOptions, WebUrl};
use anyhow::{anyhow, Result};
use std::path::Path;
use std::time::Duration;

/// Runs `leakstop scan url`.
pub fn scan_url(args: &ScanArgs, url_args: &UrlArgs) -> Result<ScanReport> {
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
    let engine = build_engine(&config, baseline, args.show_secrets)?
        .with_known_public(super::output::show_known_public(args, &config));
    let admission = admission(&args.input, &config);
    let options = UrlOptions {
        start,
        allowed_origins,
        allow_private_addresses: url_args.allow_private_addresses,
        max_requests: url_args.max_requests,
        max_bytes: url_args.max_download,
        max_response: admission.max_file_size,
        time_limit: Duration::from_secs(url_args.time_limit),
        user_agent: url_args.user_agent.clone().unwrap_or_else(|| {
            format!(
                "leakstop/{} (secret scanner; client-bundle audit)",
                env!("CARGO_PKG_VERSION")
            )
        }),
    };
    let scanned = web::run(
        &options,
        admission,
        bundle_options(&args.input, &config),
        &engine,
    );
    eprintln!(
        "leakstop: fetched {} resource{}{}",
        scanned.resources,
        if scanned.resources == 1 { "" } else { "s" },
        if scanned.payloads.is_empty() {
            String::new()
        } else {
            format!(
                "; framework data in the page: {}",
                scanned.payloads.join(", ")
            )
        }
    );
    report_outcome(
        args,
        &config,
        &engine,
        scanned.output.findings,
        scanned.output.stats,
        None,
    )
}
