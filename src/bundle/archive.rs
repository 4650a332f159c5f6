//! Archives: zip and its family (jar, war, ear, apk, aar, ipa, whl, nupkg,
//! xpi), tar, tar.gz/tgz (npm packages) and gz, read in memory and fed to the
//! sink entry by entry as `archive.zip!inner/path.js`, recursively up to a
//! depth limit. Bombs and path tricks (a huge compression ratio, a huge
//! declared size, deep nesting, `../` or absolute names) are refused with an
//! error naming the entry (kind `archive_refused`): what was not scanned
//! makes the scan incomplete, as a gate must fail closed. The rest of the
//! archive and of the scan go on.

use crate::blob::{Admission, Blob, BlobSink};
use crate::filter::Filters;
use crate::provenance::Provenance;
use crate::stats::{ProblemKind, SkipReason, StatsCollector};
use std::io::{Cursor, Read};

/// Limits on what one archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Archives inside archives: `a.zip!b.jar!c.zip` is depth 3.
    pub max_depth: usize,
    /// Largest uncompressed/compressed ratio accepted for an entry larger
    /// than [`RATIO_FLOOR`] (real text compresses about 10:1; bombs 1000:1).
    pub max_ratio: u64,
    /// Most bytes one top-level archive may expand to, all entries and
    /// nested archives together; less for a small archive (see
    /// [`ArchiveLimits::budget_for`]).
    pub max_total: u64,
}

/// The expansion every archive may have whatever its size: a small
/// archive of ordinary text is never refused for its total.
const BUDGET_FLOOR: u64 = 8 << 20;

impl ArchiveLimits {
    /// The total expansion allowed for an archive of `size` bytes: the
    /// ratio limit applied to the whole file (`max_ratio` × its size, at
    /// least [`BUDGET_FLOOR`], at most `max_total`). Per-entry checks alone
    /// let a zip whose entries share one compressed stream expand to 1 GiB
    /// from 530 KB.
    pub fn budget_for(&self, size: u64) -> u64 {
        size.saturating_mul(self.max_ratio)
            .max(BUDGET_FLOOR)
            .min(self.max_total)
    }
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 3,
            max_ratio: 100,
            max_total: 1 << 30,
        }
    }
}

/// Entries smaller than this are not ratio-checked (a small run of zeros is
/// not a bomb).
const RATIO_FLOOR: u64 = 1 << 20;

/// The archive formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
    Gz,
}

const ZIP_EXTENSIONS: &[&str] = &[
    ".zip", ".jar", ".war", ".ear", ".apk", ".aar", ".ipa", ".whl", ".nupkg", ".xpi",
];

/// The archive kind of a file, by name and confirmed by its first bytes
/// (a `.zip` that is not one is scanned as an ordinary file).
pub fn kind_of(name: &str, head: &[u8]) -> Option<ArchiveKind> {
    let lower = name.to_ascii_lowercase();
    let is_zip = head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06");
    let is_gzip = head.starts_with(&[0x1f, 0x8b]);
    let is_tar = head.get(257..262) == Some(b"ustar");
    if ZIP_EXTENSIONS.iter().any(|e| lower.ends_with(e)) {
        return is_zip.then_some(ArchiveKind::Zip);
    }
    if lower.ends_with(".tgz") || lower.ends_with(".tar.gz") {
        return is_gzip.then_some(ArchiveKind::TarGz);
    }
    if lower.ends_with(".gz") {
        return is_gzip.then_some(ArchiveKind::Gz);
    }
    if lower.ends_with(".tar") {
        return is_tar.then_some(ArchiveKind::Tar);
    }
    None
}

/// What an archive scan needs from its caller.
pub struct ArchiveScan<'a> {
    pub admission: Admission,
    pub limits: ArchiveLimits,
    pub filters: &'a Filters,
    pub sink: &'a dyn BlobSink,
    pub stats: &'a StatsCollector,
}

/// The expansion budget left for one top-level archive.
struct Budget {
    left: u64,
    total: u64,
    warned: bool,
}

