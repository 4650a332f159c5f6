//! leakstop: finds leaked credentials in working trees, git history, staged
//! changes and client-side bundles.
//!
//! The pipeline flows one way: a [`source`] yields blobs, the [`matcher`]
//! finds candidate secrets, the [`engine`] turns them into [`finding`]s and
//! applies the [`filter`]s, and a [`report`] renders the rest. See docs/ for
//! the contracts.

pub mod action;
pub mod blob;
pub mod bot;
pub mod bounded;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod exit;
pub mod filter;
pub mod finding;
pub mod github;
pub mod logging;
pub mod matcher;
pub mod org;
pub mod provenance;
pub mod provider;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod stats;
pub mod text;
pub mod threads;
pub mod units;
pub mod verify;
