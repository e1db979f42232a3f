//! Where a token comes from (Authorization: Bearer, or a named cookie),
//! and the CSRF rule for cookie tokens.
//!
//! Ambiguity is refused, never resolved: two Authorization headers, the
//! same cookie twice with different values, or a header token and a cookie
//! token that disagree are all 401, so no identity "happens to win".

use http::{HeaderMap, Method, header};

use super::AuthError;

/// The token sources a verifier accepts.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `Authorization: Bearer <token>`.
    pub header: bool,
    /// A cookie of this name.
    pub cookie: Option<String>,
}

/// Where the accepted token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The Authorization header.
    Header,
    /// The named cookie.
    Cookie,
}

/// Finds the request's token.
pub fn extract<'h>(
    headers: &'h HeaderMap,
    sources: &Sources,
) -> Result<(&'h str, TokenSource), AuthError> {
    let from_header = if sources.header {
        bearer(headers)?
    } else {
        None
    };
    let from_cookie = match &sources.cookie {
        Some(name) => cookie(headers, name)?,
        None => None,
    };
    match (from_header, from_cookie) {
        (Some(h), Some(c)) if h != c => Err(AuthError::Ambiguous),
        (Some(h), _) => Ok((h, TokenSource::Header)),
        (None, Some(c)) => Ok((c, TokenSource::Cookie)),
        (None, None) => Err(AuthError::Missing),
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Ambiguous);
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AuthError::Malformed("send Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed("send Authorization: Bearer <token>"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(Some(token))
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut found: Option<&str> = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k.trim() != name {
                continue;
            }
            let v = v.trim().trim_matches('"');
            match found {
                Some(prev) if prev != v => return Err(AuthError::Ambiguous),
                _ => found = Some(v),
            }
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// The `Cookie` header without cookie `name` (for forwarding after the
/// gateway consumed it), or `None` when nothing is left.
pub fn without_cookie(value: &str, name: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split('=').next().map(str::trim) != Some(name))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// How the gateway knows its own origin (scheme, host and port).
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// `[server] public_origin`: when set, the only same-site origin.
    pub public_origin: Option<&'a str>,
    /// Whether the peer is a trusted proxy, whose `X-Forwarded-Proto` is
    /// believed; otherwise the scheme is the listener's (`http`).
    pub trusted_proxy: bool,
}

impl Site<'_> {
    /// The request's own origin: `public_origin`, else scheme + `Host`.
    /// Worked out only here, when a cookie token meets the CSRF rule.
    pub fn own_origin(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(origin) = self.public_origin {
            return Some(origin.to_owned());
        }
        let scheme = self
            .trusted_proxy
            .then(|| headers.get("x-forwarded-proto"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .filter(|proto| matches!(*proto, "http" | "https"))
            .unwrap_or("http");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok())?;
        Some(format!("{scheme}://{host}"))
    }
}

/// Cookie tokens on unsafe methods must come from our own origin (or an
/// allowed one): `Sec-Fetch-Site: cross-site` is refused, and `Origin` (or,
/// failing that, `Referer`) must be the site's own origin, scheme, host and
/// port alike, or pass `allowed`. Header tokens are exempt: a browser cannot
/// attach them cross-site without a CORS preflight.
pub fn check_csrf(
    method: &Method,
    headers: &HeaderMap,
    site: Site<'_>,
    allowed: &dyn Fn(&str) -> bool,
) -> Result<(), AuthError> {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(());
    }
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(AuthError::Csrf("the request was sent by another site"));
    }
    let origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin.to_owned(),
        None => {
            let referer = headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .ok_or(AuthError::Csrf(
                    "a cookie-authenticated request must carry Origin or Referer",
                ))?;
            referer_origin(referer).ok_or(AuthError::Csrf("the Referer is not a URL"))?
        }
    };
    let same_origin = site
        .own_origin(headers)
        .is_some_and(|own| own.eq_ignore_ascii_case(&origin));
    if same_origin || allowed(&origin) {
        Ok(())
    } else {
        Err(AuthError::Csrf(
            "the request's Origin is not this site or an allowed origin",
        ))
    }
}

