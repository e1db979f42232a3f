//! Authentication: named verifiers of several kinds behind one interface
//! (JWT, webhook signatures), JWKS with rotation, claim rules, cookie tokens with CSRF
//! protection.
//!
//! - `verifier`: one `[auth.NAME]` of any kind; says whether it needs the body;
//! - `jwt_verifier`: a JWT verifier with its verified-token cache;
//! - `token`: where the token comes from, and the CSRF rule for cookies;
//! - `jwt`: strict parsing and claim checks (our rules);
//! - `keys`: keys and signature checks (`jsonwebtoken` underneath);
//! - `jwks`: fetching, refreshing and unknown-`kid` refetching;
//! - `claims`: `require_claims` and `forward_claims`;
//! - `webhook`: webhook signature schemes over the raw body;
//! - `mint`: development tokens for `portcullis token`.

pub mod claims;
pub mod jwks;
pub mod jwt;
pub mod jwt_verifier;
pub mod keys;
pub mod mint;
pub mod token;
pub mod verifier;
pub mod webhook;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use jwt_verifier::JwtVerifier;
pub use token::TokenSource;
pub use verifier::{AuthRequest, Verifier, VerifierKind};

/// What a verified request says about its sender.
#[derive(Debug)]
pub struct Identity {
    /// The verified claims.
    pub claims: Map<String, Value>,
    /// When the credential expires (seconds since the epoch).
    pub exp: i64,
}

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
    /// A webhook delivery without its signature header.
    #[error("this route receives signed webhooks: the signature header is missing")]
    MissingSignature,
    /// A webhook signature that cannot be verified (the reason is logged, not sent).
    #[error("the webhook signature is not valid")]
    InvalidSignature(&'static str),
    /// A valid webhook signature whose timestamp is outside the tolerance.
    #[error("the webhook signature's timestamp is outside the accepted tolerance")]
    SignatureExpired,
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
            AuthError::MissingSignature => "missing_signature",
            AuthError::InvalidSignature(_) => "invalid_signature",
            AuthError::SignatureExpired => "signature_expired",
            _ => "invalid_token",
        }
    }

    /// Why, for the log: the specific rule for an invalid signature (the
    /// client gets the generic message), else the message itself.
    pub fn detail(&self) -> String {
        match self {
            AuthError::InvalidSignature(reason) => (*reason).to_owned(),
            other => other.to_string(),
        }
    }

    /// Whether the error is about a webhook signature (no Bearer challenge).
    pub fn is_signature(&self) -> bool {
        matches!(
            self,
            AuthError::MissingSignature
                | AuthError::InvalidSignature(_)
                | AuthError::SignatureExpired
        )
    }
}

/// A verified request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The verified claims (none for a webhook).
    pub identity: Arc<Identity>,
    /// What proved it.
    pub credential: Credential,
}

/// What authenticated a request.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A token, from here (it is not forwarded upstream).
    Token(TokenSource),
    /// A webhook signature over the body.
    Webhook {
        /// The delivery's key for deduplication, when the scheme has one.
        delivery: Option<String>,
    },
}

impl Authenticated {
    /// Where the token came from, when a token authenticated the request.
    pub fn token_source(&self) -> Option<TokenSource> {
        match self.credential {
            Credential::Token(source) => Some(source),
            Credential::Webhook { .. } => None,
        }
    }
}
