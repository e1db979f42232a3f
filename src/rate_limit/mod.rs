//! Rate limiting: named limits keyed by claim, client IP, header or
//! nothing (global), GCRA semantics (a burst at once, then one request per
//! emission interval), in memory or in Redis for replicas.
//!
//! Phases: limits keyed by `ip` or a header run before authentication (so
//! floods of bad tokens are throttled too); limits keyed by a claim or
//! `global` run after it (a claim needs a verified token; a global quota
//! should not be spent by requests that authentication refuses).

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::config::model::OnBackendError;
pub use crate::config::values::LimitKey;
use crate::context::RequestContext;
use memory::MemoryLimiter;

/// One limit's verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may pass.
    pub allowed: bool,
    /// The burst (requests allowed at once): `RateLimit-Limit`.
    pub limit: u32,
    /// Requests left right now: `RateLimit-Remaining`.
    pub remaining: u32,
    /// Until the bucket is full again: `RateLimit-Reset`.
    pub reset: Duration,
    /// Until a refused request could pass: `Retry-After`.
    pub retry_after: Duration,
}

impl Decision {
    /// A request let through, `remaining` more possible now.
    pub fn allowed(limit: u32, remaining: u32, interval: Duration) -> Self {
        Self {
            allowed: true,
            limit,
            remaining,
            reset: interval * limit.saturating_sub(remaining),
            retry_after: Duration::ZERO,
        }
    }

    /// A request refused; it could pass after `wait`.
    pub fn refused(limit: u32, wait: Duration, interval: Duration) -> Self {
        Self {
            allowed: false,
            limit,
            remaining: 0,
            reset: wait + interval * limit.saturating_sub(1),
            retry_after: wait,
        }
    }

    /// The more restrictive of two decisions (for the response headers).
    pub fn tighter(self, other: Decision) -> Decision {
        if (other.remaining, other.limit) < (self.remaining, self.limit) {
            other
        } else {
            self
        }
    }

    /// Adds `RateLimit-Limit/-Remaining/-Reset` (IETF httpapi draft) and,
    /// when refused, `Retry-After` in whole seconds, rounded up, never 0.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let secs = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(secs(self.reset)));
        if !self.allowed {
            headers.insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(secs(self.retry_after).max(1)),
            );
        }
    }
}

/// Where a limit's counters live.
#[derive(Debug)]
pub enum Store {
    /// This process.
    Memory(MemoryLimiter),
    /// Redis, shared with other replicas.
    Redis(Arc<redis::RedisBackend>),
}

/// One `[limits.NAME]`, ready to check.
#[derive(Debug)]
pub struct Limit {
    /// Its name (logs, metrics, Redis keys).
    pub name: Arc<str>,
    /// What it is keyed by.
    pub key: LimitKey,
    /// Time between requests once the burst is spent.
    pub interval: Duration,
    /// Requests allowed at once.
    pub burst: u32,
    /// What to do when Redis fails.
    pub on_backend_error: OnBackendError,
    /// The counters.
    pub store: Store,
}

/// The backend failed and `on_backend_error = "deny"`.
#[derive(Debug, thiserror::Error)]
#[error("rate limiting is temporarily unavailable")]
pub struct Unavailable;

impl Limit {
    /// Starts background work (eviction, Redis connection) on the current runtime.
    pub fn start(&self) {
        match &self.store {
            Store::Memory(m) => m.start(),
            Store::Redis(r) => r.start(),
        }
    }

    /// Whether the store can answer (Redis connected at least once).
    pub fn ready(&self) -> bool {
        match &self.store {
            Store::Memory(_) => true,
            Store::Redis(r) => r.connected(),
        }
    }

    /// The bucket key of a request.
    ///
    /// Every token without the limit's claim shares one bucket, keyed by a
    /// string no claim value can spell (it starts with NUL).
    pub fn key_of(
        &self,
        ctx: &RequestContext,
        headers: &HeaderMap,
        claims: Option<&Map<String, Value>>,
    ) -> String {
        const NO_CLAIM: &str = "\u{0}no-claim";
        match &self.key {
            LimitKey::Global => String::new(),
            LimitKey::Ip => ctx
                .client_ip
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
            LimitKey::Header(name) => headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
            LimitKey::Claim(claim) => match claims.and_then(|c| c.get(claim)) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => NO_CLAIM.to_owned(),
            },
        }
    }

    /// Takes one request for `key`.
    pub async fn check(&self, key: &str) -> Result<Decision, Unavailable> {
        match &self.store {
            Store::Memory(m) => Ok(m.check(key)),
            Store::Redis(r) => match r.check(&self.name, key, self.interval, self.burst).await {
                Ok(decision) => Ok(decision),
                Err(e) => {
                    tracing::warn!(limit = %self.name, error = %e, policy = ?self.on_backend_error, "rate-limit backend error");
                    crate::observability::metrics::rate_limit_backend_error(&self.name);
                    match self.on_backend_error {
                        OnBackendError::Allow => {
                            Ok(Decision::allowed(self.burst, self.burst, self.interval))
                        }
                        OnBackendError::Deny => Err(Unavailable),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let mut h = HeaderMap::new();
        Decision::refused(5, Duration::from_millis(1), Duration::from_secs(1))
            .write_headers(&mut h);
        assert_eq!(h["retry-after"], "1");
        Decision::refused(5, Duration::from_millis(2001), Duration::from_secs(1))
            .write_headers(&mut h);
        assert_eq!(h["retry-after"], "3");
        Decision::refused(5, Duration::ZERO, Duration::from_secs(1)).write_headers(&mut h);
        assert_eq!(h["retry-after"], "1");
    }
}