/// A reader that ends (EOF) after `left` bytes and remembers that it cut:
/// a tar stream inflating past the archive's budget stops there.
struct Capped<'a> {
    inner: &'a mut dyn Read,
    left: u64,
    hit: bool,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.hit = true;
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl ArchiveScan<'_> {
    /// Scans the archive `data` (of `kind`) that came from `origin`.
    pub fn scan(&self, data: &[u8], origin: &Provenance, kind: ArchiveKind) {
        let total = self.limits.budget_for(data.len() as u64);
        let mut budget = Budget {
            left: total,
            total,
            warned: false,
        };
        self.scan_at(data, origin, kind, 1, &mut budget);
    }

    fn scan_at(
        &self,
        data: &[u8],
        origin: &Provenance,
        kind: ArchiveKind,
        depth: usize,
        budget: &mut Budget,
    ) {
        let path = &*origin.display_path();
        let result = match kind {
            ArchiveKind::Zip => self.zip(data, origin, depth, budget),
            ArchiveKind::Tar => self.tar(&mut Cursor::new(data), origin, depth, budget),
            // Streamed: one entry at a time is in memory, never the tarball.
            ArchiveKind::TarGz => self.tar(
                &mut flate2::read::MultiGzDecoder::new(data),
                origin,
                depth,
                budget,
            ),
            ArchiveKind::Gz => {
                if let Some(inner) = self.inflate(data, path, budget) {
                    let name = origin
                        .file_name()
                        .trim_end_matches(".gz")
                        .trim_end_matches(".GZ");
                    self.entry(&inner, &origin.entry(name), depth, budget);
                }
                Ok(())
            }
        };
        if let Err(message) = result {
            self.stats.error_as(ProblemKind::Corrupt, path, message);
        }
    }

    fn zip(
        &self,
        data: &[u8],
        origin: &Provenance,
        depth: usize,
        budget: &mut Budget,
    ) -> Result<(), String> {
        let path = &*origin.display_path();
        let mut archive =
            zip::ZipArchive::new(Cursor::new(data)).map_err(|e| format!("cannot read zip: {e}"))?;
        for index in 0..archive.len() {
            let mut file = match archive.by_index(index) {
                Ok(file) => file,
                Err(e) => {
                    self.stats.error_as(
                        ProblemKind::Corrupt,
                        path,
                        format!("cannot read zip entry #{index}: {e}"),
                    );
                    continue;
                }
            };
            if file.is_dir() {
                continue;
            }
            let name = file.name().to_string();
            let entry = origin.entry(name.as_str());
            let entry_path = entry.to_string();
            if !self.acceptable_name(&name, &entry_path)
                || !self.acceptable_size(&entry_path, file.size(), file.compressed_size())
            {
                continue;
            }
            let declared = file.size();
            let Some(bytes) = self.read_entry(&mut file, &entry_path, declared, budget) else {
                continue;
            };
            // A header that understates the size is not trusted for the ratio.
            if !self.acceptable_size(&entry_path, bytes.len() as u64, file.compressed_size()) {
                continue;
            }
            drop(file);
            self.entry(&bytes, &entry, depth, budget);
        }
        Ok(())
    }

    /// Reads a tar stream entry by entry, at most the budget left in all
    /// (headers and skipped entries count: they are inflated too).
    fn tar(
        &self,
        reader: &mut dyn Read,
        origin: &Provenance,
        depth: usize,
        budget: &mut Budget,
    ) -> Result<(), String> {
        let mut capped = Capped {
            inner: reader,
            left: budget.left,
            hit: false,
        };
        let result = self.tar_entries(&mut capped, origin, depth, budget);
        if capped.hit {
            self.over_budget(budget, &origin.display_path());
            return Ok(());
        }
        result
    }

    fn tar_entries(
        &self,
        reader: &mut dyn Read,
        origin: &Provenance,
        depth: usize,
        budget: &mut Budget,
    ) -> Result<(), String> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| format!("cannot read tar: {e}"))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("cannot read tar entry: {e}"))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let entry_origin = origin.entry(name.as_str());
            let entry_path = entry_origin.to_string();
            let size = entry.size();
            if !self.acceptable_name(&name, &entry_path)
                || !self.acceptable_size(&entry_path, size, size)
            {
                continue;
            }
            if let Some(bytes) = self.read_entry(&mut entry, &entry_path, size, budget) {
                self.entry(&bytes, &entry_origin, depth, budget);
            }
        }
        Ok(())
    }

    /// Inflates a single `.gz` file, refusing a bomb (ratio, budget or the
    /// file size limit).
    fn inflate(&self, data: &[u8], path: &str, budget: &mut Budget) -> Option<Vec<u8>> {
        let cap = self.admission.max_file_size.max(RATIO_FLOOR);
        let limit = cap.min(budget.left).min(
            (data.len() as u64)
                .saturating_mul(self.limits.max_ratio)
                .max(RATIO_FLOOR),
        );
        let mut decoder = flate2::read::MultiGzDecoder::new(data);
        let refusal = format!(
            "refused: expands past {} from {} compressed (ratio or size limit; a decompression bomb?)",
            crate::text::human_bytes(limit),
            crate::text::human_bytes(data.len() as u64)
        );
        let out = self.read_limited(&mut decoder, path, limit, &refusal)?;
        budget.left -= out.len() as u64;
        Some(out)
    }

    /// One file from an archive: a nested archive, or a blob for the sink.
    fn entry(&self, bytes: &[u8], entry: &Provenance, depth: usize, budget: &mut Budget) {
        let entry_path = &*entry.display_path();
        if self.filters.path_excluded(entry_path) {
            self.stats.skipped(SkipReason::AllowlistedPath);
            return;
        }
        let name = entry.file_name();
        if let Some(kind) = kind_of(name, bytes) {
            if depth >= self.limits.max_depth {
                self.stats.error_as(
                    ProblemKind::ArchiveRefused,
                    entry_path,
                    format!(
                        "refused: archive nested more than {} deep",
                        self.limits.max_depth
                    ),
                );
                return;
            }
            self.scan_at(bytes, entry, kind, depth + 1, budget);
            return;
        }
        let Some(kind) = self.admission.admit(bytes, entry_path, self.stats) else {
            return;
        };
        self.sink.blob(&Blob {
            data: bytes,
            provenance: entry,
            kind,
            lines: None,
            commit: None,
            previous: None,
            also_in: 0,
        });
    }

    /// Refuses names that would escape an extraction directory.
    fn acceptable_name(&self, name: &str, entry_path: &str) -> bool {
        let escapes = name.starts_with('/')
            || name.starts_with('\\')
            || name.as_bytes().get(1) == Some(&b':')
            || name.split(['/', '\\']).any(|part| part == "..");
        if escapes {
            self.stats.error_as(
                ProblemKind::ArchiveRefused,
                entry_path,
                "refused: entry name escapes the archive (`..` or absolute path)",
            );
        }
        !escapes
    }

    /// Refuses entries over the size limit or with a bomb's ratio.
    fn acceptable_size(&self, entry_path: &str, size: u64, compressed: u64) -> bool {
        if size > self.admission.max_file_size {
            self.stats.error_as(
                ProblemKind::ArchiveRefused,
                entry_path,
                format!(
                    "refused: {} uncompressed, over the {} size limit",
                    crate::text::human_bytes(size),
                    crate::text::human_bytes(self.admission.max_file_size)
                ),
            );
            self.stats.skipped(SkipReason::TooLarge);
            return false;
        }
        if size > RATIO_FLOOR && size / compressed.max(1) > self.limits.max_ratio {
            self.stats.error_as(
                ProblemKind::ArchiveRefused,
                entry_path,
                format!(
                    "refused: compression ratio {}:1 (over {}:1; a decompression bomb?)",
                    size / compressed.max(1),
                    self.limits.max_ratio
                ),
            );
            return false;
        }
        true
    }

    /// Reads an entry, at most its declared size (or the limit) plus one
    /// byte, so a lying header cannot make it expand without bound.
    fn read_entry(
        &self,
        reader: &mut dyn Read,
        entry_path: &str,
        declared: u64,
        budget: &mut Budget,
    ) -> Option<Vec<u8>> {
        if budget.left == 0 || declared.min(self.admission.max_file_size) > budget.left {
            self.over_budget(budget, entry_path);
            return None;
        }
        let limit = declared.min(self.admission.max_file_size).min(budget.left);
        let bytes = self.read_limited(
            reader,
            entry_path,
            limit,
            "refused: entry is larger than its header says or than the limits allow",
        )?;
        budget.left -= bytes.len() as u64;
        Some(bytes)
    }

    /// Reports, once per archive, that its expansion budget ran out.
    fn over_budget(&self, budget: &mut Budget, path: &str) {
        if !budget.warned {
            budget.warned = true;
            self.stats.error_as(
                ProblemKind::ArchiveRefused,
                path,
                format!(
                    "refused: the archive expands past {} ({}× its size, at least {}, at most {}); its remaining entries were not scanned",
                    crate::text::human_bytes(budget.total),
                    self.limits.max_ratio,
                    crate::text::human_bytes(BUDGET_FLOOR),
                    crate::text::human_bytes(self.limits.max_total)
                ),
            );
        }
    }

    /// Reads at most `limit` bytes: more is refused with `refusal`, a read
    /// error is corrupt input; either way the input was not covered.
    fn read_limited(
        &self,
        reader: &mut dyn Read,
        path: &str,
        limit: u64,
        refusal: &str,
    ) -> Option<Vec<u8>> {
        let mut bytes = Vec::with_capacity(limit.min(1 << 24) as usize);
        if let Err(e) = reader.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
            self.stats.error_as(
                ProblemKind::Corrupt,
                path,
                format!("cannot read or decompress: {e}"),
            );
            return None;
        }
        if bytes.len() as u64 > limit {
            self.stats
                .error_as(ProblemKind::ArchiveRefused, path, refusal);
            return None;
        }
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_need_name_and_magic() {
        assert_eq!(kind_of("a.jar", b"PK\x03\x04rest"), Some(ArchiveKind::Zip));
        assert_eq!(kind_of("a.JAR", b"PK\x03\x04rest"), Some(ArchiveKind::Zip));
        assert_eq!(kind_of("a.zip", b"not a zip"), None);
        assert_eq!(
            kind_of("pkg.tgz", &[0x1f, 0x8b, 8]),
            Some(ArchiveKind::TarGz)
        );
        assert_eq!(
            kind_of("a.tar.gz", &[0x1f, 0x8b, 8]),
            Some(ArchiveKind::TarGz)
        );
        assert_eq!(kind_of("a.txt.gz", &[0x1f, 0x8b, 8]), Some(ArchiveKind::Gz));
        assert_eq!(kind_of("a.js", b"PK\x03\x04"), None);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(kind_of("a.tar", &tar), Some(ArchiveKind::Tar));
    }
}
