//! CORS, owned by the gateway: upstream `Access-Control-*` headers never
//! reach the client, preflights are answered here (before authentication
//! and rate limiting, never forwarded), and every response to an allowed
//! origin carries the CORS headers, the gateway's own errors included, so
//! a frontend can read why a call failed.
//!
//! Origins match exactly (scheme, host, port), or by a single leading-label
//! wildcard (`https://*.example.com` matches `https://a.example.com`, not
//! `https://a.b.example.com`, `https://evil-example.com` or
//! `https://example.com.evil.net`). `null` matches only when listed.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::model::CorsConfig;

/// One allowed-origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Every origin (only without credentials).
    Any,
    /// `scheme://host[:port]`, lower-cased.
    Exact(String),
    /// `scheme://*.suffix[:port]`: (scheme, suffix, port part).
    Label {
        scheme: String,
        suffix: String,
        port: String,
    },
}

/// A validated CORS policy.
#[derive(Debug, Clone)]
pub struct Cors {
    patterns: Vec<Pattern>,
    credentials: bool,
    allow_headers: HeaderValue,
    expose_headers: Option<HeaderValue>,
    max_age: HeaderValue,
}

impl Cors {
    /// Validates `config`; each problem is (field, message).
    pub fn new(config: &CorsConfig) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut patterns = Vec::new();
        for origin in &config.allow_origins {
            match parse_pattern(origin) {
                Some(Pattern::Any) if config.allow_credentials => problems.push((
                    "allow_origins",
                    "\"*\" cannot be combined with allow_credentials = true; list the origins".to_owned(),
                )),
                Some(pattern) => patterns.push(pattern),
                None => problems.push((
                    "allow_origins",
                    format!("`{origin}` is not an origin; write \"https://app.example.com\" or \"https://*.example.com\" (no path)"),
                )),
            }
        }
        let list =
            |names: &[String], field: &'static str, problems: &mut Vec<(&'static str, String)>| {
                let ok = names
                    .iter()
                    .all(|n| http::HeaderName::from_bytes(n.as_bytes()).is_ok());
                if !ok {
                    problems.push((
                        field,
                        "lists something that is not a header name".to_owned(),
                    ));
                }
                HeaderValue::from_str(&names.join(", ").to_ascii_lowercase()).ok()
            };
        let allow_headers = list(&config.allow_headers, "allow_headers", &mut problems);
        let expose_headers = list(&config.expose_headers, "expose_headers", &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            patterns,
            credentials: config.allow_credentials,
            allow_headers: allow_headers.unwrap_or(HeaderValue::from_static("")),
            expose_headers: expose_headers.filter(|v| !v.is_empty()),
            max_age: HeaderValue::from(config.max_age.as_secs()),
        })
    }

    /// Whether a page from `origin` may call.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.patterns.iter().any(|p| match p {
            Pattern::Any => origin != "null",
            Pattern::Exact(exact) => *exact == origin,
            Pattern::Label {
                scheme,
                suffix,
                port,
            } => origin
                .strip_prefix(scheme.as_str())
                .and_then(|rest| rest.strip_prefix("://"))
                .and_then(|rest| rest.strip_suffix(port.as_str()))
                .and_then(|host| host.strip_suffix(suffix.as_str()))
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| {
                    !label.is_empty() && !label.contains(['.', ':']) && is_label(label)
                }),
        })
    }

    fn allow_origin(&self, origin: &HeaderValue) -> HeaderValue {
        if !self.credentials && self.patterns.contains(&Pattern::Any) {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }

    /// The answer to a preflight, or `None` when the request is not one.
    /// `methods` are the route's (None: all).
    pub fn preflight(
        &self,
        method: &Method,
        headers: &HeaderMap,
        methods: Option<&[Method]>,
    ) -> Option<Response<axum::body::Body>> {
        if *method != Method::OPTIONS
            || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        );
        let Some(origin) = headers
            .get(header::ORIGIN)
            .filter(|o| o.to_str().is_ok_and(|o| self.allows(o)))
        else {
            return Some(response);
        };
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let allowed_methods = match methods {
            Some(methods) => methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            None => requested
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default(),
        };
        out.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            self.allow_origin(origin),
        );
        if let Ok(value) = HeaderValue::from_str(&allowed_methods) {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        if !self.allow_headers.is_empty() {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                self.allow_headers.clone(),
            );
        }
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        Some(response)
    }

    /// Adds the CORS headers of an actual (non-preflight) response to a
    /// request that carried `origin`.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut HeaderMap) {
        response.append(header::VARY, HeaderValue::from_static("origin"));
        let Some(origin) = origin.filter(|o| o.to_str().is_ok_and(|o| self.allows(o))) else {
            return;
        };
        response.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            self.allow_origin(origin),
        );
        if self.credentials {
            response.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose_headers {
            response.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

fn is_label(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn parse_pattern(origin: &str) -> Option<Pattern> {
    if origin == "*" {
        return Some(Pattern::Any);
    }
    if origin == "null" {
        return Some(Pattern::Exact("null".into()));
    }
    let lower = origin.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@'])
    {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() => {
            (host, format!(":{port}"))
        }
        Some(_) => return None,
        None => (rest, String::new()),
    };
    match host.strip_prefix("*.") {
        Some(suffix)
            if !suffix.is_empty()
                && !suffix.contains('*')
                && suffix.split('.').all(|l| !l.is_empty() && is_label(l)) =>
        {
            Some(Pattern::Label {
                scheme: scheme.to_owned(),
                suffix: suffix.to_owned(),
                port,
            })
        }
        Some(_) => None,
        None if !host.contains('*') && !host.is_empty() => Some(Pattern::Exact(lower.clone())),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> Cors {
        Cors::new(&CorsConfig {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_credentials: credentials,
            allow_headers: vec!["authorization".into()],
            expose_headers: vec![],
            max_age: std::time::Duration::from_secs(60),
        })
        .unwrap()
    }

    #[test]
    fn exact_and_wildcard_label_matching() {
        let c = cors(
            &[
                "https://app.example.com",
                "https://*.preview.example.com",
                "http://localhost:3000",
            ],
            true,
        );
        assert!(c.allows("https://app.example.com"));
        assert!(c.allows("HTTPS://APP.EXAMPLE.COM"));
        assert!(c.allows("https://pr-1.preview.example.com"));
        assert!(c.allows("http://localhost:3000"));
        for bad in [
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://evil-app.example.com",
            "https://app.example.com.evil.net",
            "https://preview.example.com",
            "https://a.b.preview.example.com",
            "https://evil-preview.example.com",
            "https://x.preview.example.com.evil.net",
            "https://.preview.example.com",
            "http://localhost:3001",
            "null",
            "",
        ] {
            assert!(!c.allows(bad), "{bad}");
        }
    }

    #[test]
    fn null_only_when_listed_and_star_never_with_credentials() {
        assert!(cors(&["null"], false).allows("null"));
        assert!(!cors(&["*"], false).allows("null"));
        assert!(cors(&["*"], false).allows("https://anything.example"));
        let refused = Cors::new(&CorsConfig {
            allow_origins: vec!["*".into()],
            allow_credentials: true,
            allow_headers: vec![],
            expose_headers: vec![],
            max_age: std::time::Duration::ZERO,
        });
        assert!(refused.is_err());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://*",
            "https://a.*.example.com",
            "ftp://x",
            "https://*.*.example.com",
            "https://x:port",
        ] {
            assert!(parse_pattern(bad).is_none(), "{bad}");
        }
    }
}
