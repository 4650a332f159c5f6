//! Sources yield blobs (bytes plus where they came from) to a sink. Sources
//! never match anything themselves.

pub mod fs;

use crate::matcher::BlobKind;

/// Receives blobs from a source, from any number of threads.
pub trait BlobSink: Sync {
    /// `path` is the display path, relative to the scan root with `/` separators.
    fn blob(&self, data: &[u8], path: &str, kind: BlobKind);
}

/// Bytes sniffed for a NUL to tell binary from text (as git does).
pub const SNIFF_LEN: usize = 8000;

/// True if the start of `data` contains a NUL byte.
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(SNIFF_LEN)]).is_some()
}
