//! git's delta format (pack-format.txt, "Deltified representation"): the
//! base's size and the result's size as little-endian base-128 numbers,
//! then instructions that either copy a range of the base or insert bytes
//! carried in the delta. gix applies deltas only inside its own object
//! reads; the delta-order reader applies them to bases it already holds.
//!
//! A delta comes from a pack on disk, which may be corrupt: every size and
//! range is checked, and a bad delta is an error, never a panic.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    #[error("the delta ends inside its header or an instruction")]
    Truncated,
    #[error("the delta is for a base of {expected} bytes, the base has {actual}")]
    BaseSize { expected: u64, actual: usize },
    #[error("the delta's result of {0} bytes is over the limit")]
    TooLarge(u64),
    #[error("a copy instruction reaches past the end of the base")]
    CopyOutOfRange,
    #[error("the delta uses the reserved instruction 0")]
    ReservedInstruction,
    #[error("the delta made {actual} bytes where its header says {expected}")]
    ResultSize { expected: u64, actual: usize },
}

/// The sizes a delta starts with: (base size, result size, header length).
pub fn sizes(delta: &[u8]) -> Result<(u64, u64, usize), DeltaError> {
    let (base, used) = varint(delta)?;
    let (result, more) = varint(&delta[used..])?;
    Ok((base, result, used + more))
}

/// Applies `delta` to `base`, writing the result into `out` (cleared first).
/// A result over `limit` bytes is refused before anything is allocated.
pub fn apply(base: &[u8], delta: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), DeltaError> {
    let (base_size, result_size, mut at) = sizes(delta)?;
    if base_size != base.len() as u64 {
        return Err(DeltaError::BaseSize {
            expected: base_size,
            actual: base.len(),
        });
    }
    if result_size > limit {
        return Err(DeltaError::TooLarge(result_size));
    }
    out.clear();
    out.reserve(result_size as usize);
    while at < delta.len() {
        let command = delta[at];
        at += 1;
        if command & 0x80 != 0 {
            let mut offset = 0usize;
            let mut size = 0usize;
            for (bit, shift) in [(0x01, 0), (0x02, 8), (0x04, 16), (0x08, 24)] {
                if command & bit != 0 {
                    offset |= usize::from(*delta.get(at).ok_or(DeltaError::Truncated)?) << shift;
                    at += 1;
                }
            }
            for (bit, shift) in [(0x10, 0), (0x20, 8), (0x40, 16)] {
                if command & bit != 0 {
                    size |= usize::from(*delta.get(at).ok_or(DeltaError::Truncated)?) << shift;
                    at += 1;
                }
            }
            if size == 0 {
                size = 0x10000;
            }
            let copied = offset
                .checked_add(size)
                .and_then(|end| base.get(offset..end))
                .ok_or(DeltaError::CopyOutOfRange)?;
            out.extend_from_slice(copied);
        } else if command != 0 {
            let inserted = delta
                .get(at..at + usize::from(command))
                .ok_or(DeltaError::Truncated)?;
            out.extend_from_slice(inserted);
            at += usize::from(command);
        } else {
            return Err(DeltaError::ReservedInstruction);
        }
        if out.len() as u64 > result_size {
            break;
        }
    }
    if out.len() as u64 != result_size {
        return Err(DeltaError::ResultSize {
            expected: result_size,
            actual: out.len(),
        });
    }
    Ok(())
}

