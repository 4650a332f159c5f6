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
    view.reserve(chars.len() / 4 * 3 + 2);
    let mut rest = chars;
    // The body of a long run (an inline source map inside a source map)
    // 32 characters at a time while it is all printable.
    #[cfg(target_arch = "x86_64")]
    if chars.len() >= 32 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        let used = unsafe { decode_printable_avx2(chars, &mut view.bytes) };
        let printable = used / 4 * 3;
        count.total += printable;
        count.printable += printable;
        rest = &chars[used..];
    }
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

/// Decodes `chars` 32 characters (24 bytes) at a time onto `out` for as
/// long as every character is base64 (either alphabet) and every decoded
/// byte is printable ASCII (0x20 to 0x7e), as [`all_printable`] tests;
/// returns how many characters it used (a multiple of 32). The rest, with
/// its tolerance for a few bytes that are not text, is the scalar loops'.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn decode_printable_avx2(chars: &[u8], out: &mut Vec<u8>) -> usize {
    use std::arch::x86_64::*;
    // Each character's value is itself plus an offset chosen by its high
    // nibble (`/` for 0x2_), then corrected for `+`, `-` and `_`.
    let offset_by_high = _mm256_setr_epi8(
        0, 0, 16, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, //
        0, 0, 16, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
    );
    let nibble = _mm256_set1_epi8(0x0F);
    // Four 6-bit values to three bytes: pairs into 12 bits, pairs of those
    // into 24, then the three bytes of each 32-bit lane picked in order.
    let pair_bytes = _mm256_set1_epi32(0x0140_0140);
    let pair_words = _mm256_set1_epi32(0x0001_1000);
    let pick = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, //
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
    );
    let join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
    let mut used = 0;
    while let Some(block) = chars.get(used..used + 32) {
        // SAFETY: `block` is 32 bytes; an unaligned load.
        let text = _mm256_loadu_si256(block.as_ptr().cast());
        if super::runs::base64_mask_avx2(text) != u32::MAX {
            break;
        }
        let high = _mm256_and_si256(_mm256_srli_epi16::<4>(text), nibble);
        let fix = |byte: u8, by: i8| {
            _mm256_and_si256(
                _mm256_cmpeq_epi8(text, _mm256_set1_epi8(byte as i8)),
                _mm256_set1_epi8(by),
            )
        };
        let offset = _mm256_add_epi8(
            _mm256_shuffle_epi8(offset_by_high, high),
            _mm256_add_epi8(_mm256_add_epi8(fix(b'+', 3), fix(b'-', 1)), fix(b'_', 33)),
        );
        let values = _mm256_add_epi8(text, offset);
        let words = _mm256_madd_epi16(_mm256_maddubs_epi16(values, pair_bytes), pair_words);
        let bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(words, pick), join);
        let printable = _mm256_and_si256(
            _mm256_cmpgt_epi8(bytes, _mm256_set1_epi8(0x1F)),
            _mm256_cmpgt_epi8(_mm256_set1_epi8(0x7F), bytes),
        );
        if _mm256_movemask_epi8(printable) as u32 & 0x00FF_FFFF != 0x00FF_FFFF {
            break;
        }
        let mut decoded = [0u8; 32];
        // SAFETY: `decoded` is 32 bytes; an unaligned store.
        _mm256_storeu_si256(decoded.as_mut_ptr().cast(), bytes);
        out.extend_from_slice(&decoded[..24]);
        used += 32;
    }
    used
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
            text in proptest::collection::vec(prop_oneof![30 => 0x20u8..0x7f, 1 => any::<u8>()], 0..200),
            noise in proptest::collection::vec(any::<u8>(), 0..4),
            cut in 0usize..8,
            prefix in 0usize..5,
            url_safe: bool,
        ) {
            // Real base64 of text (either alphabet), sometimes cut short or
            // with noise after.
            let mut encoded = base64_of(&text);
            if url_safe {
                for c in &mut encoded {
                    *c = match *c { b'+' => b'-', b'/' => b'_', c => c };
                }
            }
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
