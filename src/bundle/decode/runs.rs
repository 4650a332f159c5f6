//! Finding the long runs of base64 characters in a blob, 64 bytes at a time.
//!
//! Minified code is mostly identifier characters, which are base64
//! characters too, so a byte-by-byte search stops at nearly every probe and
//! mispredicts at the end of every identifier. Here each 64-byte block is
//! classified into a bit mask (SSE2 on x86_64: 16 bytes per instruction),
//! and shifts and ANDs of the masks of two blocks tell at once whether a run
//! of the minimum length starts in the first: most blocks cost a few dozen
//! instructions and no branch that depends on the text.

use std::ops::Range;

/// Marks a byte outside both base64 alphabets in [`DIGITS`].
pub(super) const INVALID: u8 = 0xFF;

/// Each byte's base64 value (`+/` and `-_` alike), or [`INVALID`].
pub(super) static DIGITS: [u8; 256] = digit_table();

const fn digit_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = 52 + i as u8;
        i += 1;
    }
    table[b'+' as usize] = 62;
    table[b'-' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b'_' as usize] = 63;
    table
}

/// A base64 character's value, either alphabet.
pub(super) fn base64_digit(b: u8) -> Option<u32> {
    let digit = DIGITS[usize::from(b)];
    (digit != INVALID).then_some(u32::from(digit))
}

/// Whether `byte` is a base64 character of either alphabet (`+/` or `-_`).
fn is_base64(byte: u8) -> bool {
    DIGITS[usize::from(byte)] != INVALID
}

/// Every maximal run of base64 characters of at least `min` (1 to 64)
/// bytes, in order.
pub(super) fn long_runs(data: &[u8], min: usize) -> Vec<Range<usize>> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512bw") {
        // SAFETY: AVX-512 BW (which implies F) was detected just above.
        return unsafe { long_runs_avx512(data, min) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { long_runs_avx2(data, min) };
    }
    runs_of(data, min, block_mask)
}

/// [`long_runs`] with each block classified in one step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn long_runs_avx512(data: &[u8], min: usize) -> Vec<Range<usize>> {
    runs_of(data, min, |data, from| {
        // SAFETY: the caller checked AVX-512 F and BW.
        unsafe { block_mask_avx512(data, from) }
    })
}

/// [`long_runs`] with the blocks classified 32 bytes per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn long_runs_avx2(data: &[u8], min: usize) -> Vec<Range<usize>> {
    runs_of(data, min, |data, from| {
        // SAFETY: the caller checked AVX2.
        unsafe { block_mask_avx2(data, from) }
    })
}

/// The maximal runs, with `block_mask` classifying each 64-byte block.
#[inline(always)]
fn runs_of(data: &[u8], min: usize, block_mask: impl Fn(&[u8], usize) -> u64) -> Vec<Range<usize>> {
    debug_assert!((1..=64).contains(&min));
    let mut runs = Vec::new();
    // The masks of the 64-byte blocks at `at` and `at + 64`; positions of
    // the first before `from` lie in a run already found.
    let mut at = 0;
    let mut low = block_mask(data, at);
    let mut high = block_mask(data, at + 64);
    let mut from = 0;
    while at < data.len() {
        let window = u128::from(low) | u128::from(high) << 64;
        let starts = run_starts(window, min) as u64 & u64::MAX << from;
        if starts == 0 {
            at += 64;
            low = high;
            high = block_mask(data, at + 64);
            from = 0;
            continue;
        }
        // The first position followed by `min` base64 bytes, at or after
        // `from` (a byte that ended a run): the start of a maximal run.
        let start = starts.trailing_zeros();
        let length = (!window >> start).trailing_zeros();
        let end = if start + length < 128 {
            at + (start + length) as usize
        } else {
            // The run goes on past the window: whole blocks at a time.
            let mut next = at + 128;
            loop {
                let mask = block_mask(data, next);
                if mask != u64::MAX {
                    break next + (!mask).trailing_zeros() as usize;
                }
                next += 64;
            }
        };
        runs.push(at + start as usize..end);
        if end < at + 64 {
            from = (end - at) as u32;
        } else {
            at = end;
            low = block_mask(data, at);
            high = block_mask(data, at + 64);
            from = 0;
        }
    }
    runs
}