/// A little-endian base-128 number (7 bits per byte, high bit: more).
fn varint(data: &[u8]) -> Result<(u64, usize), DeltaError> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DeltaError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn push_varint(out: &mut Vec<u8>, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// What a delta says to do, before it is encoded.
    #[derive(Debug, Clone)]
    enum Op {
        Copy { offset: usize, size: usize },
        Insert(Vec<u8>),
    }

    /// Encodes `ops` the way git does and returns the delta and the result
    /// they describe.
    fn encode(base: &[u8], ops: &[Op]) -> (Vec<u8>, Vec<u8>) {
        let mut expected = Vec::new();
        let mut body = Vec::new();
        for op in ops {
            match op {
                Op::Copy { offset, size } => {
                    expected.extend_from_slice(&base[*offset..offset + size]);
                    let mut command = 0x80u8;
                    let mut args = Vec::new();
                    for (i, bit) in [0x01, 0x02, 0x04, 0x08].into_iter().enumerate() {
                        let byte = (offset >> (8 * i)) as u8;
                        if byte != 0 {
                            command |= bit;
                            args.push(byte);
                        }
                    }
                    let encoded_size = if *size == 0x10000 { 0 } else { *size };
                    for (i, bit) in [0x10, 0x20, 0x40].into_iter().enumerate() {
                        let byte = (encoded_size >> (8 * i)) as u8;
                        if byte != 0 {
                            command |= bit;
                            args.push(byte);
                        }
                    }
                    body.push(command);
                    body.extend(args);
                }
                Op::Insert(bytes) => {
                    expected.extend_from_slice(bytes);
                    body.push(bytes.len() as u8);
                    body.extend_from_slice(bytes);
                }
            }
        }
        let mut delta = Vec::new();
        push_varint(&mut delta, base.len() as u64);
        push_varint(&mut delta, expected.len() as u64);
        delta.extend(body);
        (delta, expected)
    }

    fn ops_for(base_len: usize) -> impl Strategy<Value = Vec<Op>> {
        let insert = proptest::collection::vec(any::<u8>(), 1..=127).prop_map(Op::Insert);
        let op = if base_len == 0 {
            insert.boxed()
        } else {
            let copy = (0..base_len)
                .prop_flat_map(move |offset| (Just(offset), 1..=base_len - offset))
                .prop_map(|(offset, size)| Op::Copy { offset, size });
            prop_oneof![insert, copy].boxed()
        };
        proptest::collection::vec(op, 0..20)
    }

    proptest! {
        #[test]
        fn applying_an_encoded_delta_gives_what_it_describes(
            (base, ops) in proptest::collection::vec(any::<u8>(), 0..300)
                .prop_flat_map(|base| { let len = base.len(); (Just(base), ops_for(len)) })
        ) {
            let (delta, expected) = encode(&base, &ops);
            let mut out = Vec::new();
            prop_assert_eq!(apply(&base, &delta, u64::MAX, &mut out), Ok(()));
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn any_bytes_as_a_delta_give_a_result_or_an_error_never_a_panic(
            base in proptest::collection::vec(any::<u8>(), 0..64),
            delta in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut out = Vec::new();
            if apply(&base, &delta, 1 << 20, &mut out).is_ok() {
                let (_, result, _) = sizes(&delta).expect("an applied delta has sizes");
                prop_assert_eq!(out.len() as u64, result);
            }
        }
    }

    #[test]
    fn a_copy_of_size_zero_means_64_kib() {
        let base = vec![7u8; 0x10000];
        let (delta, expected) = encode(
            &base,
            &[Op::Copy {
                offset: 0,
                size: 0x10000,
            }],
        );
        let mut out = Vec::new();
        apply(&base, &delta, u64::MAX, &mut out).expect("applies");
        assert_eq!(out, expected);
    }

    #[test]
    fn bad_deltas_are_errors() {
        let base = b"hello world".to_vec();
        let mut out = Vec::new();
        // Wrong base size.
        assert!(matches!(
            apply(&base, &[5, 5, 0x90, 5], u64::MAX, &mut out),
            Err(DeltaError::BaseSize { .. })
        ));
        // Copy past the end of the base.
        assert_eq!(
            apply(&base, &[11, 5, 0x91, 9, 5], u64::MAX, &mut out),
            Err(DeltaError::CopyOutOfRange)
        );
        // Insert longer than what is left.
        assert_eq!(
            apply(&base, &[11, 5, 5, b'a'], u64::MAX, &mut out),
            Err(DeltaError::Truncated)
        );
        // The reserved instruction.
        assert_eq!(
            apply(&base, &[11, 1, 0], u64::MAX, &mut out),
            Err(DeltaError::ReservedInstruction)
        );
        // A result larger than the limit is refused up front.
        assert_eq!(
            apply(&base, &[11, 0x80, 0x80, 0x04], 1000, &mut out),
            Err(DeltaError::TooLarge(1 << 16))
        );
        // Fewer bytes than the header promised.
        assert!(matches!(
            apply(
                &base,
                &[11, 6, 5, b'a', b'b', b'c', b'd', b'e'],
                u64::MAX,
                &mut out
            ),
            Err(DeltaError::ResultSize { .. })
        ));
    }
}
