//! One module per subcommand; each returns what the run found, and
//! [`crate::exit`] turns that into an exit code.

pub mod action;
pub mod bot;
pub mod hook;
pub mod report;
pub mod rules;
pub mod scan;
pub mod serve;
