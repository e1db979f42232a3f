//! A JWKS endpoint's keys: fetched in the background, refreshed on the
//! provider's Cache-Control max-age (within bounds), refetched when a token
//! names an unknown `kid` (at most once per cooldown, one fetch at a time),
//! and kept when a refresh fails. The refresh task dies with its owner.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use url::Url;

use super::keys::KeySet;
use crate::task::OwnedTask;

const MIN_REFRESH: Duration = Duration::from_secs(60);
const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Timing of one JWKS source.
#[derive(Debug, Clone, Copy)]
pub struct JwksTiming {
    /// Refresh interval when the response carries no max-age.
    pub refresh: Duration,
    /// Minimum gap between unknown-`kid` refetches.
    pub cooldown: Duration,
}

/// The keys of one JWKS URL.
#[derive(Debug)]
pub struct Jwks {
    inner: Arc<Inner>,
    task: OwnedTask,
}

#[derive(Debug)]
struct Inner {
    verifier: Arc<str>,
    url: Url,
    client: reqwest::Client,
    timing: JwksTiming,
    keys: ArcSwapOption<KeySet>,
    /// One unknown-`kid` refetch at a time; when the last one started.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    /// A JWKS source with no keys yet; call [`Jwks::start`] inside a runtime.
    pub fn new(verifier: Arc<str>, url: Url, timing: JwksTiming) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                verifier,
                url,
                client,
                timing,
                keys: ArcSwapOption::empty(),
                refetch: tokio::sync::Mutex::new(None),
            }),
            task: OwnedTask::default(),
        })
    }

    /// Starts the background fetch/refresh loop on the current runtime
    /// (once; later calls do nothing). Without a runtime, nothing starts.
    pub fn start(&self) {
        let inner = Arc::clone(&self.inner);
        self.task.start_once(move || refresh_loop(inner));
    }

    /// The current keys, if any have been fetched.
    pub fn keys(&self) -> Option<Arc<KeySet>> {
        self.inner.keys.load_full()
    }

    /// Refetches because a token named a `kid` we do not know (a key the
    /// provider just rotated in), unless such a refetch started within the
    /// cooldown. Concurrent callers wait for the one fetch in progress.
    pub async fn refetch_for_unknown_kid(&self) {
        let mut last = self.inner.refetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.inner.timing.cooldown) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = self.inner.fetch().await;
        crate::observability::metrics::jwks_fetch(&self.inner.verifier, fetched.is_ok());
        if let Err(e) = fetched {
            tracing::warn!(verifier = %self.inner.verifier, error = %e, "JWKS refetch for an unknown kid failed; keeping the last keys");
        }
    }
}

async fn refresh_loop(inner: Arc<Inner>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let fetched = inner.fetch().await;
        crate::observability::metrics::jwks_fetch(&inner.verifier, fetched.is_ok());
        match fetched {
            Ok(next) => {
                backoff = Duration::from_secs(1);
                tokio::time::sleep(next).await;
            }
            Err(e) => {
                let have_keys = inner.keys.load().is_some();
                tracing::error!(
                    verifier = %inner.verifier,
                    error = %e,
                    retry_in = ?backoff,
                    keeping_last_keys = have_keys,
                    "JWKS fetch failed"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl Inner {
    /// Fetches and installs the keys; returns when to refresh next.
    async fn fetch(&self) -> Result<Duration, String> {
        let response = self
            .client
            .get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("the JWKS endpoint answered {}", response.status()));
        }
        let max_age = max_age(response.headers());
        if response
            .content_length()
            .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
        {
            return Err("the JWKS document is larger than 1 MiB".into());
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("the JWKS document is larger than 1 MiB".into());
        }
        let keys = KeySet::from_jwks(&body)?;
        tracing::info!(verifier = %self.verifier, keys = keys.len(), "JWKS loaded");
        self.keys.store(Some(Arc::new(keys)));
        Ok(max_age
            .unwrap_or(self.timing.refresh)
            .clamp(MIN_REFRESH, MAX_REFRESH))
    }
}

/// `Cache-Control: max-age=N`, if present.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            name.eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse().ok())
                .flatten()
        })
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "cache-control",
            "public, max-age=300, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert("cache-control", "no-store".parse().unwrap());
        assert_eq!(max_age(&h), None);
    }
}
