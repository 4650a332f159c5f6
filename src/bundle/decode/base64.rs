//! Base64 runs: standalone, in `data:` URIs and `atob("…")`, decoded when
//! the result is mostly printable text.

use super::runs::long_runs;
use super::{skipped, Decoded, Encoding};
use std::ops::Range;

/// Shortest base64 run worth decoding: 20 characters hold 15 bytes.
const MIN_BASE64_RUN: usize = 20;
/// Longest base64 run decoded (a larger `data:` payload is an image or font).
pub(super) const MAX_BASE64_RUN: usize = 1 << 20;
/// Share of printable bytes a decoded base64 run needs to count as text.
const MIN_PRINTABLE_PER_MILLE: usize = 950;

fn base64_digit(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Characters of an over-long run decoded to tell text from binary.
const PROBE_CHARS: usize = 4096;

/// Base64 runs that decode to text, decoded. Runs longer than
/// [`MAX_BASE64_RUN`] are not decoded; those whose start decodes to text
/// (not an image or a font) are counted in `oversized`, for a warning.
pub(super) fn base64_runs(
    data: &[u8],
    skip: &[Range<usize>],
    oversized: &mut usize,
) -> Vec<Decoded> {
    let mut view = Decoded::new(Encoding::Base64);
    let mut data_uri = Decoded::new(Encoding::DataUri);
    for run in long_runs(data, MIN_BASE64_RUN) {
        let start = run.start;
        if skipped(skip, start) {
            continue;
        }
        if run.len() > MAX_BASE64_RUN {
            let probe = start..start + PROBE_CHARS;
            if decode_base64_into(data, probe, &mut Decoded::new(Encoding::Base64)) {
                *oversized += 1;
            }
            continue;
        }
        let target = if data[..start].ends_with(b";base64,") {
            &mut data_uri
        } else {
            &mut view
        };
        let mark = target.bytes.len();
        if decode_base64_into(data, run.clone(), target) {
            target.end_span(run.end);
        } else {
            target.truncate(mark);
        }
    }
    [view.finish(data.len()), data_uri.finish(data.len())]
        .into_iter()
        .flatten()
        .collect()
}

/// Decodes a base64 run if it is text; false (and a partial write the caller
/// discards) if not. Each decoded byte maps to the character it starts in.
pub(crate) fn decode_base64_into(data: &[u8], run: Range<usize>, view: &mut Decoded) -> bool {
    let chars = &data[run.clone()];
    // Most runs are long identifiers, not base64: their first three bytes
    // are rarely all text, and saying so before writing anything is cheap.
    // (Padding or a bad character in them: the loop below decides.)
    let first = chars.get(..4).and_then(|quad| {
        quad.iter()
            .try_fold(0u32, |acc, &c| Some(acc << 6 | base64_digit(c)?))
    });
    if first.is_some_and(|bits| !bits.to_be_bytes()[1..].iter().all(|&b| is_text(b))) {
        return false;
    }
    // Bytes that are not text, allowed before the run is given up on.
    let tolerated = chars.len() * 6 / 8 * (1000 - MIN_PRINTABLE_PER_MILLE) / 1000;
    let mut printable = 0usize;
    let mut total = 0usize;
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in chars {
        if c == b'=' {
            break;
        }
        let Some(d) = base64_digit(c) else {
            return false;
        };
        acc = (acc << 6) | d;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            total += 1;
            if is_text(byte) {
                printable += 1;
            } else if total <= 3 || byte == 0 || total - printable > tolerated {
                // Binary (an image, a hash, an identifier that is not base64).
                return false;
            }
            // Byte `n` starts in character `8n / 6`.
            view.push(byte, run.start + (total - 1) * 8 / 6);
        }
    }
    total > 0 && printable * 1000 >= total * MIN_PRINTABLE_PER_MILLE
}

/// Printable ASCII: credentials are ASCII, and random bytes (identifiers
/// that happen to be base64) are mostly not.
fn is_text(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7e | b'\n' | b'\r' | b'\t')
}
