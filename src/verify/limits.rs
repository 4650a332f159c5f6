//! Bounds on everything verification spends: retries, waits, threads and
//! total time. Values from configuration are clamped to these maxima, and
//! every duration read from a server's answer (`Retry-After`, rate-limit
//! reset headers) is clamped before it becomes a `Duration`, so no answer can
//! make leakstop panic, spin or sleep without end.

use super::{Status, Verification};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Most retries after the first attempt.
pub const MAX_RETRIES: u32 = 5;
/// Most requests in flight at once, over all providers.
pub const MAX_CONCURRENCY: usize = 32;
/// Most requests in flight to one provider.
pub const MAX_PROVIDER_CONCURRENCY: usize = 8;
/// Longest wait between two attempts, however many retries came before.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest overall verification budget a user may set.
pub const MAX_DEADLINE: Duration = Duration::from_secs(3600);
/// The default overall verification budget.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);
/// The reason recorded on checks the budget left undone.
pub const DEADLINE_REASON: &str = "deadline";

/// Seconds from outside (a header) as a duration, clamped to `max`:
/// negative, NaN and huge values never reach `Duration::from_secs_f64`.
pub fn clamp_seconds(seconds: f64, max: Duration) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    if seconds >= max.as_secs_f64() {
        return max;
    }
    Duration::try_from_secs_f64(seconds).map_or(max, |d| d.min(max))
}

/// The backoff before retry `attempt` (0-based): `first` doubled per
/// attempt, never more than [`MAX_BACKOFF`].
pub fn backoff(first: Duration, attempt: u32) -> Duration {
    2u32.checked_pow(attempt)
        .and_then(|factor| first.checked_mul(factor))
        .map_or(MAX_BACKOFF, |d| d.min(MAX_BACKOFF))
}

/// The result of a check the overall budget left undone (or cut short).
pub fn deadline_skipped(budget: Duration) -> Verification {
    Verification::with_reason(
        Status::Skipped,
        format!(
            "{DEADLINE_REASON}: the verification budget of {}s ran out before this check was done (--verify-deadline)",
            budget.as_secs()
        ),
    )
}

/// When the overall budget ends.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Instant,
    pub budget: Duration,
}

impl Deadline {
    pub fn starting_now(budget: Duration) -> Self {
        let budget = budget.min(MAX_DEADLINE);
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Whether waiting `wait` from now would end past the deadline.
    pub fn would_pass(&self, wait: Duration) -> bool {
        Instant::now()
            .checked_add(wait)
            .is_none_or(|end| end >= self.at)
    }
}

/// Per-provider limits on requests in flight. A slot is held by a
/// [`Slot`] guard and given back when the guard drops — also when the
/// worker holding it panics.
#[derive(Default)]
pub struct Slots {
    in_flight: Mutex<HashMap<String, usize>>,
    freed: Condvar,
}

/// One request slot for a provider, released on drop.
pub struct Slot<'a> {
    slots: &'a Slots,
    provider: String,
}

impl Slots {
    /// Waits for a free slot for `provider` (at most `limit` at once).
    pub fn acquire(&self, provider: &str, limit: usize) -> Slot<'_> {
        let limit = limit.max(1);
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        while in_flight.get(provider).copied().unwrap_or(0) >= limit {
            in_flight = self
                .freed
                .wait(in_flight)
                .unwrap_or_else(|e| e.into_inner());
        }
        *in_flight.entry(provider.to_string()).or_default() += 1;
        Slot {
            slots: self,
            provider: provider.to_string(),
        }
    }

    /// Requests in flight to `provider` now.
    pub fn in_flight(&self, provider: &str) -> usize {
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.get(provider).copied().unwrap_or(0)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut in_flight = self
            .slots
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = in_flight.get_mut(&self.provider) {
            *count = count.saturating_sub(1);
        }
        self.slots.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_seconds_are_clamped() {
        let max = Duration::from_secs(30);
        assert_eq!(clamp_seconds(1e30, max), max);
        assert_eq!(clamp_seconds(18_446_744_073_709_551_615.0, max), max);
        assert_eq!(clamp_seconds(f64::INFINITY, max), max);
        assert_eq!(clamp_seconds(f64::NAN, max), Duration::ZERO);
        assert_eq!(clamp_seconds(-5.0, max), Duration::ZERO);
        assert_eq!(clamp_seconds(2.5, max), Duration::from_millis(2500));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let first = Duration::from_millis(250);
        assert_eq!(backoff(first, 0), first);
        assert_eq!(backoff(first, 2), Duration::from_secs(1));
        assert_eq!(backoff(first, 10), MAX_BACKOFF);
        assert_eq!(backoff(first, u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_panicking_worker_gives_its_slot_back() {
        let slots = Slots::default();
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let _slot = slots.acquire("github", 1);
                panic!("worker failed while holding a slot");
            });
            assert!(worker.join().is_err());
        });
        assert_eq!(slots.in_flight("github"), 0);
        // With a limit of one, this would wait forever on a leaked slot.
        let _slot = slots.acquire("github", 1);
        assert_eq!(slots.in_flight("github"), 1);
    }
}
