//! The first test of every position of a blob: may a fingerprint (3 bytes,
//! ASCII case folded) start here? A bitset over the possible windows says,
//! no at about 95-98% of the positions of real code; this loop is most of
//! the keyword pass.
//!
//! Two ways to turn a window into a bit, chosen when the keywords are
//! compiled:
//!
//! - *Extracted* (x86_64 with a fast `pext`): 18 bits picked out of the 4
//!   bytes at the position in one instruction (the fingerprint and the byte
//!   that follows it in its keyword, never a case bit), a 32 KiB bitset
//!   indexed without hashing. False candidates: 2.3% of positions of npm
//!   code, against 5.7% for the hashed probe. The npm scan took 0.81x the
//!   CPU time of the hashed probe with 3 extracted bytes, and 0.88x of that
//!   with the fourth (docs/benchmarks.md).
//! - *Hashed* (everywhere else): fold the case, mask the 3-byte window and
//!   take a multiplicative hash to 17 bits, a 16 KiB bitset.
//!
//! Both are superset filters: a yes is checked exactly behind it.

/// Folds ASCII case (and maps a few punctuation bytes together).
const FOLD: u32 = 0x2020_2020;
/// The 3 bytes of a window.
const WINDOW: u32 = 0x00FF_FFFF;
/// Multiplicative hash constant (golden ratio).
const MIX: u32 = 0x9E37_79B1;
/// Bits of the hashed bitset: 2^17 (16 KiB) keeps false candidates near
/// 1.5% of positions even at 2,000 fingerprints.
const HASHED_LOG2: u32 = 17;
/// The bits `pext` keeps of a 4-byte window, never the case bit: the low 5
/// of the fingerprint's first two bytes, the low 4 of its third and of the
/// byte after it; 18 bits, a 32 KiB bitset. (The byte after a fingerprint
/// cuts false candidates to a third; 19 bits, 64 KiB, was no faster in the
/// scan.)
const EXTRACT: u32 = 0x0F0F_1F1F;
const EXTRACTED_LOG2: u32 = EXTRACT.count_ones();

/// How a window becomes a bit of the first test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Hashed,
    /// Only ever chosen where [`Scheme::fastest`] found `pext` fast.
    Extracted,
}

impl Scheme {
    /// [`Scheme::Extracted`] where the CPU has a fast `pext`: Intel since
    /// Haswell, AMD since Zen 3 (earlier AMD cores run it in microcode,
    /// slower than the hash).
    pub(super) fn fastest() -> Scheme {
        if fast_pext() {
            Scheme::Extracted
        } else {
            Scheme::Hashed
        }
    }
}

#[inline(always)]
fn hashed(window: u32) -> usize {
    (((window | FOLD) & WINDOW).wrapping_mul(MIX) >> (32 - HASHED_LOG2)) as usize
}

/// What `pext(window, EXTRACT)` computes, without the instruction: for
/// building the bitset and for CPUs that lack it.
fn extracted_portable(window: u32) -> usize {
    (0..32)
        .filter(|bit| EXTRACT >> bit & 1 != 0)
        .enumerate()
        .fold(0, |out, (to, from)| {
            out | ((window >> from & 1) as usize) << to
        })
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
            (Scheme::Extracted, Some(next)) => {
                self.set(extracted_portable(key | u32::from(next) << 24))
            }
            (Scheme::Extracted, None) => {
                // Any byte may follow: each value of the bits kept of it
                // (the other 240 bytes give the same 16 bits).
                let kept = EXTRACT >> 24;
                for next in (0..=kept).filter(|next| next & !kept == 0) {
                    self.set(extracted_portable(key | next << 24));
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
            _ => self.scan(haystack, candidate, hashed),
        }
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
        for scheme in [Scheme::Hashed, Scheme::Extracted] {
            if scheme == Scheme::Extracted && !fast_pext() {
                continue;
            }
            let mut probe = Probe::new(scheme);
            for (key, next) in [(b"ghp", Some(b'_')), (b"key", None), (b"sk_", None)] {
                probe.insert(u32::from_le_bytes([key[0], key[1], key[2], 0]), next);
            }
            let haystack = b"xx GHP_ abc KEY sk_ nothing else here";
            let mut found = Vec::new();
            probe.candidates(haystack, |at, _| found.push(at));
            assert_eq!(found, vec![3, 12, 16], "{scheme:?}");
            if scheme == Scheme::Extracted {
                // The byte after a fingerprint that does not end its keyword
                // is part of the test.
                let mut found = Vec::new();
                probe.candidates(b"xx GHPX ghp_", |at, _| found.push(at));
                assert_eq!(found, vec![8]);
            }
        }
    }
}
