//! Client bundles: the engine runs over a blob and over its derived views
//! (decoded strings, the original sources a source map embeds), findings in
//! views are mapped back to where they are in the blob, bundle positions are
//! resolved through source maps, and the client-exposure policy
//! (docs/client-side.md) is applied. Sources stay unaware of all of this:
//! they hand blobs to [`BundleScanner::scan`] like to the plain engine.

use crate::engine::Engine;
use crate::filter::Suppression;
use crate::finding::{Encoding, Finding, OriginalLocation};
use crate::matcher::BlobKind;
use crate::provenance::Provenance;
use crate::rules::Severity;
pub mod archive;
pub mod decode;
pub mod exposure;
#[cfg(test)]
mod props;
pub mod sourcemap;

pub use exposure::is_client_side;
use exposure::is_script;

use crate::stats::{ProblemKind, StatsCollector};
use crate::text::{allow_marker_covers, LineIndex};
use decode::{Decoded, Limits};
use sourcemap::{
    inline_map, is_source_map, parse_sources, source_content, source_mapping_url, BundleMap,
};
use std::collections::HashMap;
use std::ops::Range;

/// Which bundle features run (all on by default; `--no-decode`,
/// `--no-sourcemaps`, `--show-client-safe`).
#[derive(Debug, Clone, Copy)]
pub struct BundleOptions {
    pub decode: bool,
    pub sourcemaps: bool,
    pub show_client_safe: bool,
    /// Every blob is client-side (URL scans).
    pub all_client_side: bool,
    pub limits: Limits,
}

impl Default for BundleOptions {
    fn default() -> Self {
        BundleOptions {
            decode: true,
            sourcemaps: true,
            show_client_safe: false,
            all_client_side: false,
            limits: Limits::default(),
        }
    }
}

/// Finds the source map a bundle refers to (a sibling file, a fetched URL).
pub trait MapLookup: Sync {
    /// The map of the bundle at `bundle`: from its `sourceMappingURL`
    /// `reference` if it has one, else the conventional `<path>.map`. `None`
    /// if there is none; an error message if one exists but cannot be read.
    fn map_for(
        &self,
        bundle: &Provenance,
        reference: Option<&str>,
    ) -> Option<Result<Vec<u8>, String>>;
}

/// Bytes on each side of a secret that must be unchanged by a decoding for
/// a finding in the decoded view to be the plain scan's own: rules look at
/// the keyword and quotes around a secret, not only at the secret.
const VERBATIM_CONTEXT: usize = 64;

/// Decoded bytes one blob may still produce (4× its size, at least 1 MiB,
/// at most [`Limits::max_output`]); warned about once when it runs out.
struct Budget {
    left: usize,
    limit: usize,
    warned: bool,
}

/// Runs the engine over blobs and their derived views.
pub struct BundleScanner<'a> {
    pub engine: &'a Engine,
    pub options: BundleOptions,
    pub maps: Option<&'a dyn MapLookup>,
}

