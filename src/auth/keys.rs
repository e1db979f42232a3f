//! Verification keys and signature checks.
//!
//! A key is only ever tried for an algorithm of its own family (an HS256
//! token is never checked against an RSA or EC public key: no algorithm
//! confusion), of its curve (ES256 needs P-256, ES384 P-384), and of its
//! JWK `alg` when the JWK names one. JWKS sets never yield HMAC keys.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::jwt::Parsed;

/// One verification key.
#[derive(Debug)]
pub struct Key {
    kid: Option<String>,
    /// The only algorithm this key may verify, when the JWK said so.
    alg: Option<Algorithm>,
    curve: Option<EllipticCurve>,
    key: DecodingKey,
}

impl Key {
    /// A key from config (secret or PEM), usable with `algorithms` of its family.
    pub fn configured(key: DecodingKey) -> Self {
        Self {
            kid: None,
            alg: None,
            curve: None,
            key,
        }
    }

    fn fits(&self, alg: Algorithm) -> bool {
        if self.key.family() != alg.family() || self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match (alg, &self.curve) {
            (Algorithm::ES256, Some(curve)) => *curve == EllipticCurve::P256,
            (Algorithm::ES384, Some(curve)) => *curve == EllipticCurve::P384,
            (Algorithm::EdDSA, Some(curve)) => *curve == EllipticCurve::Ed25519,
            _ => true,
        }
    }
}

/// The keys of one verifier.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

/// Why a token's signature could not be accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureOutcome {
    /// A key verified it.
    Valid,
    /// Keys were tried and none verified it.
    Invalid,
    /// No key has the token's `kid` (or fits its algorithm).
    NoKey,
}

impl KeySet {
    /// A set of configured keys.
    pub fn new(keys: Vec<Key>) -> Self {
        Self { keys }
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Parses a JWKS document, keeping the usable signature keys and
    /// skipping the rest (encryption keys, unknown types, HMAC keys).
    pub fn from_jwks(body: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document =
            serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        for value in doc.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            if matches!(
                jwk.common.public_key_use,
                Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
            ) {
                continue;
            }
            let curve = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => None,
                AlgorithmParameters::EllipticCurve(p) => Some(p.curve.clone()),
                AlgorithmParameters::OctetKeyPair(p) => Some(p.curve.clone()),
                _ => continue,
            };
            let alg = match jwk.common.key_algorithm {
                None => None,
                Some(a) => match a.to_string().parse::<Algorithm>() {
                    Ok(alg) => Some(alg),
                    Err(_) => continue,
                },
            };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            keys.push(Key {
                kid: jwk.common.key_id.clone(),
                alg,
                curve,
                key,
            });
        }
        if keys.is_empty() {
            return Err("the JWKS holds no usable signature key".into());
        }
        Ok(Self { keys })
    }

    /// Checks the signature of `token` with the keys that may verify it:
    /// those with its `kid` when it has one, else every key of its family.
    pub fn verify(&self, token: &Parsed<'_>) -> SignatureOutcome {
        let mut tried = false;
        for key in &self.keys {
            if !key.fits(token.alg) {
                continue;
            }
            if let (Some(kid), Some(key_kid)) = (&token.kid, &key.kid)
                && kid != key_kid
            {
                continue;
            }
            if token.kid.is_some() && key.kid.is_none() && self.keys.len() > 1 {
                continue;
            }
            tried = true;
            let valid = jsonwebtoken::crypto::verify(
                token.signature,
                token.signing_input.as_bytes(),
                &key.key,
                token.alg,
            )
            .unwrap_or(false);
            if valid {
                return SignatureOutcome::Valid;
            }
        }
        if tried {
            SignatureOutcome::Invalid
        } else {
            SignatureOutcome::NoKey
        }
    }
}
