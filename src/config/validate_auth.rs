//! Validation of `[auth.NAME]`: the rules that keep a verifier from being
//! quietly weak. An explicit algorithm list (`none` is refused when the
//! value is parsed); one key source whose family matches every algorithm
//! (no HMAC with public keys, so no algorithm confusion); an issuer and an
//! audience unless explicitly waived; JWKS over https (plain http only to
//! loopback). The secret's length and the PEM are checked where they are
//! resolved (`snapshot::verifiers`).
//!
//! Webhook verifiers: at least one non-empty secret; `tolerance` only where
//! the scheme signs a timestamp, `dedupe` only where a delivery has a key;
//! the `hmac` keys only on `hmac`; sha1 only when explicitly allowed; and
//! no key of the other kind (a JWT key on a webhook verifier, or the reverse).

use jsonwebtoken::AlgorithmFamily;
use url::Url;

use super::model::{HmacAlgorithm, VerifierConfig, VerifierKind};
use super::problem::{Problem, Problems, is_name};
use super::values::TokenFrom;

/// Records the problems of verifier `name`.
pub(super) fn verifier(name: &str, c: &VerifierConfig, out: &mut Vec<Problem>) {
    let mut p = Problems::under(format!("auth.{name}"), out);
    if name == "none" || !is_name(name) {
        p.push(
            "",
            "verifier names are letters, digits, '-' or '_', and `none` is reserved",
        );
    }
    if c.kind.is_webhook() {
        webhook(c, &mut p);
        refuse_keys(c, &mut p, &JWT_KEYS, "JWT");
    } else {
        jwt(c, &mut p);
        refuse_keys(c, &mut p, &WEBHOOK_KEYS, "webhook");
    }
}

