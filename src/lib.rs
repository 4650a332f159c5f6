//! leakstop: finds leaked credentials in working trees, git history, staged
//! changes and client-side bundles.
//!
//! The pipeline flows one way: a source yields blobs, the [`matcher`] finds
//! candidate secrets, findings are built, filters drop what the user
//! allowed, and a report renders the rest. See docs/ for the contracts.

pub mod cli;
pub mod commands;
pub mod matcher;
pub mod rules;
