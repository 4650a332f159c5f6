//! Time for the bot: Unix seconds, RFC 3339 for people and records, and
//! durations as policy writes them (`24h`, `90m`, `0`). `LEAKSTOP_BOT_NOW`
//! (Unix seconds) moves the clock, so an overlap window can be tested
//! without waiting a day.

use crate::verify::aws::civil_from_days;
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable that overrides the current time (tests, drills).
pub const NOW_ENV: &str = "LEAKSTOP_BOT_NOW";

pub fn now() -> i64 {
    if let Some(now) = std::env::var(NOW_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return now;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-12-05T08:28:00Z`.
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds in a policy duration: a number with `s`, `m`, `h` or `d`, or `0`.
/// At most a year: a longer overlap is a typo, not a plan.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: write a number and s, m, h or d (e.g. 24h)"
            ))
        }
    };
    let value: i64 = number
        .parse()
        .map_err(|_| format!("`{text}`: `{number}` is not a whole number"))?;
    let seconds = value
        .checked_mul(scale)
        .filter(|s| (0..=366 * 86_400).contains(s))
        .ok_or_else(|| format!("`{text}`: must be between 0 and 366d"))?;
    Ok(seconds)
}

/// `1d 2h`, `3h 5m`, `42s`: how long ago, for people.
pub fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_825_600), "2000-02-29T12:00:00Z");
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert!(parse_duration("24").is_err());
        assert!(parse_duration("400d").is_err());
        assert!(parse_duration("-1h").is_err());
        assert_eq!(human(3700), "1h 1m");
    }
}
