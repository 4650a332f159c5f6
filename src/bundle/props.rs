//! Property tests for the parsers that read scanned content: the decoders,
//! the source-map reader and the archive readers see attacker-made bytes, so
//! on any input they must not panic, must stay bounded, and must report
//! positions inside the input.

use super::archive::{ArchiveKind, ArchiveLimits, ArchiveScan};
use super::decode::{self, decode_escapes_into, decode_percent_into, Decoded, Encoding};
use super::sourcemap::{
    inline_map, parse_sources, source_content, source_mapping_url, utf16_column, BundleMap,
};
use crate::blob::{Admission, Blob, BlobSink};
use crate::config::Config;
use crate::filter::baseline::Baseline;
use crate::filter::Filters;
use crate::stats::StatsCollector;
use proptest::prelude::*;
use std::sync::Mutex;

/// Bytes that often look like the encodings (escapes, percent, base64,
/// JSON, map comments) mixed with anything.
fn encoded_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"\\u".to_vec()),
        Just(b"\\x".to_vec()),
        Just(b"\\u{".to_vec()),
        Just(b"\\ud83d\\ude00".to_vec()),
        Just(b"%4".to_vec()),
        Just(b"%41".to_vec()),
        Just(b"\\\"key\\\":".to_vec()),
        Just(b"QUFBQUFBQUFBQUFBQUFBQUFBQUFB".to_vec()),
        Just(b";base64,".to_vec()),
        Just(b"\"sourcesContent\":[\"".to_vec()),
        Just(b"//# sourceMappingURL=".to_vec()),
        Just(b"\",\"".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|parts| parts.concat())
}

/// Checks a decoded view's provenance: every origin inside the source.
fn check_view(view: &Decoded, source_len: usize) {
    for at in 0..=view.bytes.len() {
        assert!(view.origin(at) <= source_len, "origin past the input");
    }
    let range = view.source_range(0..view.bytes.len());
    assert!(range.start <= range.end && range.end <= source_len + 1);
}

/// A sink that only counts.
struct Count(Mutex<usize>);

impl BlobSink for Count {
    fn blob(&self, blob: &Blob<'_>) {
        assert!(blob.data.len() <= 1 << 20);
        *self.0.lock().unwrap() += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decoding_is_bounded_and_maps_into_the_input(data in encoded_bytes(), budget in 0usize..4096) {
        let mut left = budget;
        let outcome = decode::decode(&data, &[], &mut left);
        let produced: usize = outcome.views.iter().map(|v| v.bytes.len()).sum();
        prop_assert!(produced <= budget);
        prop_assert_eq!(left, budget - produced);
        for view in &outcome.views {
            check_view(view, data.len());
        }
    }

    #[test]
    fn escape_and_percent_windows_stay_inside(data in encoded_bytes(), a in 0usize..512, b in 0usize..512) {
        let (start, end) = (a.min(b).min(data.len()), a.max(b).min(data.len()));
        let mut escapes = Decoded::new(Encoding::JsEscape);
        decode_escapes_into(&data, start..end, &mut escapes);
        let mut percent = Decoded::new(Encoding::Percent);
        decode_percent_into(&data, start..end, &mut percent);
        // Decoding never grows text (an escape is longer than its character
        // or as long as its UTF-8 form).
        prop_assert!(escapes.bytes.len() <= end - start);
        prop_assert!(percent.bytes.len() <= end - start);
        for at in start..end {
            if let Some((_, len)) = decode::escape_at(&data, at, end) {
                prop_assert!(at + len <= end);
            }
        }
    }

    #[test]
    fn source_maps_never_panic_and_ranges_are_inside(data in encoded_bytes()) {
        if let Ok(sources) = parse_sources(&data) {
            for range in sources.contents.iter().flatten() {
                prop_assert!(range.start <= range.end && range.end <= data.len());
                check_view(&source_content(&data, range.clone()), data.len());
            }
            for index in 0..sources.sources.len() + 1 {
                let _ = sources.name(index);
            }
        }
        if let Ok(map) = BundleMap::parse(&data) {
            let _ = map.original(0, 0);
            let _ = map.original(u32::MAX, u32::MAX);
        }
        if let Some(url) = source_mapping_url(&data) {
            prop_assert!(url.start <= url.end && url.end <= data.len());
            if let Some(map) = inline_map(&data, url) {
                check_view(&map, data.len());
            }
        }
        let _ = utf16_column(&data, 0, data.len());
    }

    #[test]
    fn archive_readers_never_panic(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            encoded_bytes(),
            proptest::collection::vec(any::<u8>(), 0..2048).prop_map(|mut d| {
                d.splice(0..0, b"PK\x03\x04".iter().copied());
                d
            }),
            proptest::collection::vec(any::<u8>(), 0..2048).prop_map(|mut d| {
                d.splice(0..0, [0x1f, 0x8b, 8, 0].iter().copied());
                d
            }),
        ],
    ) {
        let filters = Filters::new(&Config::default(), Baseline::default()).unwrap();
        let stats = StatsCollector::default();
        let sink = Count(Mutex::new(0));
        let scan = ArchiveScan {
            admission: Admission { max_file_size: 1 << 20, default_excludes: true },
            limits: ArchiveLimits::default(),
            filters: &filters,
            sink: &sink,
            stats: &stats,
        };
        for kind in [ArchiveKind::Zip, ArchiveKind::Tar, ArchiveKind::TarGz, ArchiveKind::Gz] {
            scan.scan(&data, &crate::provenance::Provenance::File("a".into()), kind);
        }
    }
}
