//! Builds the routes of a validated config: header names and values,
//! resolved secrets, CORS policies, and references to the snapshot's
//! verifiers and limits. Problems that only show here (a secret that does
//! not resolve, a header the gateway owns) are recorded with their key.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};

use super::verifiers::resolve;
use crate::auth::Verifier;
use crate::config::model::{Config, CorsConfig, HeaderFilterConfig, RouteConfig};
use crate::config::validate::{Problem, Problems, parse_methods, route_key, upstream_url};
use crate::config::{Secret, SecretSource};
use crate::cors::Cors;
use crate::proxy::headers;
use crate::rate_limit::Limit;
use crate::routing::{HeaderFilter, Route};

/// What routes refer to, built before them.
pub(super) struct Parts<'a> {
    pub(super) verifiers: &'a BTreeMap<String, Arc<Verifier>>,
    pub(super) limits: &'a BTreeMap<String, Arc<Limit>>,
    pub(super) cors: Option<Arc<Cors>>,
    /// Headers only the gateway sets from claims, stripped on every route.
    pub(super) identity_headers: Arc<[HeaderName]>,
}

/// Every route's `forward_claims` targets and `[server] identity_headers`:
/// a header one route sets from a verified claim must not be sendable by a
/// client on another route to the same backend.
pub(super) fn identity_headers(config: &Config) -> Arc<[HeaderName]> {
    let mut names: Vec<HeaderName> = config
        .routes
        .iter()
        .flat_map(|r| r.forward_claims.keys())
        .chain(config.server.identity_headers.iter())
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    names.dedup();
    names.into()
}

