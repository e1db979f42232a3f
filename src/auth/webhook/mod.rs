//! Webhook signature verifiers: Stripe, GitHub, Standard Webhooks, Slack
//! and any HMAC of the body.
//!
//! A delivery is checked over the raw body as received (the authenticate
//! phase reads it whole, bounded by the route's `max_body`), with every
//! configured secret (rotation) against every offered signature, compared
//! in constant time. Only then is the timestamp checked, so
//! `signature_expired` always means "genuine, but too old or too new". The
//! same bytes then go upstream.

mod schemes;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use subtle::ConstantTimeEq;

pub use schemes::{HmacSpec, Scheme, standard_key};

use super::AuthError;
use crate::config::model::HmacAlgorithm;
use crate::deliveries::DeliveryStore;

/// One `[auth.NAME]` of a webhook type, ready to verify.
#[derive(Debug)]
pub struct WebhookVerifier {
    /// How signatures are carried.
    pub scheme: Scheme,
    keys: Keys,
    /// Accepted distance between the signed timestamp and now.
    pub tolerance: Duration,
    /// Where accepted deliveries are remembered, and for how long.
    pub dedupe: Option<Dedupe>,
}

/// Duplicate-delivery memory of a verifier.
#[derive(Debug, Clone)]
pub struct Dedupe {
    /// The store (memory, or Redis shared by replicas).
    pub store: Arc<DeliveryStore>,
    /// How long an accepted delivery is remembered.
    pub window: Duration,
}

/// Signing keys; never printed.
struct Keys(Vec<Vec<u8>>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted keys]", self.0.len())
    }
}

/// The id of a verified delivery, from the `id` of a Stripe event.
#[derive(serde::Deserialize)]
struct StripeEvent {
    id: Option<String>,
}

impl WebhookVerifier {
    /// A verifier with `keys` (at least one).
    pub fn new(
        scheme: Scheme,
        keys: Vec<Vec<u8>>,
        tolerance: Duration,
        dedupe: Option<Dedupe>,
    ) -> Self {
        Self {
            scheme,
            keys: Keys(keys),
            tolerance,
            dedupe,
        }
    }

    /// Verifies a delivery at `now` (seconds since the epoch); returns its
    /// key for deduplication when the scheme has one.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Option<String>, AuthError> {
        let signed = self.scheme.parse(headers, body)?;
        let valid = self.keys.0.iter().any(|key| {
            let Some(expected) = mac(signed.algorithm, key, &signed.message) else {
                return false;
            };
            signed
                .candidates
                .iter()
                .filter(|candidate| !candidate.is_empty())
                .any(|candidate| bool::from(expected.ct_eq(candidate)))
        });
        if !valid {
            return Err(AuthError::InvalidSignature("no signature matches"));
        }
        if let Some(ts) = signed.timestamp
            && now.abs_diff(ts) > self.tolerance.as_secs()
        {
            return Err(AuthError::SignatureExpired);
        }
        Ok(match self.scheme {
            Scheme::Standard => signed.delivery.map(str::to_owned),
            // Retries are re-signed with a new timestamp; the event id is
            // the same event whatever the bytes.
            Scheme::Stripe => serde_json::from_slice::<StripeEvent>(body)
                .ok()
                .and_then(|event| event.id),
            // X-GitHub-Delivery is not signed; the signature itself is.
            Scheme::Github => signed.candidates.first().map(hex::encode),
            Scheme::Slack | Scheme::Hmac(_) => None,
        })
    }
}

/// HMAC of `message` (in parts) with `key`; `None` only if the key is
/// refused (HMAC takes keys of any length, so never today).
fn mac(algorithm: HmacAlgorithm, key: &[u8], message: &[&[u8]]) -> Option<Vec<u8>> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[&[u8]]) -> Option<Vec<u8>> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
        for part in message {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().to_vec())
    }
    match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
        HmacAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
        HmacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
    }
}

#[cfg(test)]
mod tests;
