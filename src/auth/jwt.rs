//! Our own rules around a compact JWS: parsing that refuses what libraries
//! often let through (duplicate members, wrong claim types, `none`, `crit`),
//! and claim checks with leeway. Signatures are checked by `jsonwebtoken`
//! (see `keys.rs`); nothing here trusts a key named by the token itself
//! (`jku`, `x5u`, `jwk` and `x5c` are ignored).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::AuthError;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A token split and decoded, signature not yet checked.
#[derive(Debug)]
pub struct Parsed<'t> {
    /// The `alg` header, already checked against the allow-list.
    pub alg: Algorithm,
    /// The `kid` header, if any: a lookup key, never a path or URL.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    pub signing_input: &'t str,
    /// The base64url signature.
    pub signature: &'t str,
}

/// Splits, decodes and checks the header of `token` against `allowed`.
pub fn parse<'t>(token: &'t str, allowed: &[Algorithm]) -> Result<Parsed<'t>, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("a JWT has three dot-separated parts"));
    };
    if signature.is_empty() {
        return Err(AuthError::Malformed("the token has no signature"));
    }
    let header = decode_object(header, "header")?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => return Err(AuthError::Malformed("the header has no `alg`")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(AuthError::Algorithm("none".into()));
    }
    let alg_parsed = Algorithm::from_str(alg).map_err(|_| AuthError::Algorithm(short(alg)))?;
    if !allowed.contains(&alg_parsed) {
        return Err(AuthError::Algorithm(short(alg)));
    }
    if header.contains_key("crit") {
        return Err(AuthError::Malformed(
            "the header lists `crit` extensions, which are not supported",
        ));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.len() <= 256 => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed("`kid` must be a short string")),
    };
    let claims = decode_object(payload, "payload")?;
    let signing_input = &token[..header_len(token)];
    Ok(Parsed {
        alg: alg_parsed,
        kid,
        claims,
        signing_input,
        signature,
    })
}

fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn short(s: &str) -> String {
    s.chars().take(16).collect()
}

/// base64url (no padding) -> JSON object with unique member names.
fn decode_object(part: &str, what: &'static str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        AuthError::Malformed(if what == "header" {
            "the header is not base64url"
        } else {
            "the payload is not base64url"
        })
    })?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let object = de
        .deserialize_map(UniqueObject)
        .and_then(|o| de.end().map(|()| o))
        .map_err(|e| {
            if e.to_string().contains(DUPLICATE) {
                AuthError::Malformed(if what == "header" {
                    "the header repeats a member name"
                } else {
                    "the payload repeats a claim name"
                })
            } else {
                AuthError::Malformed(if what == "header" {
                    "the header is not a JSON object"
                } else {
                    "the payload is not a JSON object"
                })
            }
        })?;
    Ok(object)
}

const DUPLICATE: &str = "duplicate member";

/// A JSON object whose top-level member names are unique.
struct UniqueObject;

impl<'de> Visitor<'de> for UniqueObject {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        let mut map = Map::new();
        while let Some((key, value)) = access.next_entry::<String, Value>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(DUPLICATE));
            }
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// What the claims must satisfy.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Accepted audiences, if any.
    pub audience: Option<Vec<String>>,
    /// Seconds of clock skew allowed.
    pub leeway: i64,
}

/// Checks `exp` (required), `nbf`, `iat`, `iss` and `aud`; returns `exp`.
pub fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules,
    now: i64,
) -> Result<i64, AuthError> {
    let exp = numeric(claims, "exp")?.ok_or(AuthError::Malformed(
        "the token has no `exp` (expiry) claim",
    ))?;
    if now > exp + rules.leeway {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric(claims, "nbf")?
        && now + rules.leeway < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iat) = numeric(claims, "iat")?
        && iat > now + rules.leeway
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(issuer) = &rules.issuer {
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == issuer => {}
            _ => return Err(AuthError::Issuer),
        }
    }
    if let Some(audience) = &rules.audience {
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => audience.contains(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|a| a.as_str().is_some_and(|a| audience.iter().any(|x| x == a))),
            _ => false,
        };
        if !ok {
            return Err(AuthError::Audience);
        }
    }
    Ok(exp)
}

