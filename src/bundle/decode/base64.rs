//! Base64 runs: standalone, in `data:` URIs and `atob("…")`, decoded when
//! the result is mostly printable text.

use super::runs::{base64_digit, long_runs, DIGITS, INVALID};
use super::{skipped, Decoded, Encoding};
use std::ops::Range;

/// Shortest base64 run worth decoding: 20 characters hold 15 bytes.
const MIN_BASE64_RUN: usize = 20;
/// Longest base64 run decoded (a larger `data:` payload is an image or font).
pub(super) const MAX_BASE64_RUN: usize = 1 << 20;
/// Share of printable bytes a decoded base64 run needs to count as text.
const MIN_PRINTABLE_PER_MILLE: usize = 950;

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

// The digit loops test the high bit of each looked-up digit for INVALID.
const _: () = assert!(INVALID & 0x80 != 0);

/// Decodes a base64 run if it is text; false (and a partial write the caller
/// discards) if not. Each decoded byte maps to the character it starts in.
pub(crate) fn decode_base64_into(data: &[u8], run: Range<usize>, view: &mut Decoded) -> bool {
    let chars = &data[run.clone()];
    let tolerated = chars.len() * 6 / 8 * (1000 - MIN_PRINTABLE_PER_MILLE) / 1000;
    let mut count = Counts {
        total: 0,
        printable: 0,
        tolerated,
    };
    view.anchor_base64(run.start);
    let mut rest = chars;
    // Eight characters, six bytes, at a time: the body of real base64 text
    // (an inline source map is tens of kilobytes of it) is all printable
    // and counted six bytes at once.
    while let Some((eight, tail)) = rest.split_first_chunk::<8>() {
        let mut value = 0u64;
        let mut invalid = 0u8;
        for &c in eight {
            let digit = DIGITS[usize::from(c)];
            invalid |= digit;
            value = value << 6 | u64::from(digit & 0x3F);
        }
        if invalid & 0x80 != 0 {
            // INVALID has the high bit: padding or a bad character, for the
            // loops below.
            break;
        }
        let bytes = &value.to_be_bytes()[2..];
        if all_printable(value) {
            count.total += 6;
            count.printable += 6;
        } else if !bytes.iter().all(|&byte| count.text(byte)) {
            return false;
        }
        view.bytes.extend_from_slice(bytes);
        rest = tail;
    }
    // Then whole quads: 4 characters, 3 bytes, no bit buffer.
    while let Some((quad, tail)) = rest.split_first_chunk::<4>() {
        let digits = quad.map(|c| DIGITS[usize::from(c)]);
        if u32::from_le_bytes(digits) & 0x8080_8080 != 0 {
            // Padding or a bad character: the loop below decides.
            break;
        }
        let value = digits
            .iter()
            .fold(0u32, |value, &digit| value << 6 | u32::from(digit));
        let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
        if !bytes.iter().all(|&byte| count.text(byte)) {
            return false;
        }
        view.bytes.extend_from_slice(&bytes);
        rest = tail;
    }
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in rest {
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
            if !count.text(byte) {
                return false;
            }
            view.bytes.push(byte);
        }
    }
    count.total > 0 && count.printable * 1000 >= count.total * MIN_PRINTABLE_PER_MILLE
}

/// The decoded bytes of a run so far, and how many of them are text.
struct Counts {
    total: usize,
    printable: usize,
    /// Bytes that are not text allowed before the run is given up on.
    tolerated: usize,
}

impl Counts {
    /// Counts a decoded byte; false: the run is binary (an image, a hash,
    /// an identifier that is not base64), give up. Most runs are long
    /// identifiers and end at their first bytes, rarely all text.
    fn text(&mut self, byte: u8) -> bool {
        self.total += 1;
        if is_text(byte) {
            self.printable += 1;
            true
        } else {
            !(self.total <= 3 || byte == 0 || self.total - self.printable > self.tolerated)
        }
    }
}

/// Whether the 6 bytes in the low 48 bits of `value` are all printable
/// ASCII (0x20 to 0x7e), all at once: a byte below 0x20 borrows into its
/// high bit when 0x20 is taken away, one above 0x7e carries into it when 1
/// is added (or has it already).
fn all_printable(value: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The two unused bytes as printable `A`s.
    let bytes = value | 0x4141 << 48;
    let below = bytes.wrapping_sub(ONES * 0x20) & !bytes & HIGH;
    let above = (bytes.wrapping_add(ONES) | bytes) & HIGH;
    below | above == 0
}

/// Printable ASCII: credentials are ASCII, and random bytes (identifiers
/// that happen to be base64) are mostly not.
fn is_text(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7e | b'\n' | b'\r' | b'\t')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One character at a time through a bit buffer: what the quads must
    /// agree with (`None`: not text).
    fn reference(chars: &[u8]) -> Option<Vec<u8>> {
        let tolerated = chars.len() * 6 / 8 * (1000 - MIN_PRINTABLE_PER_MILLE) / 1000;
        let (mut out, mut printable, mut acc, mut bits) = (Vec::new(), 0, 0u32, 0);
        for &c in chars {
            if c == b'=' {
                break;
            }
            acc = (acc << 6) | base64_digit(c)?;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                let byte = (acc >> bits) as u8;
                acc &= (1 << bits) - 1;
                out.push(byte);
                if is_text(byte) {
                    printable += 1;
                } else if out.len() <= 3 || byte == 0 || out.len() - printable > tolerated {
                    return None;
                }
            }
        }
        (!out.is_empty() && printable * 1000 >= out.len() * MIN_PRINTABLE_PER_MILLE).then_some(out)
    }

    proptest! {
        #[test]
        fn all_printable_is_the_byte_test(bytes: [u8; 6]) {
            let value = bytes.iter().fold(0u64, |value, &b| value << 8 | u64::from(b));
            prop_assert_eq!(all_printable(value), bytes.iter().all(|b| (0x20..=0x7e).contains(b)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn quads_decode_like_the_bit_buffer_and_map_bytes_to_their_characters(
            text in proptest::collection::vec(0x20u8..0x7f, 0..120),
            noise in proptest::collection::vec(any::<u8>(), 0..4),
            cut in 0usize..8,
            prefix in 0usize..5,
        ) {
            // Real base64 of text, sometimes cut short or with noise after.
            let encoded = base64_of(&text);
            let mut chars = encoded[..encoded.len().saturating_sub(cut % 3)].to_vec();
            chars.extend(&noise);
            let mut data = vec![b' '; prefix];
            data.extend(&chars);
            let mut view = Decoded::new(Encoding::Base64);
            let decoded = decode_base64_into(&data, prefix..data.len(), &mut view);
            let expected = reference(&chars);
            prop_assert_eq!(decoded, expected.is_some());
            if let Some(expected) = expected {
                prop_assert_eq!(&view.bytes, &expected);
                let view = view.finish(data.len()).expect("bytes");
                for n in 0..expected.len() {
                    prop_assert_eq!(view.origin(n), prefix + n * 8 / 6);
                }
            }
        }
    }

    fn base64_of(bytes: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        for chunk in bytes.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let value = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(value >> (18 - 6 * i) & 63) as usize]);
            }
            out.extend(std::iter::repeat_n(b'=', 3 - chunk.len()));
        }
        out
    }
}
