//! Sources yield blobs (bytes plus where they came from) to a sink. Sources
//! never match anything themselves.

pub mod archived;
pub mod fs;
pub mod git;
pub mod history;
pub mod introductions;
pub mod odb;
pub mod packread;
pub mod range;
pub mod staged;
pub mod treediff;
pub mod web;

pub use crate::blob::{looks_binary, Admission, Blob, BlobSink, SNIFF_LEN};
