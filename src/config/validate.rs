//! Second validation phase: cross-field rules over the loaded config.
//!
//! Pure data checks: names, references between sections, paths, URLs,
//! methods, and the rules that keep a verifier from being quietly weak.
//! Every problem is collected (not just the first), each with the key it is
//! about and a fix. What needs secrets or builds a runtime object (header
//! values, keys, CORS patterns, backends) is checked where it is built, in
//! `snapshot`, with the same [`Problem`] type. Nothing here panics: a bad
//! reload must not take the gateway down.

use std::collections::HashMap;

use http::Method;
use url::Url;

use super::model::{Config, RouteConfig};
pub use super::problem::{Problem, Problems, is_name};
use super::values::LimitKey;

/// `[server] public_origin` as browsers write an `Origin`
/// (`https://app.example.com`, default port omitted), if it is one.
pub fn public_origin(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && !raw.trim_end_matches('/').ends_with(':');
    plain.then(|| url.origin().ascii_serialization())
}

/// The key under which a route's problems are reported.
pub fn route_key(index: usize, rc: &RouteConfig) -> String {
    if rc.name.is_empty() {
        format!("routes[{index}]")
    } else {
        format!("routes[{index}] ({})", rc.name)
    }
}

/// Every cross-field problem of `config`.
pub fn check(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let server = &config.server;
    if server.max_body.as_u64() == 0 {
        problems.push(Problem::new(
            "server.max_body",
            "must be more than 0, e.g. \"1MiB\"",
        ));
    }
    if server.timeout.is_zero() {
        problems.push(Problem::new(
            "server.timeout",
            "must be more than 0, e.g. \"30s\"",
        ));
    }
    if server.header_read_timeout.is_zero() {
        problems.push(Problem::new(
            "server.header_read_timeout",
            "must be more than 0, e.g. \"10s\"",
        ));
    }
    if server.max_header_size.as_u64() < 1024 {
        problems.push(Problem::new(
            "server.max_header_size",
            "must be at least 1KiB (browsers send several KiB of headers), e.g. \"32KiB\"",
        ));
    }
    if server.max_headers < 8 {
        problems.push(Problem::new(
            "server.max_headers",
            "must be at least 8 (browsers send a dozen or more), e.g. 100",
        ));
    }
    if server.http2_max_concurrent_streams == 0 {
        problems.push(Problem::new(
            "server.http2_max_concurrent_streams",
            "must be at least 1, e.g. 100",
        ));
    }
    if let Some(origin) = &server.public_origin
        && public_origin(origin).is_none()
    {
        problems.push(Problem::new(
            "server.public_origin",
            "is not an origin; write scheme, host and optional port, e.g. \"https://app.example.com\"",
        ));
    }
    for name in &server.identity_headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(Problem::new(
                "server.identity_headers",
                format!("`{name}` is not a valid header name"),
            ));
        }
    }
    if config.routes.is_empty() {
        problems.push(Problem::new(
            "routes",
            "no [[routes]] are defined; add one with name, path, upstream and auth",
        ));
    }
    rate_limits(config, &mut problems);
    for (name, verifier) in &config.auth {
        super::validate_auth::verifier(name, verifier, &mut problems);
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut paths: HashMap<&str, usize> = HashMap::new();
    for (index, rc) in config.routes.iter().enumerate() {
        let mut p = Problems::under(route_key(index, rc), &mut problems);
        if let Some(first) = names.insert(&rc.name, index) {
            p.push(
                "name",
                format!("duplicates routes[{first}]; route names must be unique"),
            );
        }
        if let Some(first) = paths.insert(&rc.path, index) {
            p.push(
                "path",
                format!("duplicates routes[{first}]; each path prefix belongs to one route"),
            );
        }
        route(config, rc, &mut p);
    }
    problems
}

fn rate_limits(config: &Config, problems: &mut Vec<Problem>) {
    let backend = config.rate_limit.backend.as_str();
    if backend != "memory" && !backend.starts_with("redis://") && !backend.starts_with("rediss://")
    {
        problems.push(Problem::new(
            "rate_limit.backend",
            "must be \"memory\" or a redis:// URL such as \"redis://127.0.0.1:6379\"",
        ));
    }
    if config.rate_limit.max_keys == 0 {
        problems.push(Problem::new("rate_limit.max_keys", "must be more than 0"));
    }
    for (name, limit) in &config.limits {
        if !is_name(name) {
            problems.push(Problem::new(
                format!("limits.{name}"),
                "limit names are letters, digits, '-' or '_'",
            ));
        }
        if limit.burst == 0 {
            problems.push(Problem::new(
                format!("limits.{name}.burst"),
                "must be at least 1",
            ));
        }
    }
}

