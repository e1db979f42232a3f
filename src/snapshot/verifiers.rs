//! Builds the verifiers of `[auth.NAME]`: resolves secrets and PEM keys,
//! creates JWKS fetchers. The config's own rules were checked by
//! `config::validate`; what only shows once a secret is resolved (its
//! length, whether a PEM parses) is checked here.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderName;
use jsonwebtoken::{AlgorithmFamily, DecodingKey};

use crate::auth::jwks::{Jwks, JwksTiming};
use crate::auth::jwt::ClaimRules;
use crate::auth::jwt_verifier::{JwtVerifier, KeySource};
use crate::auth::keys::{Key, KeySet};
use crate::auth::token::Sources;
use crate::auth::webhook::{Dedupe, HmacSpec, Scheme, WebhookVerifier, standard_key};
use crate::auth::{Verifier, VerifierKind};
use crate::config::model::{
    DEFAULT_DEDUPE, DEFAULT_JWKS_COOLDOWN, DEFAULT_JWKS_REFRESH, DEFAULT_LEEWAY, DEFAULT_TOLERANCE,
    HmacAlgorithm, SignatureEncoding, VerifierConfig, VerifierKind as Kind,
};
use crate::config::validate::{Problem, Problems};
use crate::config::values::TokenFrom;
use crate::config::{SecretSource, secret};
use crate::deliveries::DeliveryStore;

/// Builds every verifier, recording problems; broken ones are left out.
///
/// `reuse` offers the previous generation's verifier of the same name and
/// definition: JWKS verifiers are kept across a reload (their keys, cache
/// and refresh task stay, so a reload never makes them unready). Secret and
/// PEM verifiers are rebuilt, so a rotated `${file:..}` takes effect.
pub(super) fn build(
    configs: &BTreeMap<String, VerifierConfig>,
    secrets: &dyn SecretSource,
    problems: &mut Vec<Problem>,
    reuse: &dyn Fn(&str, &VerifierConfig) -> Option<Arc<Verifier>>,
    deliveries: &Arc<DeliveryStore>,
) -> BTreeMap<String, Arc<Verifier>> {
    let mut out = BTreeMap::new();
    for (name, config) in configs {
        if config.jwks_url.is_some()
            && let Some(previous) = reuse(name, config)
        {
            out.insert(name.clone(), previous);
            continue;
        }
        let mut p = Problems::under(format!("auth.{name}"), problems);
        let kind = match config.kind {
            Kind::Jwt => jwt(name, config, secrets, &mut p).map(VerifierKind::Jwt),
            _ => webhook(config, secrets, deliveries, &mut p).map(VerifierKind::Webhook),
        };
        if let Some(kind) = kind {
            out.insert(
                name.clone(),
                Arc::new(Verifier::new(Arc::from(name.as_str()), kind)),
            );
        }
    }
    out
}