/// A key of `[auth.NAME]`, and whether a config sets it.
type KindKey = (&'static str, fn(&VerifierConfig) -> bool);

/// Keys that only a JWT verifier has.
const JWT_KEYS: [KindKey; 12] = [
    ("issuer", |c| c.issuer.is_some()),
    ("audience", |c| c.audience.is_some()),
    ("allow_any_issuer", |c| c.allow_any_issuer),
    ("allow_any_audience", |c| c.allow_any_audience),
    ("jwks_url", |c| c.jwks_url.is_some()),
    ("secret", |c| c.secret.is_some()),
    ("public_key", |c| c.public_key.is_some()),
    ("algorithms", |c| !c.algorithms.is_empty()),
    ("leeway", |c| c.leeway.is_some()),
    ("token_from", |c| c.token_from.is_some()),
    ("jwks_refresh", |c| c.jwks_refresh.is_some()),
    ("jwks_cooldown", |c| c.jwks_cooldown.is_some()),
];

/// Keys that only a webhook verifier has; from `header` on, only `hmac`.
const WEBHOOK_KEYS: [KindKey; 8] = [
    ("secrets", |c| c.secrets.is_some()),
    ("tolerance", |c| c.tolerance.is_some()),
    ("dedupe", |c| c.dedupe.is_some()),
    // HMAC_ONLY starts here.
    ("header", |c| c.header.is_some()),
    ("algorithm", |c| c.algorithm.is_some()),
    ("encoding", |c| c.encoding.is_some()),
    ("prefix", |c| c.prefix.is_some()),
    ("allow_sha1", |c| c.allow_sha1),
];

/// Where the `hmac`-only keys start in [`WEBHOOK_KEYS`].
const HMAC_ONLY: usize = 3;

fn refuse_keys(c: &VerifierConfig, p: &mut Problems<'_>, keys: &[KindKey], what: &str) {
    for (key, set) in keys {
        if set(c) {
            p.push(
                key,
                format!(
                    "is a {what} key; a verifier of type \"{}\" does not use it (remove it, or change `type`)",
                    c.kind.as_str()
                ),
            );
        }
    }
}

fn webhook(c: &VerifierConfig, p: &mut Problems<'_>) {
    match c.secrets.as_deref() {
        None | Some([]) => p.push(
            "secrets",
            "list the signing secret(s), e.g. secrets = [\"${env:WEBHOOK_SECRET}\"]",
        ),
        Some(secrets) => {
            if secrets.iter().any(String::is_empty) {
                p.push("secrets", "a secret is empty");
            }
        }
    }
    let kind = c.kind;
    let timestamped = matches!(
        kind,
        VerifierKind::Stripe | VerifierKind::Standard | VerifierKind::Slack
    );
    match c.tolerance {
        Some(_) if !timestamped => p.push(
            "tolerance",
            format!(
                "\"{}\" signatures carry no timestamp; remove tolerance",
                kind.as_str()
            ),
        ),
        Some(t) if t.is_zero() => p.push("tolerance", "must be more than 0, e.g. \"5m\""),
        _ => {}
    }
    let keyed = matches!(
        kind,
        VerifierKind::Stripe | VerifierKind::Standard | VerifierKind::Github
    );
    match c.dedupe {
        Some(_) if !keyed => p.push(
            "dedupe",
            format!(
                "\"{}\" deliveries carry no id to deduplicate by; remove dedupe",
                kind.as_str()
            ),
        ),
        Some(d) if d.is_zero() => p.push("dedupe", "must be more than 0, e.g. \"24h\""),
        _ => {}
    }
    if kind == VerifierKind::Hmac {
        match c.header.as_deref() {
            None => p.push(
                "header",
                "is required: the header carrying the signature, e.g. \"x-signature\"",
            ),
            Some(h) if http::HeaderName::from_bytes(h.as_bytes()).is_err() => {
                p.push("header", "is not a valid header name")
            }
            Some(_) => {}
        }
        if c.algorithm == Some(HmacAlgorithm::Sha1) && !c.allow_sha1 {
            p.push(
                "algorithm",
                "sha1 is weak; use sha256 or sha512, or set allow_sha1 = true if the sender offers nothing else",
            );
        }
    } else {
        for (key, set) in &WEBHOOK_KEYS[HMAC_ONLY..] {
            if set(c) {
                p.push(
                    key,
                    format!("only `hmac` verifiers take this key; \"{}\" defines its own header and encoding", kind.as_str()),
                );
            }
        }
    }
}

fn jwt(c: &VerifierConfig, p: &mut Problems<'_>) {
    if c.algorithms.is_empty() {
        p.push(
            "algorithms",
            "list the accepted algorithms explicitly, e.g. [\"RS256\"]",
        );
    }
    match (&c.issuer, c.allow_any_issuer) {
        (None, false) => p.push("issuer", "is required (the `iss` your identity provider puts in tokens), or set allow_any_issuer = true"),
        (Some(_), true) => p.push("allow_any_issuer", "contradicts `issuer`; remove one of them"),
        _ => {}
    }
    match (&c.audience, c.allow_any_audience) {
        (None, false) => p.push(
            "audience",
            "is required (the `aud` your tokens are issued for), or set allow_any_audience = true",
        ),
        (Some(a), false) if a.is_empty() => {
            p.push("audience", "is empty; list at least one audience")
        }
        (Some(_), true) => p.push(
            "allow_any_audience",
            "contradicts `audience`; remove one of them",
        ),
        _ => {}
    }
    if c.leeway.is_some_and(|l| l.as_secs() > 300) {
        p.push(
            "leeway",
            "more than 5 minutes of clock skew would keep expired tokens alive; use e.g. \"30s\"",
        );
    }
    let token_from = c.token_from.as_deref().unwrap_or(&[TokenFrom::Header]);
    if token_from.is_empty() {
        p.push(
            "token_from",
            "list at least one source: \"header\" or \"cookie:NAME\"",
        );
    }
    let cookies = token_from
        .iter()
        .filter(|t| matches!(t, TokenFrom::Cookie(_)))
        .count();
    if cookies > 1 {
        p.push("token_from", "name one cookie at most");
    }
    key_source(c, p);
}

fn key_source(c: &VerifierConfig, p: &mut Problems<'_>) {
    let families = families(c);
    let hmac = families.contains(&AlgorithmFamily::Hmac);
    match (&c.jwks_url, &c.secret, &c.public_key) {
        (Some(url), None, None) => {
            if hmac {
                p.push(
                    "algorithms",
                    "HS* algorithms cannot be used with jwks_url; a JWKS holds public keys",
                );
            }
            jwks_url(url, p);
        }
        (None, Some(_), None) => {
            if families.iter().any(|f| *f != AlgorithmFamily::Hmac) {
                p.push(
                    "algorithms",
                    "a `secret` verifies HS256/384/512 only; use public_key or jwks_url for others",
                );
            }
        }
        (None, None, Some(_)) => {
            if let Some(first) = families.first()
                && (families.iter().any(|f| f != first) || *first == AlgorithmFamily::Hmac)
            {
                p.push(
                    "algorithms",
                    "a `public_key` verifies one family: RS*/PS*, ES* or EdDSA (not HS*)",
                );
            }
        }
        _ => p.push("", "set exactly one of jwks_url, secret or public_key"),
    }
}

/// The JWKS URL, when it is one the gateway may fetch keys from.
fn jwks_url(raw: &str, p: &mut Problems<'_>) -> Option<Url> {
    let Ok(url) = Url::parse(raw) else {
        p.push("jwks_url", "is not a URL");
        return None;
    };
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Some(url),
        "http" if loopback => Some(url),
        _ => {
            p.push("jwks_url", "must be https:// (plain http only to localhost): keys fetched in the clear could be replaced");
            None
        }
    }
}

/// The algorithm families of a JWT verifier (for key-source checks).
fn families(c: &VerifierConfig) -> Vec<AlgorithmFamily> {
    c.algorithms.iter().map(|a| a.0.family()).collect()
}
