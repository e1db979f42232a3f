//! In-memory limits: governor's keyed GCRA, one limiter per `[limits.NAME]`.
//!
//! Memory stays bounded under key-cardinality attacks: idle keys (whose
//! bucket is full again) are evicted every 10 s by a housekeeping task that
//! dies with the limiter, and once `max_keys` keys are tracked, further keys
//! share one overflow bucket until eviction makes room. While saturated,
//! legitimate new keys share that bucket too: degraded, never unbounded.
//!
//! The clock is tokio's, so tests can drive time with `tokio::time::pause`.

use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::Decision;
use crate::task::OwnedTask;

const HOUSEKEEPING: Duration = Duration::from_secs(10);
const OVERFLOW_KEY: &str = "\u{0}overflow";

/// A clock reading tokio's time, as a duration since the limiter was made.
#[derive(Debug, Clone)]
pub struct TokioClock {
    base: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        Self {
            base: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.base)
    }
}

type Keyed = RateLimiter<String, DashMapStateStore<String>, TokioClock, StateInformationMiddleware>;

/// One limit's keyed state.
#[derive(Debug)]
pub struct MemoryLimiter {
    limiter: Arc<Keyed>,
    clock: TokioClock,
    max_keys: usize,
    burst: u32,
    interval: Duration,
    task: OwnedTask,
}

impl MemoryLimiter {
    /// A limiter allowing `burst` at once, then one per `interval`.
    pub fn new(interval: Duration, burst: u32, max_keys: usize) -> Option<Self> {
        let quota = Quota::with_period(interval)?.allow_burst(std::num::NonZeroU32::new(burst)?);
        let clock = TokioClock::default();
        let limiter = RateLimiter::dashmap_with_clock(quota, clock.clone())
            .with_middleware::<StateInformationMiddleware>();
        Some(Self {
            limiter: Arc::new(limiter),
            clock,
            max_keys: max_keys.max(1),
            burst,
            interval,
            task: OwnedTask::default(),
        })
    }

    /// Starts the eviction task on the current runtime (once).
    pub fn start(&self) {
        let limiter = Arc::downgrade(&self.limiter);
        self.task.start_once(move || async move {
            loop {
                tokio::time::sleep(HOUSEKEEPING).await;
                let Some(limiter) = limiter.upgrade() else {
                    return;
                };
                evict(&limiter);
            }
        });
    }

    /// How many keys are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }

    /// Takes one request for `key`.
    pub fn check(&self, key: &str) -> Decision {
        let key = if self.limiter.len() >= self.max_keys {
            OVERFLOW_KEY.to_owned()
        } else {
            key.to_owned()
        };
        match self.limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision::allowed(self.burst, remaining, self.interval)
            }
            Err(not_until) => Decision::refused(
                self.burst,
                not_until.wait_time_from(self.clock.now()),
                self.interval,
            ),
        }
    }
}

fn evict(limiter: &Keyed) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}
