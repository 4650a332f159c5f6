//! The first test of every position of a blob: may a fingerprint (3 bytes,
//! ASCII case folded) start here? A bitset over the possible windows says,
//! no at about 95-98% of the positions of real code; this loop is most of
//! the keyword pass.
//!
//! Four ways to turn a window into a bit, chosen when the keywords are
//! compiled:
//!
//! - *Gathered* (x86_64 with AVX2): 19 bits picked out of the 4 bytes at
//!   the position (the fingerprint and the byte that follows it in its
//!   keyword, never a case bit), a 64 KiB bitset indexed without hashing,
//!   8 positions at a time: one shuffle makes the 8 windows, shifts and
//!   masks pick the bits, one gather loads the 8 bitset words. The scalar
//!   loop is a dependent load and test per position; this one has no
//!   branch until a position says yes. False candidates: 1.5% of the
//!   positions of npm code (2.3% with 18 bits).
//! - *Gathered wide* (x86_64 with AVX-512 F and BW): the same, 16
//!   positions a step (one permute and one byte shuffle make the 16
//!   windows): half the instructions per position.
//! - *Extracted* (x86_64 with a fast `pext` but no AVX2): the same bits
//!   and bitset, one position at a time, `pext` picking the bits.
//! - *Hashed* (everywhere else): fold the case, mask the 3-byte window and
//!   take a multiplicative hash to 17 bits, a 16 KiB bitset (5.7% false
//!   candidates).
//!
//! On npm code the keyword pass took 0.70x the time of the scalar `pext`
//! loop with 18 bits (0.85x from the vector loop, the rest from the 19th
//! bit), and the whole scan 0.90x the CPU time (docs/benchmarks.md,
//! "Per-byte work, third round").
//!
//! All are superset filters: a yes is checked exactly behind it.

/// Folds ASCII case (and maps a few punctuation bytes together).
const FOLD: u32 = 0x2020_2020;
/// The 3 bytes of a window.
const WINDOW: u32 = 0x00FF_FFFF;
/// Multiplicative hash constant (golden ratio).
const MIX: u32 = 0x9E37_79B1;
/// Bits of the hashed bitset: 2^17 (16 KiB) keeps false candidates near
/// 1.5% of positions even at 2,000 fingerprints.
const HASHED_LOG2: u32 = 17;
/// The low bits kept of each byte of a 4-byte window, never the case bit:
/// 5 of each of the fingerprint's bytes and 4 of the byte after it; 19
/// bits, a 64 KiB bitset. On npm code, against 18 bits (4 of the third
/// byte), it cut false candidates by a third and the keyword pass to
/// 0.83x; 20 bits (128 KiB, past L1) gained 2% more there.
const KEPT: [u32; 4] = [5, 5, 5, 4];
const EXTRACT: u32 = field(0) | field(1) | field(2) | field(3);
const EXTRACTED_LOG2: u32 = EXTRACT.count_ones();

/// The bits kept of byte `i` of a window, in place.
const fn field(i: usize) -> u32 {
    ((1 << KEPT[i]) - 1) << (8 * i)
}

/// Where the bits of byte `i` go in the extracted value.
const fn offset(i: usize) -> u32 {
    let mut sum = 0;
    let mut j = 0;
    while j < i {
        sum += KEPT[j];
        j += 1;
    }
    sum
}

/// How far right byte `i`'s bits move, and their mask once there.
const SHIFT: [u32; 4] = [0, 8 - offset(1), 16 - offset(2), 24 - offset(3)];
const PLACED: [u32; 4] = [
    field(0),
    field(1) >> SHIFT[1],
    field(2) >> SHIFT[2],
    field(3) >> SHIFT[3],
];

/// How a window becomes a bit of the first test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Hashed,
    /// Only ever chosen where [`Scheme::fastest`] found `pext` fast.
    Extracted,
    /// Only ever chosen where [`Scheme::fastest`] found AVX2.
    Gathered,
    /// Only ever chosen where [`Scheme::fastest`] found AVX-512 (F and BW).
    GatheredWide,
}

impl Scheme {
    /// [`Scheme::Gathered`] where the CPU has AVX2, else
    /// [`Scheme::Extracted`] where it has a fast `pext`: Intel since
    /// Haswell, AMD since Zen 3 (earlier AMD cores run it in microcode,
    /// slower than the hash).
    pub(super) fn fastest() -> Scheme {
        if has_avx512() {
            Scheme::GatheredWide
        } else if has_avx2() {
            Scheme::Gathered
        } else if fast_pext() {
            Scheme::Extracted
        } else {
            Scheme::Hashed
        }
    }

