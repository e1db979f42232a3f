//! A JWT verifier: algorithms, claim rules, keys (configured or JWKS),
//! token sources, and a cache of verified tokens.
//!
//! The cache is keyed by the SHA-256 of the token, bounded in entries, and
//! an entry is never used past the token's `exp` (plus leeway), so a busy
//! user pays for one signature check per token, not per request.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::Algorithm;
use sha2::{Digest, Sha256};

use super::jwks::Jwks;
use super::jwt::{self, ClaimRules};
use super::keys::{KeySet, SignatureOutcome};
use super::token::Sources;
use super::{AuthError, Identity};

/// Verified tokens kept per verifier.
const CACHE_ENTRIES: usize = 10_000;

/// Where a verifier's keys come from.
#[derive(Debug)]
pub enum KeySource {
    /// A secret or PEM key from the config.
    Configured(Arc<KeySet>),
    /// A JWKS endpoint.
    Jwks(Jwks),
}

/// One `[auth.NAME]` of type `jwt`, ready to verify.
#[derive(Debug)]
pub struct JwtVerifier {
    /// Accepted algorithms.
    pub algorithms: Vec<Algorithm>,
    /// `iss`, `aud`, leeway.
    pub rules: ClaimRules,
    /// Where tokens are read from.
    pub sources: Sources,
    /// The keys.
    pub keys: KeySource,
    cache: quick_cache::sync::Cache<[u8; 32], Arc<Identity>>,
}

impl JwtVerifier {
    /// Assembles a verifier.
    pub fn new(
        algorithms: Vec<Algorithm>,
        rules: ClaimRules,
        sources: Sources,
        keys: KeySource,
    ) -> Self {
        Self {
            algorithms,
            rules,
            sources,
            keys,
            cache: quick_cache::sync::Cache::new(CACHE_ENTRIES),
        }
    }

    /// Starts background work (JWKS fetching); call inside a runtime.
    pub fn start(&self) {
        if let KeySource::Jwks(jwks) = &self.keys {
            jwks.start();
        }
    }

    /// Whether the verifier can verify tokens now (JWKS loaded).
    pub fn ready(&self) -> bool {
        match &self.keys {
            KeySource::Configured(_) => true,
            KeySource::Jwks(jwks) => jwks.keys().is_some(),
        }
    }

    /// Verifies `token`, from the cache when it was verified before.
    pub async fn verify(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        if token.len() > jwt::MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge);
        }
        let now = unix_now();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.cache.get(&digest) {
            if now <= hit.exp + self.rules.leeway {
                return Ok(hit);
            }
            self.cache.remove(&digest);
        }
        let parsed = jwt::parse(token, &self.algorithms)?;
        match self.check_signature(&parsed).await? {
            SignatureOutcome::Valid => {}
            SignatureOutcome::Invalid => return Err(AuthError::BadSignature),
            SignatureOutcome::NoKey => return Err(AuthError::UnknownKey),
        }
        let exp = jwt::check_claims(&parsed.claims, &self.rules, now)?;
        let identity = Arc::new(Identity {
            claims: parsed.claims,
            exp,
        });
        self.cache.insert(digest, Arc::clone(&identity));
        Ok(identity)
    }

    async fn check_signature(
        &self,
        parsed: &jwt::Parsed<'_>,
    ) -> Result<SignatureOutcome, AuthError> {
        match &self.keys {
            KeySource::Configured(keys) => Ok(keys.verify(parsed)),
            KeySource::Jwks(jwks) => {
                let keys = jwks.keys().ok_or(AuthError::Unavailable)?;
                let outcome = keys.verify(parsed);
                if outcome != SignatureOutcome::NoKey {
                    return Ok(outcome);
                }
                // A rotated key we have not seen yet, or a made-up kid.
                jwks.refetch_for_unknown_kid().await;
                let keys = jwks.keys().ok_or(AuthError::Unavailable)?;
                Ok(keys.verify(parsed))
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
