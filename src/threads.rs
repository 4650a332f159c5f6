//! How many worker threads a scan may start.

/// Worker threads per available core a scan may start: more only adds
/// memory (a repository handle and caches per thread) and contention.
const MAX_THREADS_PER_CORE: usize = 4;

/// `--threads` as requested, capped at [`MAX_THREADS_PER_CORE`] times the
/// available cores with a warning on stderr (`-j 5000` must not start 5,000
/// threads); `None` (rayon's default, one per core) stays `None`.
pub fn cap(requested: Option<usize>) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = cores * MAX_THREADS_PER_CORE;
    match requested {
        Some(threads) if threads > limit => {
            eprintln!(
                "leakstop: warning: --threads {threads} capped at {limit} \
                 ({MAX_THREADS_PER_CORE} per core, {cores} core{})",
                if cores == 1 { "" } else { "s" }
            );
            Some(limit)
        }
        other => other,
    }
}