/// Bit `i` set where bits `i..i + len` of `mask` are all set.
fn run_starts(mut mask: u128, len: usize) -> u128 {
    let mut covered = 1;
    while covered * 2 <= len {
        mask &= mask >> covered;
        covered *= 2;
    }
    if covered < len {
        mask &= mask >> (len - covered);
    }
    mask
}

/// Bit `i` set where `data[from + i]` is a base64 character, for the 64
/// bytes from `from` (bytes past the end count as not).
fn block_mask(data: &[u8], from: usize) -> u64 {
    let Some(block) = data.get(from..from + 64) else {
        let tail = data.get(from..).unwrap_or_default();
        return tail
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u64::from(is_base64(b)) << i);
    };
    block
        .chunks_exact(16)
        .enumerate()
        .fold(0, |mask, (i, chunk)| {
            mask | u64::from(chunk_mask(chunk)) << (16 * i)
        })
}

/// Groups of the base64 alphabet by a byte's high nibble: 0x2_ (`+-/`),
/// 0x3_ (digits), 0x4_ and 0x6_ (letters from A or a), 0x5_ (P to Z and
/// `_`), 0x7_ (p to z). Bytes of 0x80 and above have no group.
#[cfg(target_arch = "x86_64")]
const BY_HIGH_NIBBLE: [u8; 16] = [0, 0, 1, 2, 4, 8, 4, 16, 0, 0, 0, 0, 0, 0, 0, 0];
/// The groups in which each low nibble is base64.
#[cfg(target_arch = "x86_64")]
const BY_LOW_NIBBLE: [u8; 16] = [
    0x1A, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1E, 0x1C, 0x05, 0x04, 0x05, 0x04, 0x0D,
];

/// [`block_mask`] with AVX-512: the nibble lookups of
/// [`base64_mask_avx2`] over all 64 bytes at once, straight to a bit mask.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn block_mask_avx512(data: &[u8], from: usize) -> u64 {
    use std::arch::x86_64::*;
    let Some(block) = data.get(from..from + 64) else {
        return block_mask(data, from);
    };
    let lookup = |table: &[u8; 16]| {
        // SAFETY: 16 bytes; an unaligned load.
        _mm512_broadcast_i32x4(_mm_loadu_si128(table.as_ptr().cast()))
    };
    let nibble = _mm512_set1_epi8(0x0F);
    // SAFETY: `block` is 64 bytes; an unaligned load.
    let bytes = _mm512_loadu_si512(block.as_ptr().cast());
    let low = _mm512_and_si512(bytes, nibble);
    let high = _mm512_and_si512(_mm512_srli_epi16::<4>(bytes), nibble);
    _mm512_test_epi8_mask(
        _mm512_shuffle_epi8(lookup(&BY_LOW_NIBBLE), low),
        _mm512_shuffle_epi8(lookup(&BY_HIGH_NIBBLE), high),
    )
}

/// [`block_mask`] with AVX2, 32 bytes per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_mask_avx2(data: &[u8], from: usize) -> u64 {
    use std::arch::x86_64::*;
    let Some(block) = data.get(from..from + 64) else {
        return block_mask(data, from);
    };
    let half = |at: usize| {
        // SAFETY: `block` is 64 bytes, `at` is 0 or 32; an unaligned load.
        base64_mask_avx2(_mm256_loadu_si256(block.as_ptr().add(at).cast()))
    };
    u64::from(half(0)) | u64::from(half(32)) << 32
}

/// Bit `i` set where byte `i` of `bytes` is a base64 character: each
/// byte's low and high nibbles look up which groups of the alphabet they
/// may belong to (two shuffles), and a byte is base64 where the two agree.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn base64_mask_avx2(bytes: std::arch::x86_64::__m256i) -> u32 {
    use std::arch::x86_64::*;
    let lookup = |table: &[u8; 16]| {
        // SAFETY: 16 bytes; an unaligned load.
        _mm256_broadcastsi128_si256(_mm_loadu_si128(table.as_ptr().cast()))
    };
    let (by_high, by_low) = (lookup(&BY_HIGH_NIBBLE), lookup(&BY_LOW_NIBBLE));
    let nibble = _mm256_set1_epi8(0x0F);
    let low = _mm256_and_si256(bytes, nibble);
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(bytes), nibble);
    let groups = _mm256_and_si256(
        _mm256_shuffle_epi8(by_low, low),
        _mm256_shuffle_epi8(by_high, high),
    );
    let outside = _mm256_cmpeq_epi8(groups, _mm256_setzero_si256());
    !(_mm256_movemask_epi8(outside) as u32)
}

