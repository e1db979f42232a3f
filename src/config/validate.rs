//! Second validation phase: cross-field rules, and the conversion of the
//! user's config into the typed, secret-resolved routes a snapshot serves.
//!
//! Every problem is collected (not just the first), each with the key it is
//! about and a fix. Nothing here panics: a bad reload must not take the
//! gateway down. Messages name secret references, never secret values.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method};
use url::Url;

use super::model::{Config, HeaderFilterConfig, RouteConfig, VerifierConfig};
use super::secret::{self, Secret, SecretSource};
use crate::auth::Verifier;
use crate::cors::Cors;
use crate::proxy::headers;
use crate::rate_limit::Limit;
use crate::routing::{HeaderFilter, Route};

/// One thing wrong with a config: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `routes[0] (openai).auth`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Whether `name` is usable as a route, verifier or limit name: 1-64
/// letters, digits, `-` or `_` (names label logs and metrics).
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Verifiers and limits of the previous generation that a reload may keep.
pub trait Reuse {
    /// The verifier named `name`, if its definition was `config`.
    fn verifier(&self, name: &str, config: &VerifierConfig) -> Option<Arc<Verifier>>;
    /// The limit named `name`, if its definition and `[rate_limit]` match `config`.
    fn limit(&self, name: &str, config: &Config) -> Option<Arc<Limit>>;
}

/// Nothing to reuse (first start, `check`).
pub struct Fresh;

impl Reuse for Fresh {
    fn verifier(&self, _: &str, _: &VerifierConfig) -> Option<Arc<Verifier>> {
        None
    }
    fn limit(&self, _: &str, _: &Config) -> Option<Arc<Limit>> {
        None
    }
}

