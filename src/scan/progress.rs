//! The one-line progress indicator of long scans, drawn on a terminal's
//! stderr only (never in tests or CI, whose stderr is not a terminal).

use crate::stats::StatsCollector;
use crate::text::human_bytes;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs `work`, with a progress line on a terminal's stderr if `progress`.
pub fn with_progress<T>(progress: bool, stats: &StatsCollector, work: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if progress && std::io::stderr().is_terminal() {
            scope.spawn(|| draw_progress(stats, &done));
        }
        let value = work();
        done.store(true, Ordering::Relaxed);
        value
    })
}

/// Draws only once a scan has run long enough to need it.
fn draw_progress(stats: &StatsCollector, done: &AtomicBool) {
    let started = Instant::now();
    let mut drawn = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() < Duration::from_millis(500) {
            continue;
        }
        let (files, bytes) = stats.progress();
        eprint!("\r\x1b[2Kscanning: {files} files, {}", human_bytes(bytes));
        drawn = true;
    }
    if drawn {
        eprint!("\r\x1b[2K");
    }
}