/// A NumericDate claim: absent is `None`; present but not a number is an error.
fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(AuthError::ClaimType(name)),
        Some(_) => Err(AuthError::ClaimType(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::HS256];

    #[test]
    fn parses_a_plain_token() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","jku":"https://evil/"}"#,
            r#"{"sub":"a","exp":10}"#,
        );
        let p = parse(&t, ALLOWED).unwrap();
        assert_eq!(p.alg, Algorithm::RS256);
        assert_eq!(p.kid.as_deref(), Some("k1"));
        assert_eq!(p.claims["sub"], "a");
        assert!(t.starts_with(p.signing_input));
        assert_eq!(p.signature, "c2ln");
    }

    #[test]
    fn none_in_any_spelling_and_unlisted_algorithms_are_refused() {
        for alg in [
            "none", "None", "NONE", "nOnE", "ES256", "HS512", "rs256", "",
        ] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"exp":10}"#);
            assert!(
                matches!(parse(&t, ALLOWED), Err(AuthError::Algorithm(_))),
                "{alg}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let cases = [
            "".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "!!!.???.sig".to_owned(),
            format!("{}.{}.", b64(r#"{"alg":"RS256"}"#), b64(r#"{"exp":1}"#)),
            format!("{}.{}.sig", b64("not json"), b64(r#"{"exp":1}"#)),
            format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64("[1,2]")),
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"RS256"} x"#),
                b64(r#"{"exp":1}"#)
            ),
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"RS256","crit":["b64"]}"#),
                b64(r#"{"exp":1}"#)
            ),
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"RS256","alg":"none"}"#),
                b64(r#"{"exp":1}"#)
            ),
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"RS256"}"#),
                b64(r#"{"sub":"a","sub":"admin","exp":1}"#)
            ),
            format!(
                "{}.{}.sig",
                b64(r#"{"alg":"RS256","kid":7}"#),
                b64(r#"{"exp":1}"#)
            ),
        ];
        for t in &cases {
            assert!(
                matches!(parse(t, ALLOWED), Err(AuthError::Malformed(_))),
                "{t}"
            );
        }
    }

    #[test]
    fn oversized_token_is_refused_before_parsing() {
        let t = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(parse(&t, ALLOWED), Err(AuthError::TooLarge)));
    }

    fn claims(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: Some("https://issuer/".into()),
            audience: Some(vec!["api".into()]),
            leeway: 30,
        }
    }

    #[test]
    fn time_claims_honour_leeway_and_types() {
        let ok = r#""iss":"https://issuer/","aud":"api""#;
        let now = 1_000_000;
        let c = |extra: &str| claims(&format!("{{{ok},{extra}}}"));
        assert_eq!(
            check_claims(&c(r#""exp":1000010"#), &rules(), now).unwrap(),
            1_000_010
        );
        assert!(
            check_claims(&c(r#""exp":999980"#), &rules(), now).is_ok(),
            "within leeway"
        );
        assert!(matches!(
            check_claims(&c(r#""exp":999960"#), &rules(), now),
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            check_claims(&claims(&format!("{{{ok}}}")), &rules(), now),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            check_claims(&c(r#""exp":"9999999999""#), &rules(), now),
            Err(AuthError::ClaimType("exp"))
        ));
        assert!(matches!(
            check_claims(&c(r#""exp":null"#), &rules(), now),
            Err(AuthError::ClaimType("exp"))
        ));
        assert!(matches!(
            check_claims(&c(r#""exp":1000100,"nbf":"0""#), &rules(), now),
            Err(AuthError::ClaimType("nbf"))
        ));
        assert!(matches!(
            check_claims(&c(r#""exp":1000100,"nbf":1000050"#), &rules(), now),
            Err(AuthError::NotYetValid)
        ));
        assert!(check_claims(&c(r#""exp":1000100,"nbf":1000020"#), &rules(), now).is_ok());
        assert!(matches!(
            check_claims(&c(r#""exp":1000100,"iat":1000100"#), &rules(), now),
            Err(AuthError::NotYetValid)
        ));
    }

    #[test]
    fn issuer_and_audience_are_checked() {
        let now = 0;
        let r = rules();
        assert!(
            check_claims(
                &claims(r#"{"exp":100,"iss":"https://issuer/","aud":["x","api"]}"#),
                &r,
                now
            )
            .is_ok()
        );
        assert!(matches!(
            check_claims(
                &claims(r#"{"exp":100,"iss":"https://evil/","aud":"api"}"#),
                &r,
                now
            ),
            Err(AuthError::Issuer)
        ));
        assert!(matches!(
            check_claims(&claims(r#"{"exp":100,"aud":"api"}"#), &r, now),
            Err(AuthError::Issuer)
        ));
        assert!(matches!(
            check_claims(
                &claims(r#"{"exp":100,"iss":"https://issuer/","aud":"other"}"#),
                &r,
                now
            ),
            Err(AuthError::Audience)
        ));
        assert!(matches!(
            check_claims(&claims(r#"{"exp":100,"iss":"https://issuer/"}"#), &r, now),
            Err(AuthError::Audience)
        ));
        let any = ClaimRules {
            issuer: None,
            audience: None,
            leeway: 0,
        };
        assert!(check_claims(&claims(r#"{"exp":100}"#), &any, now).is_ok());
    }
}
