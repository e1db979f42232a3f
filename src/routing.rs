//! Path -> route: whole-segment prefix match, longest prefix wins.
//!
//! Matching runs on the path after [`crate::proxy::path::normalize`], so an
//! encoded spelling of a route's prefix (`/api/%6Fpenai`) routes the same as the
//! plain one and dot-segments never reach this point.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use url::Url;

use crate::auth::Verifier;
use crate::config::Secret;
use crate::cors::Cors;
use crate::rate_limit::Limit;

/// One upstream route, fully validated and with its secrets resolved.
#[derive(Debug)]
pub struct Route {
    /// Unique name from the config; the label used in logs and metrics.
    pub name: Arc<str>,
    /// The prefix this route owns, without a trailing slash (`/` owns everything).
    pub path: String,
    /// The upstream base URL (scheme, host, port); its path is in `upstream_path`.
    pub upstream: Url,
    /// The upstream base path without a trailing slash (`""` for the root).
    pub upstream_path: String,
    /// Allowed methods; `None` allows all.
    pub methods: Option<Vec<Method>>,
    /// The `Allow` header value for a 405 answer.
    pub allow: HeaderValue,
    /// Wait for the upstream's response headers, and longest idle gap while streaming.
    pub timeout: Duration,
    /// Request body cap in bytes.
    pub max_body: u64,
    /// Headers the gateway sets on the upstream request (values marked sensitive).
    pub inject_headers: Vec<(HeaderName, HeaderValue)>,
    /// Query parameters the gateway sets: (name, already percent-encoded `name=value`).
    pub inject_query: Vec<(String, Secret)>,
    /// Which client headers may be forwarded.
    pub header_filter: HeaderFilter,
    /// Forward the client's `Authorization`.
    pub forward_authorization: bool,
    /// Forward the client's `Cookie`.
    pub forward_cookies: bool,
    /// Pass the upstream's `Set-Cookie` back.
    pub forward_set_cookie: bool,
    /// The verifier, or `None` for a public route.
    pub auth: Option<Arc<Verifier>>,
    /// Claims a token must carry on this route.
    pub require_claims: Vec<(String, String)>,
    /// Upstream headers set from verified claims: (header, claim).
    pub forward_claims: Vec<(HeaderName, String)>,
    /// Rate limits; every one must pass.
    pub limits: Vec<Arc<Limit>>,
    /// The CORS policy (the route's own, else the global one).
    pub cors: Option<Arc<Cors>>,
    /// Identity headers configured anywhere (every route's `forward_claims`
    /// targets, `[server] identity_headers`): never taken from a client.
    pub identity_headers: Arc<[HeaderName]>,
}

impl Route {
    /// Whether `method` may be used on this route.
    pub fn allows(&self, method: &Method) -> bool {
        self.methods.as_ref().is_none_or(|m| m.contains(method))
    }

    /// Whether a feature of this route needs the request body whole
    /// (otherwise it streams to the upstream untouched).
    pub fn needs_body(&self) -> bool {
        self.auth.as_ref().is_some_and(|v| v.needs_body())
    }
}

/// The route's narrowing of forwarded client headers.
#[derive(Debug, Default)]
pub enum HeaderFilter {
    /// Every client header that survives the gateway's own hygiene.
    #[default]
    All,
    /// Only these.
    Allow(HashSet<HeaderName>),
    /// All but these.
    Deny(HashSet<HeaderName>),
}

impl HeaderFilter {
    /// Whether a client header named `name` may be forwarded.
    pub fn permits(&self, name: &HeaderName) -> bool {
        match self {
            HeaderFilter::All => true,
            HeaderFilter::Allow(set) => set.contains(name),
            HeaderFilter::Deny(set) => !set.contains(name),
        }
    }
}

/// The routes of one config generation, ordered for longest-prefix matching.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// Builds the table; the order of `routes` does not matter.
    pub fn new(mut routes: Vec<Arc<Route>>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
        Self { routes }
    }

    /// The route owning `path` and the remainder after its prefix (`""` or starting with `/`).
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Arc<Route>, &'p str)> {
        self.routes
            .iter()
            .find_map(|route| strip_segment_prefix(path, &route.path).map(|rest| (route, rest)))
    }

    /// All routes, longest prefix first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.routes.iter()
    }
}

/// `path` minus `prefix` when `prefix` covers whole segments of it.
fn strip_segment_prefix<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    if prefix == "/" {
        return path.starts_with('/').then_some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_segment_prefix() {
        assert_eq!(strip_segment_prefix("/api/a", "/api/a"), Some(""));
        assert_eq!(strip_segment_prefix("/api/a/", "/api/a"), Some("/"));
        assert_eq!(strip_segment_prefix("/api/a/x/y", "/api/a"), Some("/x/y"));
        assert_eq!(strip_segment_prefix("/api/ab", "/api/a"), None);
        assert_eq!(strip_segment_prefix("/apix", "/api"), None);
        assert_eq!(strip_segment_prefix("/anything", "/"), Some("/anything"));
    }
}