/// [`block_mask`] of 16 bytes.
#[cfg(target_arch = "x86_64")]
fn chunk_mask(chunk: &[u8]) -> u16 {
    use std::arch::x86_64::*;
    assert_eq!(chunk.len(), 16);
    // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads
    // exactly the 16 bytes of `chunk` (checked above).
    unsafe {
        let bytes = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        // Signed compares: bytes of 0x80 and above are negative, in no range.
        let within = |v, low: u8, high: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(low as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(high as i8 + 1)),
            )
        };
        let digit = within(bytes, b'0', b'9');
        let letter = within(_mm_or_si128(bytes, _mm_set1_epi8(0x20)), b'a', b'z');
        let equals = |byte: u8| _mm_cmpeq_epi8(bytes, _mm_set1_epi8(byte as i8));
        let special = _mm_or_si128(
            _mm_or_si128(equals(b'+'), equals(b'/')),
            _mm_or_si128(equals(b'-'), equals(b'_')),
        );
        let base64 = _mm_or_si128(_mm_or_si128(digit, letter), special);
        _mm_movemask_epi8(base64) as u16
    }
}

/// [`block_mask`] of 16 bytes.
#[cfg(not(target_arch = "x86_64"))]
fn chunk_mask(chunk: &[u8]) -> u16 {
    chunk
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u16::from(is_base64(b)) << i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The maximal runs, byte by byte.
    fn reference(data: &[u8], min: usize) -> Vec<Range<usize>> {
        let mut runs = Vec::new();
        let mut start = None;
        for (i, &b) in data.iter().chain(std::iter::once(&b' ')).enumerate() {
            match (is_base64(b), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= min {
                        runs.push(s..i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// Each block classifier this CPU can run.
    fn classifiers() -> Vec<fn(&[u8], usize) -> u64> {
        let mut all: Vec<fn(&[u8], usize) -> u64> = vec![block_mask];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 checked just above.
            all.push(|data, from| unsafe { block_mask_avx2(data, from) });
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512bw") {
            // SAFETY: AVX-512 BW (which implies F) checked just above.
            all.push(|data, from| unsafe { block_mask_avx512(data, from) });
        }
        all
    }

    #[test]
    fn every_byte_is_classified_like_the_scalar_test() {
        for block_mask in classifiers() {
            every_byte_is_classified_by(block_mask);
        }
    }

    fn every_byte_is_classified_by(block_mask: fn(&[u8], usize) -> u64) {
        let all: Vec<u8> = (0..=255).collect();
        let expected: Vec<bool> = all.iter().map(|&b| is_base64(b)).collect();
        let mask = u128::from(block_mask(&all, 0)) | u128::from(block_mask(&all, 64)) << 64;
        let high = u128::from(block_mask(&all, 128)) | u128::from(block_mask(&all, 192)) << 64;
        for (i, &want) in expected.iter().enumerate() {
            let got = if i < 128 {
                mask >> i & 1 == 1
            } else {
                high >> (i - 128) & 1 == 1
            };
            assert_eq!(got, want, "byte {i:#x}");
        }
    }

    #[test]
    fn runs_at_block_edges_and_the_end_are_found() {
        for len in [0, 19, 20, 21, 63, 64, 65, 127, 128, 129, 200] {
            for offset in [0, 1, 44, 63, 64, 100] {
                let mut data = vec![b' '; offset];
                data.extend(std::iter::repeat_n(b'A', len));
                data.extend(b" x");
                assert_eq!(
                    long_runs(&data, 20),
                    reference(&data, 20),
                    "{len} at {offset}"
                );
                data.truncate(offset + len);
                assert_eq!(
                    long_runs(&data, 20),
                    reference(&data, 20),
                    "{len} at {offset}, end"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn long_runs_are_the_maximal_runs(
            data in proptest::collection::vec(
                prop_oneof![
                    4 => proptest::sample::select(b"aZ09+/-_".to_vec()),
                    1 => any::<u8>(),
                ],
                0..600,
            ),
            min in 1usize..=64,
        ) {
            prop_assert_eq!(long_runs(&data, min), reference(&data, min));
            prop_assert_eq!(runs_of(&data, min, block_mask), reference(&data, min));
        }
    }
}
