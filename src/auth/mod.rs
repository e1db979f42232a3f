//! Authentication: JWT verification with named verifiers, JWKS with
//! rotation, claim rules, cookie tokens with CSRF protection.
//!
//! - `token`: where the token comes from, and the CSRF rule for cookies;
//! - `jwt`: strict parsing and claim checks (our rules);
//! - `keys`: keys and signature checks (`jsonwebtoken` underneath);
//! - `jwks`: fetching, refreshing and unknown-`kid` refetching;
//! - `verifier`: one `[auth.NAME]`, with its verified-token cache;
//! - `claims`: `require_claims` and `forward_claims`.

pub mod claims;
pub mod jwks;
pub mod jwt;
pub mod keys;
pub mod mint;
pub mod token;
pub mod verifier;

use std::sync::Arc;

use http::request::Parts;

pub use token::TokenSource;
pub use verifier::{Identity, Verifier};

/// Why a request was not authenticated. Messages never echo the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token at all.
    #[error("this route needs a token: send Authorization: Bearer <token>")]
    Missing,
    /// Two tokens that disagree.
    #[error("the request carries more than one token and they differ")]
    Ambiguous,
    /// Over 8 KiB.
    #[error("the token is too large")]
    TooLarge,
    /// Not a well-formed JWT.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// `alg` not accepted by the verifier.
    #[error("the token's algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// No key verified the signature.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// The `kid` matches no key, even after a refetch.
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`, or `iat` in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("the token was issued by an issuer this route does not accept")]
    Issuer,
    /// Wrong `aud`.
    #[error("the token is meant for a different audience")]
    Audience,
    /// A time claim that is not a number, or a claim that cannot be forwarded.
    #[error("the token's `{0}` claim has the wrong type")]
    ClaimType(&'static str),
    /// The verifier's keys are not loaded yet.
    #[error("authentication is temporarily unavailable; retry shortly")]
    Unavailable,
    /// Verified, but a required claim is missing or different.
    #[error("the token lacks the required `{0}` claim value")]
    Forbidden(String),
    /// A cookie token on an unsafe method from elsewhere.
    #[error("request refused to prevent cross-site request forgery: {0}")]
    Csrf(&'static str),
}

impl AuthError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::Expired => "token_expired",
            AuthError::Unavailable => "auth_unavailable",
            AuthError::Forbidden(_) => "insufficient_scope",
            AuthError::Csrf(_) => "csrf",
            _ => "invalid_token",
        }
    }
}

/// A verified request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The verified claims.
    pub identity: Arc<Identity>,
    /// Where the token came from (it is not forwarded upstream).
    pub source: TokenSource,
}

/// The authentication phase for a route protected by `verifier`.
///
/// `allowed_origin` tells whether a cross-origin page may send cookie
/// tokens on unsafe methods (the CORS allow-list).
pub async fn authenticate(
    verifier: &Verifier,
    required: &[(String, String)],
    parts: &Parts,
    allowed_origin: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Authenticated, AuthError> {
    let (token, source) = token::extract(&parts.headers, &verifier.sources)?;
    if source == TokenSource::Cookie {
        token::check_csrf(&parts.method, &parts.headers, allowed_origin)?;
    }
    let identity = verifier.verify(token).await?;
    claims::require(&identity.claims, required)?;
    Ok(Authenticated { identity, source })
}
