//! Validation of `[auth.NAME]` and the verifiers built from it.
//!
//! The rules that keep a verifier from being quietly weak are here: an
//! explicit algorithm list without `none`; one key source whose family
//! matches every algorithm (no HMAC with public keys, so no algorithm
//! confusion); HMAC secrets of at least 32 bytes; an issuer and an audience
//! unless explicitly waived; JWKS over https (plain http only to loopback).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use url::Url;

use super::model::VerifierConfig;
use super::secret::{self, SecretSource};
use super::validate::{Problem, is_name};
use crate::auth::jwks::{Jwks, JwksTiming};
use crate::auth::jwt::ClaimRules;
use crate::auth::keys::{Key, KeySet};
use crate::auth::token::Sources;
use crate::auth::verifier::{KeySource, Verifier};

/// Builds every verifier, recording problems; broken ones are left out.
///
/// `reuse` offers the previous generation's verifier of the same name and
/// definition: JWKS verifiers are kept across a reload (their keys, cache
/// and refresh task stay, so a reload never makes them unready). Secret and
/// PEM verifiers are rebuilt, so a rotated `${file:..}` takes effect.
pub fn build(
    configs: &BTreeMap<String, VerifierConfig>,
    secrets: &dyn SecretSource,
    problems: &mut Vec<Problem>,
    reuse: &dyn Fn(&str, &VerifierConfig) -> Option<Arc<Verifier>>,
) -> BTreeMap<String, Arc<Verifier>> {
    let mut out = BTreeMap::new();
    for (name, config) in configs {
        if config.jwks_url.is_some()
            && let Some(previous) = reuse(name, config)
        {
            out.insert(name.clone(), previous);
            continue;
        }
        let mut check = Check {
            key: format!("auth.{name}"),
            problems,
            failed: false,
        };
        if let Some(verifier) = check.verifier(name, config, secrets)
            && !check.failed
        {
            out.insert(name.clone(), Arc::new(verifier));
        }
    }
    out
}

struct Check<'a> {
    key: String,
    problems: &'a mut Vec<Problem>,
    failed: bool,
}