/// Builds every route; a route with a problem is left out.
pub(super) fn build(
    config: &Config,
    secrets: &dyn SecretSource,
    parts: &Parts<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<Route> {
    let mut routes = Vec::with_capacity(config.routes.len());
    for (index, rc) in config.routes.iter().enumerate() {
        let mut p = Problems::under(route_key(index, rc), problems);
        if let Some(route) = route(config, rc, secrets, parts, &mut p) {
            routes.push(route);
        }
    }
    routes
}

/// A CORS policy, or its problems recorded at `field` + each bad key.
pub(super) fn cors_policy(
    config: &CorsConfig,
    p: &mut Problems<'_>,
    field: &str,
) -> Option<Arc<Cors>> {
    match Cors::new(config) {
        Ok(cors) => Some(Arc::new(cors)),
        Err(found) => {
            for (key, message) in found {
                p.push(&format!("{field}{key}"), message);
            }
            None
        }
    }
}

fn route(
    config: &Config,
    rc: &RouteConfig,
    secrets: &dyn SecretSource,
    parts: &Parts<'_>,
    p: &mut Problems<'_>,
) -> Option<Route> {
    let inject_headers = inject_headers(rc, secrets, p);
    let inject_query = inject_query(rc, secrets, p);
    let header_filter = header_filter(rc.request_headers.as_ref(), p);
    let forward_claims = forward_claims(rc, p);
    // `None`: the route's own policy is broken (recorded); `Some(None)`: no CORS.
    let cors = match &rc.cors {
        Some(own) => cors_policy(own, p, "cors.").map(Some),
        None => Some(parts.cors.clone()),
    };
    // Problems of the route's definition were recorded by `config::validate`.
    let url = upstream_url(&rc.upstream, &mut Problems::under("", &mut Vec::new()))?;
    let auth = match rc.auth.as_deref()? {
        "none" => None,
        name => Some(Arc::clone(parts.verifiers.get(name)?)),
    };
    let limits = rc
        .limits
        .iter()
        .map(|name| parts.limits.get(name).cloned())
        .collect::<Option<Vec<_>>>()?;
    let methods = rc.methods.as_deref().map(|m| parse_methods(m, None));
    let upstream_path = url.path().trim_end_matches('/').to_owned();
    Some(Route {
        name: Arc::from(rc.name.as_str()),
        path: rc.path.clone(),
        upstream: url,
        upstream_path,
        allow: allow_header(methods.as_deref()),
        methods,
        timeout: rc.timeout.unwrap_or(config.server.timeout),
        max_body: rc.max_body.unwrap_or(config.server.max_body).as_u64(),
        inject_headers: inject_headers?,
        inject_query: inject_query?,
        header_filter: header_filter?,
        forward_authorization: rc.forward_authorization,
        forward_cookies: rc.forward_cookies,
        forward_set_cookie: rc.forward_set_cookie,
        auth,
        require_claims: rc
            .require_claims
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        forward_claims: forward_claims?,
        limits,
        cors: cors?,
        identity_headers: Arc::clone(&parts.identity_headers),
    })
}

/// Collects `items`, or `None` when any failed (each failure already recorded).
fn all<T>(items: impl Iterator<Item = Option<T>>) -> Option<Vec<T>> {
    let mut out = Vec::new();
    let mut failed = false;
    for item in items {
        match item {
            Some(item) => out.push(item),
            None => failed = true,
        }
    }
    (!failed).then_some(out)
}

fn forward_claims(rc: &RouteConfig, p: &mut Problems<'_>) -> Option<Vec<(HeaderName, String)>> {
    all(rc.forward_claims.iter().map(|(header, claim)| {
        let field = format!("forward_claims.{header}");
        match HeaderName::from_bytes(header.as_bytes()) {
            Ok(name)
                if headers::is_gateway_owned(&name)
                    || name == http::header::AUTHORIZATION
                    || name == http::header::COOKIE =>
            {
                p.push(
                    &field,
                    "is a header the gateway owns or strips; pick a header such as x-user-id",
                );
                None
            }
            Ok(name) => Some((name, claim.clone())),
            Err(_) => {
                p.push(&field, "is not a valid header name");
                None
            }
        }
    }))
}

fn inject_headers(
    rc: &RouteConfig,
    secrets: &dyn SecretSource,
    p: &mut Problems<'_>,
) -> Option<Vec<(HeaderName, HeaderValue)>> {
    all(rc.inject_headers.iter().map(|(name, template)| {
        let field = format!("inject_headers.{name}");
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            p.push(&field, "is not a valid header name");
            return None;
        };
        if headers::is_gateway_owned(&header) {
            p.push(&field, "is set by the gateway itself (framing, Host, X-Forwarded-*, request id) and cannot be injected");
            return None;
        }
        let value = resolve(p, &field, template, secrets)?;
        match HeaderValue::from_str(value.expose()) {
            Ok(mut value) => {
                value.set_sensitive(true);
                Some((header, value))
            }
            Err(_) => {
                p.push(&field, "resolves to a value that is not a valid header value (control characters or newline)");
                None
            }
        }
    }))
}

fn inject_query(
    rc: &RouteConfig,
    secrets: &dyn SecretSource,
    p: &mut Problems<'_>,
) -> Option<Vec<(String, Secret)>> {
    all(rc.inject_query.iter().map(|(name, template)| {
        let value = resolve(p, &format!("inject_query.{name}"), template, secrets)?;
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value.expose())
            .finish();
        Some((name.clone(), Secret::new(encoded)))
    }))
}

fn header_filter(
    filter: Option<&HeaderFilterConfig>,
    p: &mut Problems<'_>,
) -> Option<HeaderFilter> {
    let (names, allow) = match filter {
        None => return Some(HeaderFilter::All),
        Some(HeaderFilterConfig::Allow(names)) => (names, true),
        Some(HeaderFilterConfig::Deny(names)) => (names, false),
    };
    let set: HashSet<HeaderName> = all(names.iter().map(|name| {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| {
                p.push(
                    "request_headers",
                    format!("`{name}` is not a valid header name"),
                )
            })
            .ok()
    }))?
    .into_iter()
    .collect();
    Some(if allow {
        HeaderFilter::Allow(set)
    } else {
        HeaderFilter::Deny(set)
    })
}

/// `Allow` for a 405: the route's methods, comma-separated.
fn allow_header(methods: Option<&[Method]>) -> HeaderValue {
    let text = match methods {
        Some(methods) => methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}