/// Checks `config` and builds its routes, or returns every problem found.
pub fn routes(
    config: &Config,
    secrets: &dyn SecretSource,
    reuse: &dyn Reuse,
) -> Result<Vec<Route>, Vec<Problem>> {
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
    if config.routes.is_empty() {
        problems.push(Problem::new(
            "routes",
            "no [[routes]] are defined; add one with name, path, upstream and auth",
        ));
    }

    let verifiers = super::verifiers::build(&config.auth, secrets, &mut problems, &|name, vc| {
        reuse.verifier(name, vc)
    });
    let limits = super::limits::build(config, &mut problems, &|name| reuse.limit(name, config));
    let global_cors = config
        .cors
        .as_ref()
        .and_then(|c| cors_policy(c, "cors", &mut problems));
    if let Some(files) = &config.static_files
        && !secrets.resolve_path(&files.dir).is_dir()
    {
        problems.push(Problem::new(
            "static.dir",
            "is not a directory; point it at your frontend's build output (e.g. \"./dist\", relative to this file)",
        ));
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut paths: HashMap<&str, usize> = HashMap::new();
    let mut routes = Vec::with_capacity(config.routes.len());
    for (index, rc) in config.routes.iter().enumerate() {
        let mut check = RouteCheck {
            key: route_key(index, rc),
            problems: &mut problems,
        };
        if let Some(first) = names.insert(&rc.name, index) {
            check.push(
                "name",
                format!("duplicates routes[{first}]; route names must be unique"),
            );
        }
        if let Some(first) = paths.insert(&rc.path, index) {
            check.push(
                "path",
                format!("duplicates routes[{first}]; each path prefix belongs to one route"),
            );
        }
        let cors = match &rc.cors {
            Some(own) => cors_policy(own, &format!("{}.cors", check.key), check.problems),
            None => global_cors.clone(),
        };
        if let Some(mut route) = check.route(config, rc, secrets, &verifiers, &limits) {
            route.cors = cors;
            routes.push(route);
        }
    }
    if problems.is_empty() {
        Ok(routes)
    } else {
        Err(problems)
    }
}

/// A CORS policy, or its problems recorded under `key`.
fn cors_policy(
    config: &super::model::CorsConfig,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<Arc<Cors>> {
    match Cors::new(config) {
        Ok(cors) => Some(Arc::new(cors)),
        Err(found) => {
            problems.extend(
                found
                    .into_iter()
                    .map(|(field, message)| Problem::new(format!("{key}.{field}"), message)),
            );
            None
        }
    }
}

fn route_key(index: usize, rc: &RouteConfig) -> String {
    if rc.name.is_empty() {
        format!("routes[{index}]")
    } else {
        format!("routes[{index}] ({})", rc.name)
    }
}

/// Collects the problems of one route under its key.
struct RouteCheck<'a> {
    key: String,
    problems: &'a mut Vec<Problem>,
}

impl RouteCheck<'_> {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(format!("{}.{field}", self.key), message));
    }

    /// Builds the route, recording each problem; `None` if there was any.
    fn route(
        &mut self,
        config: &Config,
        rc: &RouteConfig,
        secrets: &dyn SecretSource,
        verifiers: &BTreeMap<String, Arc<Verifier>>,
        limits: &BTreeMap<String, Arc<Limit>>,
    ) -> Option<Route> {
        let before = self.problems.len();
        self.name(&rc.name);
        self.path(&rc.path);
        let auth = self.auth(rc, config, verifiers);
        let forward_claims = self.forward_claims(rc);
        let route_limits = self.limits(rc, config, limits);
        let upstream = self.upstream(&rc.upstream);
        let methods = self.methods(rc.methods.as_deref());
        let timeout = rc.timeout.unwrap_or(config.server.timeout);
        if timeout.is_zero() {
            self.push("timeout", "must be more than 0, e.g. \"30s\"");
        }
        let max_body = rc.max_body.unwrap_or(config.server.max_body).as_u64();
        if max_body == 0 {
            self.push("max_body", "must be more than 0, e.g. \"1MiB\"");
        }
        let inject_headers = self.inject_headers(rc, secrets);
        let inject_query = self.inject_query(rc, secrets);
        let header_filter = self.header_filter(rc.request_headers.as_ref());
        if self.problems.len() != before {
            return None;
        }
        let (upstream, upstream_path) = upstream?;
        let allow = allow_header(methods.as_deref());
        Some(Route {
            name: Arc::from(rc.name.as_str()),
            path: rc.path.clone(),
            upstream,
            upstream_path,
            methods,
            allow,
            timeout,
            max_body,
            inject_headers,
            inject_query,
            header_filter,
            forward_authorization: rc.forward_authorization,
            forward_cookies: rc.forward_cookies,
            forward_set_cookie: rc.forward_set_cookie,
            auth,
            require_claims: rc
                .require_claims
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            forward_claims,
            limits: route_limits,
            cors: None,
        })
    }

    fn limits(
        &mut self,
        rc: &RouteConfig,
        config: &Config,
        limits: &BTreeMap<String, Arc<Limit>>,
    ) -> Vec<Arc<Limit>> {
        let mut out = Vec::with_capacity(rc.limits.len());
        for name in &rc.limits {
            let Some(definition) = config.limits.get(name) else {
                let known: Vec<&str> = config.limits.keys().map(String::as_str).collect();
                self.push(
                    "limits",
                    format!(
                        "no limit named `{name}`; define [limits.{name}] (defined: {})",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if definition.key.starts_with("claim:") && rc.auth.as_deref() == Some("none") {
                self.push(
                    "limits",
                    format!("`{name}` is keyed by a claim, but this route has auth = \"none\": there is no token to read it from"),
                );
            }
            if let Some(limit) = limits.get(name) {
                out.push(Arc::clone(limit));
            }
        }
        out
    }

    fn name(&mut self, name: &str) {
        if !is_name(name) {
            self.push(
                "name",
                "must be 1-64 characters of letters, digits, '-' or '_' (it labels logs and metrics)",
            );
        }
    }

    fn path(&mut self, path: &str) {
        let fix = "write a plain prefix such as \"/api/openai\"";
        if !path.starts_with('/') {
            self.push("path", format!("must start with '/'; {fix}"));
        } else if path.len() > 1 && path.ends_with('/') {
            self.push(
                "path",
                format!("must not end with '/' (prefixes match whole segments); {fix}"),
            );
        } else if path.contains(['?', '#', '%', '\\', '*']) || path.contains("//") {
            self.push(
                "path",
                format!("must not contain '?', '#', '%', '\\', '*' or '//'; {fix}"),
            );
        } else if path.split('/').any(|s| s == "." || s == "..") {
            self.push(
                "path",
                format!("must not contain '.' or '..' segments; {fix}"),
            );
        }
    }

    fn auth(
        &mut self,
        rc: &RouteConfig,
        config: &Config,
        verifiers: &BTreeMap<String, Arc<Verifier>>,
    ) -> Option<Arc<Verifier>> {
        match rc.auth.as_deref() {
            None => {
                self.push(
                    "auth",
                    "is required on every route: write auth = \"none\" for a public route, or the name of an [auth.NAME] verifier",
                );
                None
            }
            Some("none") => {
                if !rc.require_claims.is_empty() || !rc.forward_claims.is_empty() {
                    self.push("auth", "is \"none\", so require_claims and forward_claims have no token to read; name a verifier");
                }
                None
            }
            Some(name) => {
                let found = verifiers.get(name).cloned();
                if found.is_none() && !config.auth.contains_key(name) {
                    let known: Vec<&str> = config.auth.keys().map(String::as_str).collect();
                    self.push(
                        "auth",
                        format!("no verifier named `{name}`; define [auth.{name}] or use one of: none, {}", known.join(", ")),
                    );
                }
                found
            }
        }
    }

    fn forward_claims(&mut self, rc: &RouteConfig) -> Vec<(HeaderName, String)> {
        let mut out = Vec::with_capacity(rc.forward_claims.len());
        for (header, claim) in &rc.forward_claims {
            let field = format!("forward_claims.{header}");
            match HeaderName::from_bytes(header.as_bytes()) {
                Ok(name)
                    if headers::is_gateway_owned(&name)
                        || name == http::header::AUTHORIZATION
                        || name == http::header::COOKIE =>
                {
                    self.push(
                        &field,
                        "is a header the gateway owns or strips; pick a header such as x-user-id",
                    )
                }
                Ok(name) if claim.is_empty() => {
                    let _ = name;
                    self.push(&field, "names no claim; write e.g. \"sub\"")
                }
                Ok(name) => out.push((name, claim.clone())),
                Err(_) => self.push(&field, "is not a valid header name"),
            }
        }
        out
    }

    fn upstream(&mut self, raw: &str) -> Option<(Url, String)> {
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(e) => {
                self.push(
                    "upstream",
                    format!("is not a URL ({e}); write e.g. \"https://api.example.com/v1\""),
                );
                return None;
            }
        };
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            self.push("upstream", "must be an http:// or https:// URL with a host");
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() {
            self.push(
                "upstream",
                "must not carry user:password; inject credentials with inject_headers",
            );
            return None;
        }
        if url.query().is_some() || url.fragment().is_some() {
            self.push(
                "upstream",
                "must not have a query or fragment; use inject_query for fixed parameters",
            );
            return None;
        }
        let base_path = url.path().trim_end_matches('/').to_owned();
        Some((url, base_path))
    }

    fn methods(&mut self, methods: Option<&[String]>) -> Option<Vec<Method>> {
        let methods = methods?;
        if methods.is_empty() {
            self.push(
                "methods",
                "is empty, so nothing could pass; remove the key to allow all methods",
            );
        }
        let mut parsed = Vec::with_capacity(methods.len());
        for m in methods {
            match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                Ok(method) if !parsed.contains(&method) => parsed.push(method),
                Ok(_) => {}
                Err(_) => self.push(
                    "methods",
                    format!("`{m}` is not an HTTP method; write e.g. \"GET\""),
                ),
            }
        }
        Some(parsed)
    }

    fn inject_headers(
        &mut self,
        rc: &RouteConfig,
        secrets: &dyn SecretSource,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::with_capacity(rc.inject_headers.len());
        for (name, template) in &rc.inject_headers {
            let field = format!("inject_headers.{name}");
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                self.push(&field, "is not a valid header name");
                continue;
            };
            if headers::is_gateway_owned(&header) {
                self.push(&field, "is set by the gateway itself (framing, Host, X-Forwarded-*, request id) and cannot be injected");
                continue;
            }
            let Some(value) = self.secret(&field, template, secrets) else {
                continue;
            };
            match HeaderValue::from_str(value.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    out.push((header, value));
                }
                Err(_) => self.push(&field, "resolves to a value that is not a valid header value (control characters or newline)"),
            }
        }
        out
    }

    fn inject_query(
        &mut self,
        rc: &RouteConfig,
        secrets: &dyn SecretSource,
    ) -> Vec<(String, Secret)> {
        let mut out = Vec::with_capacity(rc.inject_query.len());
        for (name, template) in &rc.inject_query {
            let field = format!("inject_query.{name}");
            if name.is_empty() {
                self.push(&field, "parameter name must not be empty");
                continue;
            }
            let Some(value) = self.secret(&field, template, secrets) else {
                continue;
            };
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(name, value.expose())
                .finish();
            out.push((name.clone(), Secret::new(encoded)));
        }
        out
    }

    fn secret(
        &mut self,
        field: &str,
        template: &str,
        secrets: &dyn SecretSource,
    ) -> Option<Secret> {
        match secret::resolve(template, secrets) {
            Ok(value) => Some(value),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    fn header_filter(&mut self, filter: Option<&HeaderFilterConfig>) -> HeaderFilter {
        let (names, allow) = match filter {
            None => return HeaderFilter::All,
            Some(HeaderFilterConfig::Allow(names)) => (names, true),
            Some(HeaderFilterConfig::Deny(names)) => (names, false),
        };
        let mut set = HashSet::with_capacity(names.len());
        for name in names {
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(header) => {
                    set.insert(header);
                }
                Err(_) => self.push(
                    "request_headers",
                    format!("`{name}` is not a valid header name"),
                ),
            }
        }
        if allow {
            HeaderFilter::Allow(set)
        } else {
            HeaderFilter::Deny(set)
        }
    }
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