fn route(config: &Config, rc: &RouteConfig, p: &mut Problems<'_>) {
    if !is_name(&rc.name) {
        p.push(
            "name",
            "must be 1-64 characters of letters, digits, '-' or '_' (it labels logs and metrics)",
        );
    }
    path(&rc.path, p);
    auth(config, rc, p);
    for name in &rc.limits {
        let Some(definition) = config.limits.get(name) else {
            let known: Vec<&str> = config.limits.keys().map(String::as_str).collect();
            p.push(
                "limits",
                format!(
                    "no limit named `{name}`; define [limits.{name}] (defined: {})",
                    known.join(", ")
                ),
            );
            continue;
        };
        if matches!(definition.key, LimitKey::Claim(_)) && rc.auth.as_deref() == Some("none") {
            p.push(
                "limits",
                format!("`{name}` is keyed by a claim, but this route has auth = \"none\": there is no token to read it from"),
            );
        }
    }
    for (header, claim) in &rc.forward_claims {
        if claim.is_empty() {
            p.push(
                &format!("forward_claims.{header}"),
                "names no claim; write e.g. \"sub\"",
            );
        }
    }
    upstream_url(&rc.upstream, p);
    methods(rc.methods.as_deref(), p);
    if rc.timeout.is_some_and(|t| t.is_zero()) {
        p.push("timeout", "must be more than 0, e.g. \"30s\"");
    }
    if rc.max_body.is_some_and(|m| m.as_u64() == 0) {
        p.push("max_body", "must be more than 0, e.g. \"1MiB\"");
    }
    for name in rc.inject_query.keys() {
        if name.is_empty() {
            p.push("inject_query.", "parameter name must not be empty");
        }
    }
}

fn path(path: &str, p: &mut Problems<'_>) {
    let fix = "write a plain prefix such as \"/api/openai\"";
    if !path.starts_with('/') {
        p.push("path", format!("must start with '/'; {fix}"));
    } else if path.len() > 1 && path.ends_with('/') {
        p.push(
            "path",
            format!("must not end with '/' (prefixes match whole segments); {fix}"),
        );
    } else if path.contains(['?', '#', '%', '\\', '*']) || path.contains("//") {
        p.push(
            "path",
            format!("must not contain '?', '#', '%', '\\', '*' or '//'; {fix}"),
        );
    } else if path.split('/').any(|s| s == "." || s == "..") {
        p.push(
            "path",
            format!("must not contain '.' or '..' segments; {fix}"),
        );
    }
}

fn auth(config: &Config, rc: &RouteConfig, p: &mut Problems<'_>) {
    match rc.auth.as_deref() {
        None => p.push(
            "auth",
            "is required on every route: write auth = \"none\" for a public route, or the name of an [auth.NAME] verifier",
        ),
        Some("none") => {
            if !rc.require_claims.is_empty() || !rc.forward_claims.is_empty() {
                p.push("auth", "is \"none\", so require_claims and forward_claims have no token to read; name a verifier");
            }
        }
        Some(name) if !config.auth.contains_key(name) => {
            let known: Vec<&str> = config.auth.keys().map(String::as_str).collect();
            p.push(
                "auth",
                format!("no verifier named `{name}`; define [auth.{name}] or use one of: none, {}", known.join(", ")),
            );
        }
        Some(name) => {
            if config.auth.get(name).is_some_and(|v| v.kind.is_webhook()) {
                webhook_route(config, rc, name, p);
            }
        }
    }
}

/// A route verified by a webhook signature: deliveries are POSTs and carry
/// no claims.
fn webhook_route(config: &Config, rc: &RouteConfig, verifier: &str, p: &mut Problems<'_>) {
    if let Some(methods) = &rc.methods
        && !methods.iter().any(|m| m.eq_ignore_ascii_case("POST"))
    {
        p.push(
            "methods",
            format!("exclude POST, but `{verifier}` verifies webhook deliveries, which are POSTs; add \"POST\""),
        );
    }
    if !rc.require_claims.is_empty() || !rc.forward_claims.is_empty() {
        p.push(
            "auth",
            format!("`{verifier}` verifies a webhook signature, which carries no claims; remove require_claims and forward_claims"),
        );
    }
    for name in &rc.limits {
        if config
            .limits
            .get(name)
            .is_some_and(|l| matches!(l.key, LimitKey::Claim(_)))
        {
            p.push(
                "limits",
                format!("`{name}` is keyed by a claim, but `{verifier}` verifies a webhook signature, which carries no claims"),
            );
        }
    }
}

/// The upstream base URL, or `None` (with a problem) when it cannot be one.
pub fn upstream_url(raw: &str, p: &mut Problems<'_>) -> Option<Url> {
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(e) => {
            p.push(
                "upstream",
                format!("is not a URL ({e}); write e.g. \"https://api.example.com/v1\""),
            );
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        p.push("upstream", "must be an http:// or https:// URL with a host");
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        p.push(
            "upstream",
            "must not carry user:password; inject credentials with inject_headers",
        );
        return None;
    }
    if url.query().is_some() || url.fragment().is_some() {
        p.push(
            "upstream",
            "must not have a query or fragment; use inject_query for fixed parameters",
        );
        return None;
    }
    Some(url)
}

/// The route's methods, parsed; problems recorded when `p` is given.
pub fn parse_methods(methods: &[String], mut p: Option<&mut Problems<'_>>) -> Vec<Method> {
    let mut parsed = Vec::with_capacity(methods.len());
    for m in methods {
        match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(method) if !parsed.contains(&method) => parsed.push(method),
            Ok(_) => {}
            Err(_) => {
                if let Some(p) = p.as_deref_mut() {
                    p.push(
                        "methods",
                        format!("`{m}` is not an HTTP method; write e.g. \"GET\""),
                    );
                }
            }
        }
    }
    parsed
}

fn methods(methods: Option<&[String]>, p: &mut Problems<'_>) {
    let Some(methods) = methods else { return };
    if methods.is_empty() {
        p.push(
            "methods",
            "is empty, so nothing could pass; remove the key to allow all methods",
        );
    }
    parse_methods(methods, Some(p));
}
