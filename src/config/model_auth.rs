//! `[auth.NAME]`: the verifiers' part of the config's shape.

use std::time::Duration;

use serde::Deserialize;

use super::values::{JwtAlgorithm, TokenFrom};

/// `[auth.NAME]`: a verifier. `type` selects the kind: a JWT (default) or
/// a webhook signature scheme. JWT keys and webhook keys are both listed
/// here; validation refuses the keys of one kind on a verifier of another.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierConfig {
    /// The kind of verifier.
    #[serde(default, rename = "type")]
    pub kind: VerifierKind,
    /// JWT: required `iss`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// JWT: accepted `aud` values (one must match).
    #[serde(default)]
    pub audience: Option<Vec<String>>,
    /// JWT: explicitly accept any issuer (off: `issuer` is required).
    #[serde(default)]
    pub allow_any_issuer: bool,
    /// JWT: explicitly accept any audience (off: `audience` is required).
    #[serde(default)]
    pub allow_any_audience: bool,
    /// JWT: JWKS endpoint of the identity provider.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// JWT: shared secret for HS256/384/512 (at least 32 bytes; use `${env:..}`).
    #[serde(default)]
    pub secret: Option<String>,
    /// JWT: PEM public key for RS*/PS*/ES*/EdDSA (use `${file:..}`).
    #[serde(default)]
    pub public_key: Option<String>,
    /// JWT: accepted algorithms, e.g. `["RS256"]` (required).
    #[serde(default)]
    pub algorithms: Vec<JwtAlgorithm>,
    /// JWT: clock skew allowed on `exp`, `nbf` and `iat` (default 30s).
    #[serde(default, with = "humantime_serde")]
    pub leeway: Option<Duration>,
    /// JWT: where tokens come from: `"header"` (default) and/or `"cookie:NAME"`.
    #[serde(default)]
    pub token_from: Option<Vec<TokenFrom>>,
    /// JWT: JWKS refresh interval when the response has no usable
    /// Cache-Control max-age (default 10m).
    #[serde(default, with = "humantime_serde")]
    pub jwks_refresh: Option<Duration>,
    /// JWT: minimum gap between refetches triggered by tokens with an
    /// unknown `kid` (default 30s).
    #[serde(default, with = "humantime_serde")]
    pub jwks_cooldown: Option<Duration>,
    /// Webhook: signing secrets; any may match (rotation).
    #[serde(default)]
    pub secrets: Option<Vec<String>>,
    /// Webhook (stripe, standard, slack): accepted clock distance (default 5m).
    #[serde(default, with = "humantime_serde")]
    pub tolerance: Option<Duration>,
    /// Webhook (stripe, github, standard): how long an accepted delivery is
    /// remembered (default 24h).
    #[serde(default, with = "humantime_serde")]
    pub dedupe: Option<Duration>,
    /// Webhook (hmac): the header carrying the signature.
    #[serde(default)]
    pub header: Option<String>,
    /// Webhook (hmac): `sha256` (default), `sha512`, or `sha1` with `allow_sha1`.
    #[serde(default)]
    pub algorithm: Option<HmacAlgorithm>,
    /// Webhook (hmac): `hex` (default) or `base64`.
    #[serde(default)]
    pub encoding: Option<SignatureEncoding>,
    /// Webhook (hmac): a prefix the header value must start with, e.g. `"sha256="`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Webhook (hmac): accept HMAC-SHA1 (weak; only for providers that offer nothing else).
    #[serde(default)]
    pub allow_sha1: bool,
}

/// JWT leeway when not set.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// JWKS refresh interval when not set.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(600);
/// JWKS unknown-kid cooldown when not set.
pub const DEFAULT_JWKS_COOLDOWN: Duration = Duration::from_secs(30);
/// Webhook timestamp tolerance when not set.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// Webhook delivery memory when not set.
pub const DEFAULT_DEDUPE: Duration = Duration::from_secs(86_400);

/// `[auth.NAME].type`: what a verifier checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifierKind {
    /// A JSON Web Token from a header or cookie.
    #[default]
    Jwt,
    /// Stripe: `Stripe-Signature: t=..,v1=..` over `{t}.{body}`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
    Github,
    /// Standard Webhooks (OpenAI, Svix, Supabase, ...): `webhook-id`,
    /// `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    Standard,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`.
    Slack,
    /// Any HMAC of the body in a header.
    Hmac,
}

impl VerifierKind {
    /// The name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifierKind::Jwt => "jwt",
            VerifierKind::Stripe => "stripe",
            VerifierKind::Github => "github",
            VerifierKind::Standard => "standard",
            VerifierKind::Slack => "slack",
            VerifierKind::Hmac => "hmac",
        }
    }

    /// Whether it verifies a webhook signature over the body.
    pub fn is_webhook(self) -> bool {
        self != VerifierKind::Jwt
    }
}

/// `[auth.NAME].algorithm` of an `hmac` verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    /// HMAC-SHA1 (only with `allow_sha1 = true`).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// `[auth.NAME].encoding` of an `hmac` verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Hexadecimal, either case.
    Hex,
    /// Standard base64, padding optional.
    Base64,
}