impl Check<'_> {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.failed = true;
        let key = if field.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{field}", self.key)
        };
        self.problems.push(Problem::new(key, message));
    }

    fn verifier(
        &mut self,
        name: &str,
        c: &VerifierConfig,
        secrets: &dyn SecretSource,
    ) -> Option<Verifier> {
        if name == "none" || !is_name(name) {
            self.push(
                "",
                "verifier names are letters, digits, '-' or '_', and `none` is reserved",
            );
        }
        let algorithms = self.algorithms(&c.algorithms);
        let rules = self.rules(c);
        let sources = self.sources(&c.token_from);
        let keys = self.keys(name, c, &algorithms, secrets);
        if self.failed {
            return None;
        }
        Some(Verifier::new(
            Arc::from(name),
            algorithms,
            rules,
            sources,
            keys?,
        ))
    }

    fn algorithms(&mut self, names: &[String]) -> Vec<Algorithm> {
        if names.is_empty() {
            self.push(
                "algorithms",
                "list the accepted algorithms explicitly, e.g. [\"RS256\"]",
            );
        }
        let mut out = Vec::new();
        for name in names {
            if name.eq_ignore_ascii_case("none") {
                self.push(
                    "algorithms",
                    "`none` (unsigned tokens) can never be accepted",
                );
                continue;
            }
            match Algorithm::from_str(name) {
                Ok(alg) if !out.contains(&alg) => out.push(alg),
                Ok(_) => {}
                Err(_) => self.push(
                    "algorithms",
                    format!("`{name}` is not an algorithm; use HS256/384/512, RS256/384/512, PS256/384/512, ES256/384 or EdDSA"),
                ),
            }
        }
        out
    }

    fn rules(&mut self, c: &VerifierConfig) -> ClaimRules {
        match (&c.issuer, c.allow_any_issuer) {
            (None, false) => self.push("issuer", "is required (the `iss` your identity provider puts in tokens), or set allow_any_issuer = true"),
            (Some(_), true) => self.push("allow_any_issuer", "contradicts `issuer`; remove one of them"),
            _ => {}
        }
        match (&c.audience, c.allow_any_audience) {
            (None, false) => self.push("audience", "is required (the `aud` your tokens are issued for), or set allow_any_audience = true"),
            (Some(a), false) if a.is_empty() => self.push("audience", "is empty; list at least one audience"),
            (Some(_), true) => self.push("allow_any_audience", "contradicts `audience`; remove one of them"),
            _ => {}
        }
        if c.leeway.as_secs() > 300 {
            self.push("leeway", "more than 5 minutes of clock skew would keep expired tokens alive; use e.g. \"30s\"");
        }
        ClaimRules {
            issuer: c.issuer.clone(),
            audience: c.audience.clone(),
            leeway: c.leeway.as_secs() as i64,
        }
    }

    fn sources(&mut self, token_from: &[String]) -> Sources {
        let mut sources = Sources::default();
        if token_from.is_empty() {
            self.push(
                "token_from",
                "list at least one source: \"header\" or \"cookie:NAME\"",
            );
        }
        for source in token_from {
            match source.split_once(':') {
                None if source == "header" => sources.header = true,
                Some(("cookie", name))
                    if !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
                {
                    if sources.cookie.replace(name.to_owned()).is_some() {
                        self.push("token_from", "name one cookie at most");
                    }
                }
                _ => self.push(
                    "token_from",
                    format!("`{source}` is not a source; use \"header\" or \"cookie:NAME\""),
                ),
            }
        }
        sources
    }

    fn keys(
        &mut self,
        name: &str,
        c: &VerifierConfig,
        algorithms: &[Algorithm],
        secrets: &dyn SecretSource,
    ) -> Option<KeySource> {
        let families: Vec<AlgorithmFamily> = algorithms.iter().map(|a| a.family()).collect();
        let hmac = families.contains(&AlgorithmFamily::Hmac);
        match (&c.jwks_url, &c.secret, &c.public_key) {
            (Some(url), None, None) => {
                if hmac {
                    self.push(
                        "algorithms",
                        "HS* algorithms cannot be used with jwks_url; a JWKS holds public keys",
                    );
                    return None;
                }
                let url = self.jwks_url(url)?;
                let timing = JwksTiming {
                    refresh: c.jwks_refresh,
                    cooldown: c.jwks_cooldown,
                };
                match Jwks::new(Arc::from(name), url, timing) {
                    Ok(jwks) => Some(KeySource::Jwks(jwks)),
                    Err(e) => {
                        self.push("jwks_url", format!("cannot create the HTTP client: {e}"));
                        None
                    }
                }
            }
            (None, Some(template), None) => {
                if families.iter().any(|f| *f != AlgorithmFamily::Hmac) {
                    self.push("algorithms", "a `secret` verifies HS256/384/512 only; use public_key or jwks_url for others");
                    return None;
                }
                let secret = self.secret("secret", template, secrets)?;
                if secret.expose().len() < 32 {
                    self.push("secret", "is shorter than 32 bytes; HS256 needs a long random secret (e.g. `openssl rand -base64 48`)");
                    return None;
                }
                let key = DecodingKey::from_secret(secret.expose().as_bytes());
                Some(KeySource::Configured(Arc::new(KeySet::new(vec![
                    Key::configured(key),
                ]))))
            }
            (None, None, Some(template)) => {
                let family = families.first().copied()?;
                if families.iter().any(|f| *f != family) || family == AlgorithmFamily::Hmac {
                    self.push(
                        "algorithms",
                        "a `public_key` verifies one family: RS*/PS*, ES* or EdDSA (not HS*)",
                    );
                    return None;
                }
                let pem = self.secret("public_key", template, secrets)?;
                let pem = pem.expose().as_bytes();
                let key = match family {
                    AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
                    AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
                    _ => DecodingKey::from_ed_pem(pem),
                };
                match key {
                    Ok(key) => Some(KeySource::Configured(Arc::new(KeySet::new(vec![
                        Key::configured(key),
                    ])))),
                    Err(_) => {
                        self.push(
                            "public_key",
                            "is not a PEM public key of the algorithms' type",
                        );
                        None
                    }
                }
            }
            _ => {
                self.push("", "set exactly one of jwks_url, secret or public_key");
                None
            }
        }
    }

    fn jwks_url(&mut self, raw: &str) -> Option<Url> {
        let Ok(url) = Url::parse(raw) else {
            self.push("jwks_url", "is not a URL");
            return None;
        };
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => Some(url),
            "http" if loopback => Some(url),
            _ => {
                self.push("jwks_url", "must be https:// (plain http only to localhost): keys fetched in the clear could be replaced");
                None
            }
        }
    }

    fn secret(
        &mut self,
        field: &str,
        template: &str,
        secrets: &dyn SecretSource,
    ) -> Option<crate::config::Secret> {
        match secret::resolve(template, secrets) {
            Ok(value) => Some(value),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }
}
