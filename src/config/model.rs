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

pub use super::model_auth::*;
use super::values::{LimitKey, Rate};

/// The whole `proxy.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener and defaults shared by every route.
    #[serde(default)]
    pub server: ServerConfig,
    /// Serve a built frontend (SPA) from the same origin.
    #[serde(default, rename = "static")]
    pub static_files: Option<StaticConfig>,
    /// CORS for every route (routes may override with their own `cors`).
    #[serde(default)]
    pub cors: Option<CorsConfig>,
    /// Where rate-limit counters live.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// Named rate limits (`[limits.NAME]`), referenced by routes' `limits`.
    #[serde(default)]
    pub limits: BTreeMap<String, LimitConfig>,
    /// Named JWT verifiers (`[auth.NAME]`), referenced by routes' `auth`.
    #[serde(default)]
    pub auth: BTreeMap<String, VerifierConfig>,
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
    /// Reload when the config file changes (SIGHUP always reloads).
    #[serde(default = "default_true")]
    pub watch_config: bool,
    /// How long in-flight requests (long streams included) may run after
    /// SIGTERM / Ctrl-C before the remaining connections are closed.
    #[serde(default = "default_grace", with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Admin listener for `/healthz` and `/readyz`; off unless set. Bind it
    /// to loopback or a pod-internal port.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// Worker threads, each with its own event loop and upstream connection
    /// pool; default: one per CPU. Changing it needs a restart.
    #[serde(default)]
    pub workers: Option<NonZeroUsize>,
    /// The site's own origin (`https://app.example.com`) when it is served
    /// behind an ingress: for the CSRF rule, the only same-site origin.
    #[serde(default)]
    pub public_origin: Option<String>,
    /// More identity headers to strip from every client request, beside the
    /// built-in ones and every route's `forward_claims` targets.
    #[serde(default)]
    pub identity_headers: Vec<String>,
    /// How long a connection waiting for a request (a new one, or an idle
    /// keep-alive one) may take to deliver the whole request head before it
    /// is closed. Changing it needs a restart.
    #[serde(default = "default_header_read_timeout", with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Open connections at most, per worker; more are closed on accept.
    /// Default: three quarters of the file-descriptor limit, split between
    /// workers. Changing it needs a restart.
    #[serde(default)]
    pub max_connections: Option<NonZeroUsize>,
    /// Concurrent HTTP/2 streams per connection.
    #[serde(default = "default_h2_streams")]
    pub http2_max_concurrent_streams: u32,
    /// Request line plus all headers at most; beyond it 431.
    #[serde(default = "default_max_header_size")]
    pub max_header_size: ByteSize,
    /// Requests in flight at most in the process (a stream counts until it
    /// ends); beyond it 503 `overloaded` at once. Default: unlimited.
    #[serde(default)]
    pub max_in_flight: Option<NonZeroUsize>,
    /// Request headers at most (`Host` included); beyond it 431.
    #[serde(default = "default_max_headers")]
    pub max_headers: usize,
}

impl ServerConfig {
    /// Open connections allowed per worker: `max_connections`, else three
    /// quarters of the open-files limit split between the workers (the rest
    /// is left for upstream connections, logs and the admin listener).
    pub fn max_connections(&self) -> usize {
        if let Some(max) = self.max_connections {
            return max.get();
        }
        let files = open_files_limit().unwrap_or(1024);
        (files / 4 * 3 / self.workers()).max(64)
    }

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
            public_origin: None,
            identity_headers: Vec::new(),
            header_read_timeout: default_header_read_timeout(),
            max_connections: None,
            http2_max_concurrent_streams: default_h2_streams(),
            max_header_size: default_max_header_size(),
            max_headers: default_max_headers(),
            max_in_flight: None,
            admin_listen: None,
            shutdown_grace: default_grace(),
            watch_config: true,
        }
    }
}

fn default_header_read_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_h2_streams() -> u32 {
    100
}

fn default_max_header_size() -> ByteSize {
    ByteSize::kib(32)
}

fn default_max_headers() -> usize {
    100
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_max_body() -> ByteSize {
    ByteSize::mib(1)
}

fn default_true() -> bool {
    true
}

fn default_grace() -> Duration {
    Duration::from_secs(30)
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
    /// Claims a verified token must carry: string equal, or array / space-separated contains.
    #[serde(default)]
    pub require_claims: BTreeMap<String, String>,
    /// Upstream header -> claim name, set from the verified token (client copies stripped).
    #[serde(default)]
    pub forward_claims: BTreeMap<String, String>,
    /// Names of `[limits.NAME]` that apply; every one must pass.
    #[serde(default)]
    pub limits: Vec<String>,
    /// Replaces the global `[cors]` for this route.
    #[serde(default)]
    pub cors: Option<CorsConfig>,
}

/// `[static]`: a built single-page app served from `/`; routes always win.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// The build output directory (relative to the config file's directory).
    pub dir: std::path::PathBuf,
    /// Answer unknown page paths (no file extension) with `index.html`.
    #[serde(default)]
    pub spa_fallback: bool,
}

/// `[cors]`: which other origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`), one-label wildcards
    /// (`https://*.preview.example.com`), `"null"` literally, or `"*"`.
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Let the browser send cookies / read responses of credentialed requests.
    #[serde(default)]
    pub allow_credentials: bool,
    /// Request headers a page may send (answered in preflight).
    #[serde(default = "default_cors_headers")]
    pub allow_headers: Vec<String>,
    /// Response headers a page may read.
    #[serde(default = "default_expose_headers")]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight answer.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

fn default_cors_headers() -> Vec<String> {
    vec!["authorization".into(), "content-type".into()]
}

fn default_expose_headers() -> Vec<String> {
    vec!["x-request-id".into()]
}

fn default_max_age() -> Duration {
    Duration::from_secs(600)
}

/// `[rate_limit]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `"memory"` (per process) or a `redis://` URL shared by replicas.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// When Redis cannot be reached: `"deny"` (429... 503) or `"allow"`.
    #[serde(default)]
    pub on_backend_error: OnBackendError,
    /// Memory backend: most keys tracked per limit before new keys share one bucket.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            backend: default_backend(),
            on_backend_error: OnBackendError::default(),
            max_keys: default_max_keys(),
        }
    }
}

fn default_backend() -> String {
    "memory".to_owned()
}

fn default_max_keys() -> usize {
    100_000
}

/// What a limit does when its backend fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBackendError {
    /// Refuse the request (503 `rate_limit_unavailable`).
    #[default]
    Deny,
    /// Let the request through.
    Allow,
}

/// `[limits.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// `claim:NAME`, `ip`, `header:NAME` or `global`.
    pub key: LimitKey,
    /// `N/s`, `N/min`, `N/hour` or `N/day`.
    pub rate: Rate,
    /// Requests allowed at once before the rate applies.
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_burst() -> u32 {
    1
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
