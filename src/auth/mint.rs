//! `portcullis token`: mints an HS256 token for a configured `secret`
//! verifier, so a frontend developer can call a protected route locally.
//! It refuses verifiers without a secret: real identity providers mint
//! their own tokens.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

use super::jwt_verifier::unix_now;
use crate::config::model::VerifierConfig;
use crate::config::secret::{self, SecretSource};

/// What to put in a development token.
#[derive(Debug, Clone)]
pub struct DevToken {
    /// The `sub` claim.
    pub subject: String,
    /// Extra claims as `name=value` (values that parse as JSON are used as JSON).
    pub claims: Vec<(String, String)>,
    /// Lifetime.
    pub ttl: Duration,
}

/// Mints a token that `verifier` (named `name`) accepts.
pub fn mint(
    name: &str,
    verifier: &VerifierConfig,
    secrets: &dyn SecretSource,
    token: &DevToken,
) -> Result<String, String> {
    let template = verifier
        .secret
        .as_ref()
        .ok_or_else(|| format!("verifier `{name}` has no `secret`; only HS256/384/512 verifiers can mint development tokens"))?;
    let secret =
        secret::resolve(template, secrets).map_err(|e| format!("auth.{name}.secret: {e}"))?;
    let alg = verifier
        .algorithms
        .iter()
        .map(|a| a.0)
        .find(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        .ok_or_else(|| format!("verifier `{name}` lists no HS256/384/512 algorithm"))?;
    let now = unix_now();
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(token.subject));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + token.ttl.as_secs() as i64));
    if let Some(issuer) = &verifier.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    if let Some(audience) = verifier.audience.as_ref().and_then(|a| a.first()) {
        claims.insert("aud".into(), json!(audience));
    }
    for (k, v) in &token.claims {
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| json!(v));
        claims.insert(k.clone(), value);
    }
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}