impl BundleScanner<'_> {
    /// The findings of one blob, in the blob's coordinates.
    pub fn scan(
        &self,
        data: &[u8],
        origin: &Provenance,
        kind: BlobKind,
        stats: &StatsCollector,
    ) -> Vec<Finding> {
        let path = &*origin.display_path();
        let limit = self
            .options
            .limits
            .max_output
            .min(data.len().saturating_mul(4).max(1 << 20));
        let mut budget = Budget {
            left: limit,
            limit,
            warned: false,
        };
        let mut findings = if self.options.sourcemaps && is_source_map(origin.file_name(), data) {
            self.scan_map_file(data, path, kind, stats, &mut budget)
        } else {
            self.scan_code(data, origin, kind, stats, &mut budget)
        };
        dedupe(&mut findings);
        self.apply_policy(data, origin, findings, stats)
    }

    /// A bundle or any other file: the text, its decoded views, its inline
    /// source map, and positions resolved through its map.
    fn scan_code(
        &self,
        data: &[u8],
        origin: &Provenance,
        kind: BlobKind,
        stats: &StatsCollector,
        budget: &mut Budget,
    ) -> Vec<Finding> {
        let path = &*origin.display_path();
        let mapping_url = if self.options.sourcemaps && is_script(origin) {
            source_mapping_url(data)
        } else {
            None
        };
        let inline = mapping_url.clone().and_then(|url| inline_map(data, url));
        // The inline map is scanned as a map below, not as a base64 blob.
        let skip: Vec<Range<usize>> = match (&inline, &mapping_url) {
            (Some(_), Some(url)) => vec![url.clone()],
            _ => Vec::new(),
        };
        let mut findings = self.scan_text(data, path, kind, &skip, stats, budget, 0);
        if !findings.is_empty() && self.options.sourcemaps {
            self.resolve_originals(
                data,
                origin,
                &mapping_url,
                inline.as_ref(),
                &mut findings,
                stats,
            );
        }
        if let Some(map) = &inline {
            let mut from_map = self.scan_map_file(&map.bytes, path, kind, stats, budget);
            let lines = LineIndex::new(data);
            for finding in &mut from_map {
                let range = map.source_range(finding.span.clone());
                relocate(finding, data, &lines, range);
                push_encoding(finding, map.encoding);
            }
            findings.extend(from_map);
        }
        findings
    }

    /// A source map: each `sourcesContent` entry is scanned as the file it
    /// was, reported at its place in the map with `original` set; the rest
    /// of the map (names, mappings) is scanned as text.
    fn scan_map_file(
        &self,
        map: &[u8],
        path: &str,
        kind: BlobKind,
        stats: &StatsCollector,
        budget: &mut Budget,
    ) -> Vec<Finding> {
        let sources = match parse_sources(map) {
            Ok(sources) => sources,
            Err(error) => {
                stats.warning_as(
                    ProblemKind::SourceMapInvalid,
                    path,
                    format!("{error}; scanned as plain text"),
                );
                return self.scan_text(map, path, kind, &[], stats, budget, 0);
            }
        };
        let contents: Vec<(usize, Range<usize>)> = sources
            .contents
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.clone().map(|r| (i, r)))
            .collect();
        let (Some(first), Some(last)) = (contents.first(), contents.last()) else {
            return self.scan_text(map, path, kind, &[], stats, budget, 0);
        };
        // The map around the embedded sources: the part before the first
        // and after the last (between them are only `",\n"` separators).
        let head = first.1.start.saturating_sub(1);
        let tail = (last.1.end + 1).min(map.len());
        let mut findings = self.scan_text(&map[..head], path, kind, &[], stats, budget, 0);
        let lines = LineIndex::new(map);
        for mut finding in self.scan_text(&map[tail..], path, kind, &[], stats, budget, 0) {
            let range = finding.span.start + tail..finding.span.end + tail;
            relocate(&mut finding, map, &lines, range);
            findings.push(finding);
        }
        for (index, range) in contents {
            let content = source_content(map, range);
            let name = sources.name(index);
            let found = self.scan_text(&content.bytes, path, kind, &[], stats, budget, 0);
            for mut finding in found {
                finding.original = Some(OriginalLocation {
                    path: name.clone(),
                    line: finding.line,
                    column: finding.column,
                });
                let range = content.source_range(finding.span.clone());
                relocate(&mut finding, map, &lines, range);
                findings.push(finding);
            }
        }
        findings
    }

    /// The engine over `data`, then over its decoded views, recursively up
    /// to the depth limit. Findings are in `data`'s coordinates; a finding
    /// in a view that is a verbatim copy of `data` is the engine's already.
    #[allow(clippy::too_many_arguments)]
    fn scan_text(
        &self,
        data: &[u8],
        path: &str,
        kind: BlobKind,
        skip: &[Range<usize>],
        stats: &StatsCollector,
        budget: &mut Budget,
        depth: usize,
    ) -> Vec<Finding> {
        // Allow markers count in the text as stored (and in the original
        // files a source map embeds), never in decoded views.
        let mut findings = if depth == 0 {
            self.engine.scan_blob(data, path, kind, stats)
        } else {
            self.engine.scan_decoded(data, path, kind, stats)
        };
        if !self.options.decode || depth >= self.options.limits.max_depth {
            return findings;
        }
        let outcome = decode::decode(data, skip, &mut budget.left);
        if outcome.exhausted && !budget.warned {
            budget.warned = true;
            stats.warning_as(
                ProblemKind::DecodeLimit,
                path,
                format!(
                    "decoding stopped at this file's limit of {} decoded; encoded strings beyond it were not decoded",
                    crate::text::human_bytes(budget.limit as u64)
                ),
            );
        }
        if outcome.oversized_runs > 0 {
            stats.warning_as(
                ProblemKind::DecodeLimit,
                path,
                format!(
                    "{} base64 run{} longer than {} not decoded",
                    outcome.oversized_runs,
                    if outcome.oversized_runs == 1 { "" } else { "s" },
                    crate::text::human_bytes(decode::MAX_BASE64_RUN as u64)
                ),
            );
        }
        let views = outcome.views;
        let mut lines: Option<LineIndex> = None;
        for view in views {
            let found = self.scan_text(&view.bytes, path, kind, &[], stats, budget, depth + 1);
            for mut finding in found {
                // A plain-text finding in a view that copies `data` there,
                // context included, is the engine's own (found, or suppressed
                // by an allow comment, already). One whose context was
                // decoded (`\"apiKey\":\"…\"`) is new, and so is one decoded
                // in a deeper view (its span holds the encoded text).
                let around = finding.span.start.saturating_sub(VERBATIM_CONTEXT)
                    ..(finding.span.end + VERBATIM_CONTEXT).min(view.bytes.len());
                if finding.encoding.is_empty() && view.is_verbatim(data, around) {
                    continue;
                }
                let range = view.source_range(finding.span.clone());
                let lines = lines.get_or_insert_with(|| LineIndex::new(data));
                if depth == 0 && allow_marker_covers(data, lines, range.clone()) {
                    stats.suppressed(Suppression::AllowComment);
                    continue;
                }
                relocate(&mut finding, data, lines, range);
                push_encoding(&mut finding, view.encoding);
                findings.push(finding);
            }
        }
        findings
    }

    /// Sets `original` on bundle findings from the bundle's source map.
    fn resolve_originals(
        &self,
        data: &[u8],
        origin: &Provenance,
        url: &Option<Range<usize>>,
        inline: Option<&Decoded>,
        findings: &mut [Finding],
        stats: &StatsCollector,
    ) {
        let path = &*origin.display_path();
        let bytes = match (inline, url) {
            (Some(map), _) => map.bytes.clone(),
            (None, url) => {
                let reference = url
                    .as_ref()
                    .map(|r| String::from_utf8_lossy(&data[r.clone()]).into_owned());
                let Some(found) = self
                    .maps
                    .and_then(|maps| maps.map_for(origin, reference.as_deref()))
                else {
                    return;
                };
                match found {
                    Ok(bytes) => bytes,
                    Err(message) => {
                        stats.warning_as(ProblemKind::SourceMapMissing, path, message);
                        return;
                    }
                }
            }
        };
        let map = match BundleMap::parse(&bytes) {
            Ok(map) => map,
            Err(error) => {
                stats.warning_as(
                    ProblemKind::SourceMapInvalid,
                    path,
                    format!("source map not used: {error}"),
                );
                return;
            }
        };
        let lines = LineIndex::new(data);
        for finding in findings.iter_mut().filter(|f| f.original.is_none()) {
            let line = lines.line_of(finding.span.start);
            let start = lines.line_range(data, line).start;
            let column = sourcemap::utf16_column(data, start, finding.span.start);
            finding.original = map.original(line as u32, column);
        }
    }

    /// Client-exposure policy: in client-side context, server-only secrets
    /// become critical and publishable ones informational (or suppressed).
    fn apply_policy(
        &self,
        data: &[u8],
        origin: &Provenance,
        findings: Vec<Finding>,
        stats: &StatsCollector,
    ) -> Vec<Finding> {
        if findings.is_empty() {
            return findings;
        }
        let exposed = self.options.all_client_side || is_client_side(origin, data);
        let mut kept = Vec::with_capacity(findings.len());
        for mut finding in findings {
            let exposed = exposed || finding.original.is_some();
            finding.client_exposed = exposed;
            if exposed {
                if finding.client_safe {
                    if !self.options.show_client_safe {
                        stats.suppressed(Suppression::ClientSafe);
                        continue;
                    }
                    finding.severity = Severity::Info;
                } else {
                    finding.severity = Severity::Critical;
                }
            }
            kept.push(finding);
        }
        kept
    }
}

