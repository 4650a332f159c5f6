//! Base64 runs: standalone, in `data:` URIs and `atob("…")`, decoded when
//! the result is mostly printable text.

use super::{skipped, Decoded, Encoding};
use std::ops::Range;

/// Shortest base64 run worth decoding: 20 characters hold 15 bytes.
const MIN_BASE64_RUN: usize = 20;
/// Longest base64 run decoded (a larger `data:` payload is an image or font).
const MAX_BASE64_RUN: usize = 1 << 20;
/// Share of printable bytes a decoded base64 run needs to count as text.
const MIN_PRINTABLE_PER_MILLE: usize = 950;

/// 0 for bytes outside the base64 alphabets, 1 inside (both `+/` and `-_`).
const fn base64_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'-' || b == b'_' {
            table[i] = 1;
        }
        i += 1;
    }
    table
}
static BASE64_CHARS: [u8; 256] = base64_table();

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

/// Base64 runs that decode to text, decoded.
pub(super) fn base64_runs(data: &[u8], skip: &[Range<usize>]) -> Vec<Decoded> {
    let mut view = Decoded::new(Encoding::Base64);
    let mut data_uri = Decoded::new(Encoding::DataUri);
    // A run of at least MIN_BASE64_RUN characters contains one of the
    // probes, which stand MIN_BASE64_RUN apart: most bytes are never looked at.
    let is_b64 = |i: usize| BASE64_CHARS[data[i] as usize] == 1;
    let mut done = 0;
    let mut probe = MIN_BASE64_RUN - 1;
    while probe < data.len() {
        if !is_b64(probe) {
            probe += MIN_BASE64_RUN;
            continue;
        }
        let mut start = probe;
        while start > done && is_b64(start - 1) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < data.len() && is_b64(end) {
            end += 1;
        }
        done = end;
        probe = end + MIN_BASE64_RUN;
        let run = start..end;
        if run.len() < MIN_BASE64_RUN || run.len() > MAX_BASE64_RUN || skipped(skip, start) {
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
