//! Sources yield blobs (bytes plus where they came from) to a sink. Sources
//! never match anything themselves.

pub mod fs;
pub mod range;
pub mod staged;

use crate::finding::CommitInfo;
use crate::matcher::BlobKind;
use std::ops::RangeInclusive;

/// One blob and where it came from.
pub struct Blob<'a> {
    pub data: &'a [u8],
    /// Display path, relative to the scan root with `/` separators.
    pub path: &'a str,
    pub kind: BlobKind,
    /// If set, only findings starting on these 1-based lines count (the
    /// lines a staged change adds).
    pub lines: Option<&'a [RangeInclusive<usize>]>,
    /// The commit that introduced the blob (history and range scans).
    pub commit: Option<&'a CommitInfo>,
    /// The file's content before that commit: secrets already in it are not
    /// reported again.
    pub previous: Option<&'a [u8]>,
    /// How many other (commit, path) places introduced the same blob.
    pub also_in: usize,
}

/// Receives blobs from a source, from any number of threads.
pub trait BlobSink: Sync {
    fn blob(&self, blob: &Blob<'_>);
}

/// Bytes sniffed for a NUL to tell binary from text (as git does).
pub const SNIFF_LEN: usize = 8000;

/// True if the start of `data` contains a NUL byte.
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(SNIFF_LEN)]).is_some()
}
