//! The first test of every position of a blob: may a fingerprint (3 bytes,
//! ASCII case folded) start here? A bitset over the possible windows says,
//! no at about 95% of the positions of real code; this loop is most of the
//! keyword pass.
//!
//! Two ways to turn a window into a bit, chosen when the keywords are
//! compiled:
//!
//! - *Extracted* (x86_64 with a fast `pext`): the 6 bits of each byte that
//!   are not its case bit or its high bit, 18 bits in one instruction, a
//!   32 KiB bitset indexed without hashing, so no two fingerprints collide
//!   (false candidates: 4.7% of positions of npm code instead of 5.7%).
//!   The keyword pass takes 0.74x the time of the hashed probe on npm code,
//!   the whole scan 0.81x (docs/benchmarks.md).
//! - *Hashed* (everywhere else): fold the case, mask the window and take a
//!   multiplicative hash to 17 bits, a 16 KiB bitset.
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
/// The bits `pext` keeps of a window: bits 0-4 and 6 of each byte.
const EXTRACT: u32 = 0x005F_5F5F;
const EXTRACTED_LOG2: u32 = 18;

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

    /// The bit of `window` (its low 3 bytes; the fourth is ignored).
    fn bit(self, window: u32) -> usize {
        match self {
            Scheme::Hashed => hashed(window),
            Scheme::Extracted => extracted_portable(window),
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

/// Words of the bitset: enough for either scheme (the hashed one uses the
/// first half), a fixed size so that indexing needs no bounds check.
const WORDS: usize = 1 << (EXTRACTED_LOG2 - 6);

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

    /// Marks the window `key` (its low 3 bytes).
    pub(super) fn insert(&mut self, key: u32) {
        let bit = self.scheme.bit(key);
        self.bits[bit >> 6] |= 1 << (bit & 63);
    }

    /// Whether window `key` may be a fingerprint (the slow, portable path).
    pub(super) fn contains(&self, key: u32) -> bool {
        let bit = self.scheme.bit(key);
        self.bits[bit >> 6] >> (bit & 63) & 1 != 0
    }

    /// Calls `candidate(at, window)` for each position `at` whose 3 bytes
    /// may be a fingerprint, in order, with the 4 bytes from `at`
    /// (little-endian, unfolded). Positions with fewer than 4 bytes left
    /// are the caller's.
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
        /// The portable extraction is `pext`, and ignores case and the
        /// fourth byte.
        #[test]
        fn extraction_matches_pext_and_folds_case(window: u32) {
            let bit = extracted_portable(window);
            prop_assert!(bit < 1 << EXTRACTED_LOG2);
            prop_assert_eq!(bit, extracted_portable((window | 0x2020_2020) & WINDOW));
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
            for key in [b"ghp", b"key", b"sk_"] {
                probe.insert(u32::from_le_bytes([key[0], key[1], key[2], 0]));
            }
            let haystack = b"xx GHP_ abc KEY sk_ nothing else here";
            let mut found = Vec::new();
            probe.candidates(haystack, |at, _| found.push(at));
            assert_eq!(found, vec![3, 12, 16], "{scheme:?}");
        }
    }
}
