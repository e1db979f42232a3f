//! Validation of `[auth.NAME]`: the rules that keep a verifier from being
//! quietly weak. An explicit algorithm list (`none` is refused when the
//! value is parsed); one key source whose family matches every algorithm
//! (no HMAC with public keys, so no algorithm confusion); an issuer and an
//! audience unless explicitly waived; JWKS over https (plain http only to
//! loopback). The secret's length and the PEM are checked where they are
//! resolved (`snapshot::verifiers`).

use jsonwebtoken::AlgorithmFamily;
use url::Url;

use super::model::{VerifierConfig, VerifierKind};
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
    match c.kind {
        VerifierKind::Jwt => jwt(c, &mut p),
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
    if c.leeway.as_secs() > 300 {
        p.push(
            "leeway",
            "more than 5 minutes of clock skew would keep expired tokens alive; use e.g. \"30s\"",
        );
    }
    if c.token_from.is_empty() {
        p.push(
            "token_from",
            "list at least one source: \"header\" or \"cookie:NAME\"",
        );
    }
    let cookies = c
        .token_from
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
