//! Diagnostic logging with `tracing`: off unless asked. `LEAKSTOP_LOG`
//! takes a level (`debug`: leakstop's own events) or full `tracing` filter
//! directives (`leakstop::verify=trace,gix=debug`); `scan -v` is
//! `LEAKSTOP_LOG=debug`. Lines go to stderr as `leakstop: <area>: <message>`,
//! and callers never log a secret (verification logs URL templates and
//! header names only).

use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The environment variable with the log filter.
pub const ENV: &str = "LEAKSTOP_LOG";

/// Installs the stderr logger; `verbose` (`-v`) turns leakstop's debug
/// events on when `LEAKSTOP_LOG` does not say otherwise.
pub fn init(verbose: bool) {
    let filter = filter(std::env::var(ENV).ok().as_deref(), verbose);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(Plain)
        .try_init();
}

/// The filter for a `LEAKSTOP_LOG` value: a bare level applies to leakstop
/// only (dependencies stay quiet); anything else is `tracing` directives.
fn filter(value: Option<&str>, verbose: bool) -> EnvFilter {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let directives = match value {
        Some(level)
            if ["error", "warn", "info", "debug", "trace", "off"]
                .contains(&level.to_ascii_lowercase().as_str()) =>
        {
            format!("leakstop={}", level.to_ascii_lowercase())
        }
        Some(directives) => directives.to_string(),
        None if verbose => "leakstop=debug".to_string(),
        None => "off".to_string(),
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        eprintln!(
            "leakstop: warning: {ENV}={directives:?} is not a log filter ({error}); logging off"
        );
        EnvFilter::new("off")
    })
}

/// `leakstop: <last part of the target>: <message>`.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let target = event.metadata().target();
        let area = target.rsplit("::").next().unwrap_or(target);
        write!(writer, "leakstop: {area}: ")?;
        context.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_apply_to_leakstop_and_directives_pass_through() {
        assert_eq!(filter(Some("debug"), false).to_string(), "leakstop=debug");
        assert_eq!(filter(Some("DEBUG"), false).to_string(), "leakstop=debug");
        assert_eq!(filter(None, true).to_string(), "leakstop=debug");
        assert_eq!(filter(None, false).to_string(), "off");
        assert_eq!(
            filter(Some("leakstop::verify=trace"), false).to_string(),
            "leakstop::verify=trace"
        );
        assert_eq!(filter(Some("[[[not a filter"), false).to_string(), "off");
    }
}