/// `scheme://authority` of a Referer URL.
fn referer_origin(referer: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn both() -> Sources {
        Sources {
            header: true,
            cookie: Some("session".into()),
        }
    }

    #[test]
    fn header_and_cookie_tokens_are_found() {
        let h = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(extract(&h, &both()).unwrap(), ("abc", TokenSource::Header));
        let h = headers(&[("cookie", "a=1; session=xyz; b=2")]);
        assert_eq!(extract(&h, &both()).unwrap(), ("xyz", TokenSource::Cookie));
        let h = headers(&[("authorization", "bearer same"), ("cookie", "session=same")]);
        assert_eq!(extract(&h, &both()).unwrap(), ("same", TokenSource::Header));
    }

    #[test]
    fn ambiguity_is_refused() {
        for h in [
            headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]),
            headers(&[("authorization", "Bearer a"), ("cookie", "session=b")]),
            headers(&[("cookie", "session=a; session=b")]),
            headers(&[("cookie", "session=a"), ("cookie", "session=b")]),
        ] {
            assert!(
                matches!(extract(&h, &both()), Err(AuthError::Ambiguous)),
                "{h:?}"
            );
        }
    }

    #[test]
    fn missing_and_wrong_scheme() {
        assert!(matches!(
            extract(&HeaderMap::new(), &both()),
            Err(AuthError::Missing)
        ));
        let h = headers(&[("authorization", "Basic Zm9vOmJhcg==")]);
        assert!(matches!(extract(&h, &both()), Err(AuthError::Malformed(_))));
        // A source the verifier does not accept is not read.
        let h = headers(&[("cookie", "session=xyz")]);
        let header_only = Sources {
            header: true,
            cookie: None,
        };
        assert!(matches!(extract(&h, &header_only), Err(AuthError::Missing)));
    }

    #[test]
    fn consumed_cookie_is_removed() {
        assert_eq!(
            without_cookie("a=1; session=x; b=2", "session").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without_cookie("session=x", "session"), None);
    }

    #[test]
    fn csrf_rules() {
        let none = |_: &str| false;
        let post = Method::POST;
        let http = Site {
            public_origin: None,
            trusted_proxy: false,
        };
        let https = Site {
            public_origin: None,
            trusted_proxy: true,
        };
        let check_csrf = |m: &Method, h: &HeaderMap, allowed: &dyn Fn(&str) -> bool| {
            check_csrf(m, h, http, allowed)
        };
        let ok = headers(&[
            ("host", "app.example:8080"),
            ("origin", "http://app.example:8080"),
        ]);
        assert!(check_csrf(&post, &ok, &none).is_ok());
        let evil = headers(&[("host", "app.example"), ("origin", "https://evil.example")]);
        assert!(check_csrf(&post, &evil, &none).is_err());
        assert!(check_csrf(&post, &evil, &|o: &str| o == "https://evil.example").is_ok());
        let referer = headers(&[
            ("host", "app.example"),
            ("referer", "https://app.example/page?x"),
            ("x-forwarded-proto", "https"),
        ]);
        assert!(super::check_csrf(&post, &referer, https, &none).is_ok());
        // The scheme counts: an https page is not the http site.
        assert!(check_csrf(&post, &referer, &none).is_err());
        let other_port = headers(&[
            ("host", "app.example:8080"),
            ("origin", "http://app.example:8081"),
        ]);
        assert!(check_csrf(&post, &other_port, &none).is_err());
        // With public_origin, only that origin is the site.
        let public = Site {
            public_origin: Some("https://app.example"),
            trusted_proxy: false,
        };
        assert!(super::check_csrf(&post, &referer, public, &none).is_ok());
        assert!(super::check_csrf(&post, &ok, public, &none).is_err());
        let bare = headers(&[("host", "app.example")]);
        assert!(check_csrf(&post, &bare, &none).is_err());
        let cross = headers(&[
            ("host", "app.example"),
            ("origin", "https://app.example"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(check_csrf(&post, &cross, &none).is_err());
        assert!(check_csrf(&Method::GET, &bare, &none).is_ok());
        let null = headers(&[("host", "app.example"), ("origin", "null")]);
        assert!(check_csrf(&Method::DELETE, &null, &none).is_err());
    }
}
