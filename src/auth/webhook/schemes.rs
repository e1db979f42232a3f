//! The signature schemes, exactly as the providers define them: which
//! headers carry what, which bytes are signed, and how a signature is
//! encoded. Each turns a request into a [`Signed`]: the signed message (in
//! parts, so the body is never copied), the candidate signatures, and the
//! signed timestamp, if any. Parsing failures are `invalid_signature`; only
//! an absent signature header is `missing_signature`.

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use http::{HeaderMap, HeaderName};

use crate::auth::AuthError;
use crate::config::model::{HmacAlgorithm, SignatureEncoding};

/// Standard base64 that accepts input with or without padding.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A signature scheme.
#[derive(Debug, Clone)]
pub enum Scheme {
    /// `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>]` over `{t}.{body}`.
    Stripe,
    /// `X-Hub-Signature-256: sha256=<hex>` over the body.
    Github,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> ...`
    /// over `{id}.{timestamp}.{body}`.
    Standard,
    /// `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`,
    /// timestamp in `X-Slack-Request-Timestamp`.
    Slack,
    /// A configured header holding an HMAC of the body.
    Hmac(HmacSpec),
}

/// The shape of an `hmac` verifier's signature.
#[derive(Debug, Clone)]
pub struct HmacSpec {
    /// The header carrying the signature.
    pub header: HeaderName,
    /// The hash.
    pub algorithm: HmacAlgorithm,
    /// How the signature is written.
    pub encoding: SignatureEncoding,
    /// A prefix the header value must start with (e.g. `sha256=`).
    pub prefix: Option<String>,
}

/// What a request claims was signed, and how (never printed: it holds the
/// body and the signatures).
pub struct Signed<'a> {
    /// The signed message, in order.
    pub message: Vec<&'a [u8]>,
    /// Signatures offered; any one valid signature is enough.
    pub candidates: Vec<Vec<u8>>,
    /// The signed timestamp (seconds since the epoch), if the scheme has one.
    pub timestamp: Option<i64>,
    /// The HMAC hash.
    pub algorithm: HmacAlgorithm,
    /// The delivery's signed id, if the scheme has one in the headers.
    pub delivery: Option<&'a str>,
}

impl Scheme {
    /// The header whose absence means "no signature".
    pub fn signature_header(&self) -> &str {
        match self {
            Scheme::Stripe => "stripe-signature",
            Scheme::Github => "x-hub-signature-256",
            Scheme::Standard => "webhook-signature",
            Scheme::Slack => "x-slack-signature",
            Scheme::Hmac(spec) => spec.header.as_str(),
        }
    }

    /// Reads the scheme's headers; `body` is the raw body as received.
    pub fn parse<'a>(
        &self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Result<Signed<'a>, AuthError> {
        match self {
            Scheme::Stripe => stripe(headers, body),
            Scheme::Github => github(headers, body),
            Scheme::Standard => standard(headers, body),
            Scheme::Slack => slack(headers, body),
            Scheme::Hmac(spec) => hmac(spec, headers, body),
        }
    }
}

/// The single value of header `name`: absent is `None`; repeated or not
/// text is invalid (two signatures must never be picked between).
fn one<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidSignature(
            "a signature header is repeated",
        ));
    }
    first
        .to_str()
        .map(|v| Some(v.trim()))
        .map_err(|_| AuthError::InvalidSignature("a signature header is not text"))
}

fn timestamp(text: &str) -> Result<i64, AuthError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::InvalidSignature("the timestamp is not a number"));
    }
    text.parse()
        .map_err(|_| AuthError::InvalidSignature("the timestamp is not a number"))
}

fn stripe<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Signed<'a>, AuthError> {
    let header = one(headers, "stripe-signature")?.ok_or(AuthError::MissingSignature)?;
    let mut t = None;
    let mut candidates = Vec::new();
    let mut v1_seen = false;
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(AuthError::InvalidSignature("Stripe-Signature is malformed"))?;
        match key {
            "t" if t.replace(value).is_some() => {
                return Err(AuthError::InvalidSignature(
                    "Stripe-Signature has two timestamps",
                ));
            }
            "t" => {}
            // Only v1 counts: v0 (test mode, weaker) and unknown schemes are
            // ignored, so nothing can downgrade the check.
            "v1" => {
                v1_seen = true;
                if let Ok(signature) = hex::decode(value) {
                    candidates.push(signature);
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(AuthError::InvalidSignature(
        "Stripe-Signature has no timestamp",
    ))?;
    if !v1_seen {
        return Err(AuthError::InvalidSignature(
            "Stripe-Signature has no v1 signature",
        ));
    }
    Ok(Signed {
        timestamp: Some(timestamp(t)?),
        message: vec![t.as_bytes(), b".", body],
        candidates,
        algorithm: HmacAlgorithm::Sha256,
        delivery: None,
    })
}

fn github<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Signed<'a>, AuthError> {
    // The legacy SHA-1 `X-Hub-Signature` alone counts as no signature.
    let header = one(headers, "x-hub-signature-256")?.ok_or(AuthError::MissingSignature)?;
    let hex_signature = header
        .strip_prefix("sha256=")
        .ok_or(AuthError::InvalidSignature(
            "X-Hub-Signature-256 does not start with sha256=",
        ))?;
    let signature = hex::decode(hex_signature)
        .map_err(|_| AuthError::InvalidSignature("X-Hub-Signature-256 is not hexadecimal"))?;
    Ok(Signed {
        message: vec![body],
        candidates: vec![signature],
        timestamp: None,
        algorithm: HmacAlgorithm::Sha256,
        delivery: None,
    })
}

fn standard<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Signed<'a>, AuthError> {
    let header = one(headers, "webhook-signature")?.ok_or(AuthError::MissingSignature)?;
    let id = one(headers, "webhook-id")?
        .filter(|id| !id.is_empty())
        .ok_or(AuthError::InvalidSignature("webhook-id is missing"))?;
    let ts = one(headers, "webhook-timestamp")?
        .ok_or(AuthError::InvalidSignature("webhook-timestamp is missing"))?;
    let mut v1_seen = false;
    let mut candidates = Vec::new();
    for entry in header.split(' ').filter(|e| !e.is_empty()) {
        // Other versions (v1a: asymmetric) are not ours to check.
        if let Some(("v1", signature)) = entry.split_once(',') {
            v1_seen = true;
            if let Ok(signature) = STANDARD.decode(signature) {
                candidates.push(signature);
            }
        }
    }
    if !v1_seen {
        return Err(AuthError::InvalidSignature(
            "webhook-signature has no v1 signature",
        ));
    }
    Ok(Signed {
        timestamp: Some(timestamp(ts)?),
        message: vec![id.as_bytes(), b".", ts.as_bytes(), b".", body],
        candidates,
        algorithm: HmacAlgorithm::Sha256,
        delivery: Some(id),
    })
}

fn slack<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Signed<'a>, AuthError> {
    let header = one(headers, "x-slack-signature")?.ok_or(AuthError::MissingSignature)?;
    let ts = one(headers, "x-slack-request-timestamp")?.ok_or(AuthError::InvalidSignature(
        "X-Slack-Request-Timestamp is missing",
    ))?;
    let signature = header
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(AuthError::InvalidSignature(
            "X-Slack-Signature is not v0=<hex>",
        ))?;
    Ok(Signed {
        timestamp: Some(timestamp(ts)?),
        message: vec![b"v0:", ts.as_bytes(), b":", body],
        candidates: vec![signature],
        algorithm: HmacAlgorithm::Sha256,
        delivery: None,
    })
}

fn hmac<'a>(
    spec: &HmacSpec,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> Result<Signed<'a>, AuthError> {
    let header = one(headers, spec.header.as_str())?.ok_or(AuthError::MissingSignature)?;
    let encoded = match &spec.prefix {
        Some(prefix) => header
            .strip_prefix(prefix.as_str())
            .ok_or(AuthError::InvalidSignature(
                "the signature lacks the configured prefix",
            ))?,
        None => header,
    };
    let signature = match spec.encoding {
        SignatureEncoding::Hex => hex::decode(encoded).ok(),
        SignatureEncoding::Base64 => BASE64_ANY_PADDING.decode(encoded).ok(),
    }
    .ok_or(AuthError::InvalidSignature(
        "the signature is not in the configured encoding",
    ))?;
    Ok(Signed {
        message: vec![body],
        candidates: vec![signature],
        timestamp: None,
        algorithm: spec.algorithm,
        delivery: None,
    })
}

/// The signing key of a Standard Webhooks secret: the base64 after
/// `whsec_`, or the whole secret base64-decoded when it has no prefix.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    general_purpose::STANDARD.decode(encoded).ok()
}
