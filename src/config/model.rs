//! The configuration file's shape, exactly as a user writes it.
//!
//! Every struct rejects unknown keys, so a typo is an error rather than a
//! silently ignored setting. Cross-field rules live in `validate.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use bytesize::ByteSize;
use ipnet::IpNet;
use serde::Deserialize;

/// The whole `proxy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and defaults shared by every route.
    #[serde(default)]
    pub server: ServerConfig,
    /// Upstream routes, matched by longest whole-segment path prefix.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the gateway listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// CIDRs of reverse proxies whose `X-Forwarded-For` / `X-Request-Id` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Default request body cap; routes may override.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Default wait for an upstream's response headers (and idle gaps while streaming).
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Worker threads, each with its own event loop and upstream connection
    /// pool; default: one per CPU. Changing it needs a restart.
    #[serde(default)]
    pub workers: Option<NonZeroUsize>,
}

impl ServerConfig {
    /// The number of worker threads to run.
    pub fn workers(&self) -> usize {
        self.workers
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            trusted_proxies: Vec::new(),
            max_body: default_max_body(),
            timeout: default_timeout(),
            workers: None,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_max_body() -> ByteSize {
    ByteSize::mib(1)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name, used in logs and metrics.
    pub name: String,
    /// Path prefix, matched on whole segments (`/api/a` matches `/api/a/x`, not `/api/ab`).
    pub path: String,
    /// Base URL; the rest of the request path and the query are appended to it.
    pub upstream: String,
    /// Allowed methods; absent means all.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// `"none"` or the name of a verifier. Required, so that a public route is a decision.
    #[serde(default)]
    pub auth: Option<String>,
    /// Overrides `server.timeout`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Overrides `server.max_body`.
    #[serde(default)]
    pub max_body: Option<ByteSize>,
    /// Headers set on the upstream request (values may hold secret references).
    #[serde(default)]
    pub inject_headers: BTreeMap<String, String>,
    /// Query parameters set on the upstream request (values may hold secret references).
    #[serde(default)]
    pub inject_query: BTreeMap<String, String>,
    /// Narrow which client headers are forwarded.
    #[serde(default)]
    pub request_headers: Option<HeaderFilterConfig>,
    /// Forward the client's `Authorization` header (off: it is stripped).
    #[serde(default)]
    pub forward_authorization: bool,
    /// Forward the client's `Cookie` header (off: it is stripped).
    #[serde(default)]
    pub forward_cookies: bool,
    /// Pass the upstream's `Set-Cookie` to the client (off: dropped). For first-party backends.
    #[serde(default)]
    pub forward_set_cookie: bool,
}

/// `request_headers = { allow = [...] }` or `{ deny = [...] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum HeaderFilterConfig {
    /// Forward only these client headers (the gateway's own headers are still set).
    Allow(Vec<String>),
    /// Forward every client header except these.
    Deny(Vec<String>),
}