    /// Every scheme this CPU can run, for tests that compare them.
    #[cfg(test)]
    pub(super) fn runnable() -> Vec<Scheme> {
        let mut schemes = vec![Scheme::Hashed];
        if fast_pext() {
            schemes.push(Scheme::Extracted);
        }
        if has_avx2() {
            schemes.push(Scheme::Gathered);
        }
        if has_avx512() {
            schemes.push(Scheme::GatheredWide);
        }
        schemes
    }
}

#[inline(always)]
fn hashed(window: u32) -> usize {
    (((window | FOLD) & WINDOW).wrapping_mul(MIX) >> (32 - HASHED_LOG2)) as usize
}

/// What `pext(window, EXTRACT)` computes, in shifts and masks: for
/// building the bitset, for the last positions of the gathered scheme and
/// for CPUs without `pext`.
#[inline(always)]
fn extracted_shifted(window: u32) -> usize {
    (window & PLACED[0]
        | window >> SHIFT[1] & PLACED[1]
        | window >> SHIFT[2] & PLACED[2]
        | window >> SHIFT[3] & PLACED[3]) as usize
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn fast_pext() -> bool {
    use std::arch::x86_64::__cpuid;
    if !std::is_x86_feature_detected!("bmi2") {
        return false;
    }
    let (vendor, signature) = (__cpuid(0), __cpuid(1).eax);
    let intel = (vendor.ebx, vendor.edx, vendor.ecx) == (0x756E_6547, 0x4965_6E69, 0x6C65_746E);
    let base = (signature >> 8) & 0xF;
    let family = base
        + if base == 0xF {
            (signature >> 20) & 0xFF
        } else {
            0
        };
    intel || family >= 0x19
}

#[cfg(not(target_arch = "x86_64"))]
fn fast_pext() -> bool {
    false
}

/// Calls `candidate` for each lane set in `found`, in order: the position
/// `at + lane` and its 4 bytes (a vector step's yes positions).
#[inline(always)]
fn report_lanes(
    mut found: u32,
    haystack: &[u8],
    at: usize,
    candidate: &mut impl FnMut(usize, u32),
) {
    while found != 0 {
        let position = at + found.trailing_zeros() as usize;
        let mut window = [0u8; 4];
        window.copy_from_slice(&haystack[position..position + 4]);
        candidate(position, u32::from_le_bytes(window));
        found &= found - 1;
    }
}

/// Words of the bitset: enough for either scheme, a fixed size so that
/// indexing needs no bounds check.
const WORDS: usize = 1
    << (if EXTRACTED_LOG2 > HASHED_LOG2 {
        EXTRACTED_LOG2
    } else {
        HASHED_LOG2
    } - 6);

/// The first test's bitset.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    scheme: Scheme,
    bits: Box<[u64; WORDS]>,
}

impl Probe {
    pub(super) fn new(scheme: Scheme) -> Self {
        Probe {
            scheme,
            bits: Box::new([0; WORDS]),
        }
    }

    /// Marks the fingerprint `key` (3 folded bytes) followed in its keyword
    /// by `next` (`None`: it ends its keyword, so any byte may follow).
    pub(super) fn insert(&mut self, key: u32, next: Option<u8>) {
        let key = key & WINDOW;
        match (self.scheme, next) {
            (Scheme::Hashed, _) => self.set(hashed(key)),
            (Scheme::Extracted | Scheme::Gathered | Scheme::GatheredWide, Some(next)) => {
                self.set(extracted_shifted(key | u32::from(next) << 24))
            }
            (Scheme::Extracted | Scheme::Gathered | Scheme::GatheredWide, None) => {
                // Any byte may follow: each value of the bits kept of it
                // (the other 240 bytes give the same 16 bits).
                let kept = EXTRACT >> 24;
                for next in (0..=kept).filter(|next| next & !kept == 0) {
                    self.set(extracted_shifted(key | next << 24));
                }
            }
        }
    }

    fn set(&mut self, bit: usize) {
        self.bits[bit >> 6] |= 1 << (bit & 63);
    }