fn jwt(
    name: &str,
    c: &VerifierConfig,
    secrets: &dyn SecretSource,
    p: &mut Problems<'_>,
) -> Option<JwtVerifier> {
    let algorithms: Vec<_> = c.algorithms.iter().map(|a| a.0).collect();
    let families: Vec<AlgorithmFamily> = algorithms.iter().map(|a| a.family()).collect();
    let rules = ClaimRules {
        issuer: c.issuer.clone(),
        audience: c.audience.clone(),
        leeway: c.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs() as i64,
    };
    let mut sources = Sources::default();
    for source in c.token_from.as_deref().unwrap_or(&[TokenFrom::Header]) {
        match source {
            TokenFrom::Header => sources.header = true,
            TokenFrom::Cookie(cookie) => sources.cookie = Some(cookie.clone()),
        }
    }
    let keys = match (&c.jwks_url, &c.secret, &c.public_key) {
        (Some(url), None, None) => {
            let url = url::Url::parse(url).ok()?;
            let timing = JwksTiming {
                refresh: c.jwks_refresh.unwrap_or(DEFAULT_JWKS_REFRESH),
                cooldown: c.jwks_cooldown.unwrap_or(DEFAULT_JWKS_COOLDOWN),
            };
            match Jwks::new(Arc::from(name), url, timing) {
                Ok(jwks) => KeySource::Jwks(jwks),
                Err(e) => {
                    p.push("jwks_url", format!("cannot create the HTTP client: {e}"));
                    return None;
                }
            }
        }
        (None, Some(template), None) => {
            let secret = resolve(p, "secret", template, secrets)?;
            if secret.expose().len() < 32 {
                p.push("secret", "is shorter than 32 bytes; HS256 needs a long random secret (e.g. `openssl rand -base64 48`)");
                return None;
            }
            let key = DecodingKey::from_secret(secret.expose().as_bytes());
            KeySource::Configured(Arc::new(KeySet::new(vec![Key::configured(key)])))
        }
        (None, None, Some(template)) => {
            let pem = resolve(p, "public_key", template, secrets)?;
            let pem = pem.expose().as_bytes();
            let key = match families.first()? {
                AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
                AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
                _ => DecodingKey::from_ed_pem(pem),
            };
            match key {
                Ok(key) => KeySource::Configured(Arc::new(KeySet::new(vec![Key::configured(key)]))),
                Err(_) => {
                    p.push(
                        "public_key",
                        "is not a PEM public key of the algorithms' type",
                    );
                    return None;
                }
            }
        }
        // Reported by `config::validate`.
        _ => return None,
    };
    Some(JwtVerifier::new(algorithms, rules, sources, keys))
}

fn webhook(
    c: &VerifierConfig,
    secrets: &dyn SecretSource,
    deliveries: &Arc<DeliveryStore>,
    p: &mut Problems<'_>,
) -> Option<WebhookVerifier> {
    let scheme = match c.kind {
        Kind::Stripe => Scheme::Stripe,
        Kind::Github => Scheme::Github,
        Kind::Standard => Scheme::Standard,
        Kind::Slack => Scheme::Slack,
        Kind::Hmac => Scheme::Hmac(HmacSpec {
            header: HeaderName::from_bytes(c.header.as_deref()?.as_bytes()).ok()?,
            algorithm: c.algorithm.unwrap_or(HmacAlgorithm::Sha256),
            encoding: c.encoding.unwrap_or(SignatureEncoding::Hex),
            prefix: c.prefix.clone().filter(|p| !p.is_empty()),
        }),
        Kind::Jwt => return None,
    };
    let mut keys = Vec::new();
    for (i, template) in c.secrets.as_deref().unwrap_or_default().iter().enumerate() {
        let field = format!("secrets[{i}]");
        let Some(secret) = resolve(p, &field, template, secrets) else {
            continue;
        };
        if secret.expose().is_empty() {
            p.push(&field, "resolves to an empty secret");
            continue;
        }
        if c.kind == Kind::Standard {
            match standard_key(secret.expose()) {
                Some(key) if !key.is_empty() => keys.push(key),
                _ => p.push(
                    &field,
                    "is not a Standard Webhooks secret: write whsec_<base64> as the provider shows it",
                ),
            }
        } else {
            keys.push(secret.expose().as_bytes().to_vec());
        }
    }
    if keys.is_empty() {
        return None;
    }
    let dedupe = matches!(c.kind, Kind::Stripe | Kind::Github | Kind::Standard).then(|| Dedupe {
        store: Arc::clone(deliveries),
        window: c.dedupe.unwrap_or(DEFAULT_DEDUPE),
    });
    Some(WebhookVerifier::new(
        scheme,
        keys,
        c.tolerance.unwrap_or(DEFAULT_TOLERANCE),
        dedupe,
    ))
}

/// Resolves a secret reference, recording why it cannot be.
pub(super) fn resolve(
    p: &mut Problems<'_>,
    field: &str,
    template: &str,
    secrets: &dyn SecretSource,
) -> Option<crate::config::Secret> {
    match secret::resolve(template, secrets) {
        Ok(value) => Some(value),
        Err(e) => {
            p.push(field, e.to_string());
            None
        }
    }
}
