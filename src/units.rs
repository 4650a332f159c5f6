//! Parsing sizes and durations as users write them, on the command line and
//! in `.leakstop.toml` alike (one parser, so both accept the same forms).

/// Longest duration a user may set for one verification request.
pub const MAX_SECONDS: f64 = 3600.0;

/// Parses `1048576`, `512K`, `10M`, `1G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is not a size (examples: 1048576, 512K, 10M)"))
}

/// A positive number of seconds, at most [`MAX_SECONDS`], written as text.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|seconds| check_seconds(seconds).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds between 0 and 3600"))
}

/// Checks a number of seconds given as a number (a TOML value).
pub fn check_seconds(seconds: f64) -> Result<f64, String> {
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS {
        Ok(seconds)
    } else {
        Err(format!(
            "`{seconds}` is not a number of seconds between 0 and 3600"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size(" 512K "), Ok(512 << 10));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("18446744073709551615G").is_err());
        assert!(parse_size("ten").is_err());
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert_eq!(check_seconds(3600.0), Ok(3600.0));
        for bad in ["0", "-1", "3601", "NaN", "inf", "soon"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert!(check_seconds(f64::INFINITY).is_err());
    }
}