    /// Calls `candidate(at, window)` for each position `at` whose 4 bytes
    /// may be a fingerprint and the byte after it, in order, with those
    /// bytes (little-endian, unfolded). Positions with fewer than 4 bytes
    /// left are the caller's.
    #[inline(always)]
    pub(super) fn candidates(&self, haystack: &[u8], candidate: impl FnMut(usize, u32)) {
        match self.scheme {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Extracted` is only chosen by `Scheme::fastest`, which
            // checked that the CPU has BMI2.
            Scheme::Extracted => unsafe { self.candidates_extracted(haystack, candidate) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Gathered` is only chosen by `Scheme::fastest`, which
            // checked that the CPU has AVX2.
            Scheme::Gathered => unsafe { self.candidates_gathered(haystack, candidate) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `GatheredWide` is only chosen by `Scheme::fastest`,
            // which checked that the CPU has AVX-512 F and BW.
            Scheme::GatheredWide => unsafe { self.candidates_gathered_wide(haystack, candidate) },
            _ => self.scan(haystack, candidate, hashed),
        }
    }

    /// The gathered scheme: 8 positions a step while 16 bytes remain, then
    /// the scalar loop on the same bits for the last few.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn candidates_gathered(&self, haystack: &[u8], mut candidate: impl FnMut(usize, u32)) {
        use std::arch::x86_64::*;
        // Lane i of the shuffled register is the window at position i of
        // the 16 bytes (both 128-bit halves hold the same 16 bytes).
        let windows = _mm256_setr_epi8(
            0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, //
            4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
        );
        const SECOND: i32 = SHIFT[1] as i32;
        const THIRD: i32 = SHIFT[2] as i32;
        const NEXT: i32 = SHIFT[3] as i32;
        let placed = PLACED.map(|mask| _mm256_set1_epi32(mask as i32));
        let low_five = _mm256_set1_epi32(31);
        let words = self.bits.as_ptr().cast::<i32>();
        let mut at = 0;
        while at + 16 <= haystack.len() {
            // SAFETY: 16 bytes from `at` are in the haystack (the loop's
            // condition); an unaligned load.
            let chunk = _mm_loadu_si128(haystack.as_ptr().add(at).cast());
            let window = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(chunk), windows);
            let bit = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_and_si256(window, placed[0]),
                    _mm256_and_si256(_mm256_srli_epi32::<SECOND>(window), placed[1]),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi32::<THIRD>(window), placed[2]),
                    _mm256_and_si256(_mm256_srli_epi32::<NEXT>(window), placed[3]),
                ),
            );
            // SAFETY: `bit` < 2^EXTRACTED_LOG2, so the 32-bit word
            // `bit >> 5` is inside the bitset (`WORDS` holds that many bits).
            let word = _mm256_i32gather_epi32::<4>(words, _mm256_srli_epi32::<5>(bit));
            // Shift the tested bit up to the sign, which movemask collects.
            let tested = _mm256_sllv_epi32(word, _mm256_andnot_si256(bit, low_five));
            let found = _mm256_movemask_ps(_mm256_castsi256_ps(tested)) as u32;
            report_lanes(found, haystack, at, &mut candidate);
            at += 8;
        }
        let rest = haystack.get(at..).unwrap_or_default();
        self.scan(
            rest,
            |offset, window| candidate(at + offset, window),
            extracted_shifted,
        );
    }

    /// The gathered scheme 16 positions a step while 32 bytes remain
    /// (half the instructions per position of the AVX2 loop), then that
    /// loop for the last few.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn candidates_gathered_wide(
        &self,
        haystack: &[u8],
        mut candidate: impl FnMut(usize, u32),
    ) {
        use std::arch::x86_64::*;
        // 128-bit lane k takes 32-bit words k and k + 1 of the loaded
        // bytes, then its 4 windows from those 8 bytes: lane i of the
        // result is the window at position i.
        let spread = _mm512_setr_epi32(0, 1, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3, 4, 0, 0);
        let windows = _mm512_broadcast_i32x4(_mm_setr_epi8(
            0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6,
        ));
        const SECOND: u32 = SHIFT[1];
        const THIRD: u32 = SHIFT[2];
        const NEXT: u32 = SHIFT[3];
        let placed = PLACED.map(|mask| _mm512_set1_epi32(mask as i32));
        let low_five = _mm512_set1_epi32(31);
        let words = self.bits.as_ptr().cast::<i32>();
        let mut at = 0;
        while at + 32 <= haystack.len() {
            // SAFETY: 32 bytes from `at` are in the haystack (the loop's
            // condition); an unaligned load. The upper half of the cast
            // register is never indexed by `spread`.
            let chunk = _mm256_loadu_si256(haystack.as_ptr().add(at).cast());
            let window = _mm512_shuffle_epi8(
                _mm512_permutexvar_epi32(spread, _mm512_castsi256_si512(chunk)),
                windows,
            );
            let bit = _mm512_or_si512(
                _mm512_or_si512(
                    _mm512_and_si512(window, placed[0]),
                    _mm512_and_si512(_mm512_srli_epi32::<SECOND>(window), placed[1]),
                ),
                _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi32::<THIRD>(window), placed[2]),
                    _mm512_and_si512(_mm512_srli_epi32::<NEXT>(window), placed[3]),
                ),
            );
            // SAFETY: `bit` < 2^EXTRACTED_LOG2, so the 32-bit word
            // `bit >> 5` is inside the bitset (`WORDS` holds that many bits).
            let word = _mm512_i32gather_epi32::<4>(_mm512_srli_epi32::<5>(bit), words);
            // Shift the tested bit up to the sign.
            let tested = _mm512_sllv_epi32(word, _mm512_andnot_si512(bit, low_five));
            let found = u32::from(_mm512_cmplt_epi32_mask(tested, _mm512_setzero_si512()));
            report_lanes(found, haystack, at, &mut candidate);
            at += 16;
        }
        let rest = haystack.get(at..).unwrap_or_default();
        self.candidates_gathered(rest, |offset, window| candidate(at + offset, window));
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "bmi2")]
    unsafe fn candidates_extracted(&self, haystack: &[u8], candidate: impl FnMut(usize, u32)) {
        self.scan(haystack, candidate, |window| {
            std::arch::x86_64::_pext_u32(window, EXTRACT) as usize
        })
    }

    #[inline(always)]
    fn scan(
        &self,
        haystack: &[u8],
        mut candidate: impl FnMut(usize, u32),
        bit_of: impl Fn(u32) -> usize,
    ) {
        let bits = &*self.bits;
        // Not `windows(4)`: it assembles each window byte by byte.
        for at in 0..haystack.len().saturating_sub(3) {
            let Some(window) = haystack[at..].first_chunk::<4>() else {
                break;
            };
            let window = u32::from_le_bytes(*window);
            let bit = bit_of(window);
            if bits[bit >> 6 & (WORDS - 1)] >> (bit & 63) & 1 != 0 {
                candidate(at, window);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `pext(window, EXTRACT)` computes, bit by bit from the mask:
    /// the reference for the shifts and masks.
    fn extracted_portable(window: u32) -> usize {
        (0..32)
            .filter(|bit| EXTRACT >> bit & 1 != 0)
            .enumerate()
            .fold(0, |out, (to, from)| {
                out | ((window >> from & 1) as usize) << to
            })
    }

    proptest! {
        /// The portable extraction is `pext`, ignores ASCII case, and
        /// keeps the fingerprint's bytes apart from the one after it.
        #[test]
        fn extraction_matches_pext_and_folds_case(window: u32) {
            let bit = extracted_portable(window);
            prop_assert!(bit < 1 << EXTRACTED_LOG2);
            prop_assert_eq!(bit, extracted_portable(window | FOLD));
            prop_assert_eq!(bit, extracted_portable(window & !FOLD));
            prop_assert_ne!(bit, extracted_portable(window ^ 1));
            prop_assert_ne!(bit, extracted_portable(window ^ 1 << 24));
            prop_assert_eq!(bit, extracted_shifted(window));
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("bmi2") {
                // SAFETY: BMI2 checked just above.
                let pext = unsafe { std::arch::x86_64::_pext_u32(window, EXTRACT) };
                prop_assert_eq!(bit, pext as usize);
            }
        }
    }

    #[test]
    fn both_schemes_report_the_inserted_windows_and_not_most_others() {
        for scheme in Scheme::runnable() {
            let mut probe = Probe::new(scheme);
            for (key, next) in [(b"ghp", Some(b'_')), (b"key", None), (b"sk_", None)] {
                probe.insert(u32::from_le_bytes([key[0], key[1], key[2], 0]), next);
            }
            let haystack = b"xx GHP_ abc KEY sk_ nothing else here";
            let mut found = Vec::new();
            probe.candidates(haystack, |at, _| found.push(at));
            assert_eq!(found, vec![3, 12, 16], "{scheme:?}");
            if scheme != Scheme::Hashed {
                // The byte after a fingerprint that does not end its keyword
                // is part of the test.
                let mut found = Vec::new();
                probe.candidates(b"xx GHPX ghp_", |at, _| found.push(at));
                assert_eq!(found, vec![8]);
            }
        }
    }
}