/// Moves a finding found in a view to `range` of `data` (its place in the
/// file): span, line and columns. The context stays the view's (decoded
/// text reads better than the encoding).
fn relocate(finding: &mut Finding, data: &[u8], lines: &LineIndex, range: Range<usize>) {
    let (line, column) = lines.position(data, range.start);
    let (end_line, end_column) = lines.position(data, range.end);
    finding.line = line;
    finding.column = column;
    finding.end_line = end_line;
    finding.end_column = end_column;
    finding.span = range;
}

/// Records an outer encoding, in front of the ones found inside it.
fn push_encoding(finding: &mut Finding, outer: Encoding) {
    finding.encoding.insert(0, outer);
}

/// One finding per secret and place: the same secret seen through two
/// views (escaped and percent-encoded windows overlap) is reported once,
/// with the shortest encoding chain.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut seen: HashMap<(String, usize), usize> = HashMap::new();
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for finding in findings.drain(..) {
        let key = (finding.fingerprint.clone(), finding.span.start);
        match seen.get(&key) {
            Some(&index) => {
                let first = &mut kept[index];
                if layers(&finding) < layers(first) {
                    // A view nested in an unrelated decoding (a percent-encoded
                    // URL inside an escape window) finds what the direct view
                    // finds, with a longer encoding chain: the direct one wins.
                    let original = first.original.take();
                    *first = finding;
                    first.original = first.original.take().or(original);
                } else if first.original.is_none() {
                    first.original = finding.original;
                }
            }
            None => {
                seen.insert(key, kept.len());
                kept.push(finding);
            }
        }
    }
    *findings = kept;
}

/// How many encodings a finding was found through.
fn layers(finding: &Finding) -> usize {
    finding.encoding.len()
}
