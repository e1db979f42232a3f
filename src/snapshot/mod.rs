//! Everything built from one config generation, shared as `Arc` and swapped
//! whole on reload: a request runs start to finish on the snapshot it began
//! with.
//!
//! Building is here, not in `config/`: validate the data, then build the
//! runtime objects from it (verifiers, limits, routes, clients), each
//! builder recording what only shows once secrets are resolved.

mod limits;
mod routes;
mod verifiers;

use std::sync::Arc;

use arc_swap::ArcSwap;
use ipnet::IpNet;

use crate::auth::Verifier;
use crate::config::model::VerifierConfig;
use crate::config::validate;
use crate::config::{Config, ConfigError, SecretSource};
use crate::count::{Count, Counted};
use crate::deliveries::DeliveryStore;
use crate::rate_limit::Limit;
use crate::rate_limit::redis::RedisBackend;
use crate::routing::RouteTable;

/// Verifiers and limits of the previous generation that a reload may keep.
trait Reuse {
    /// The verifier named `name`, if its definition was `config`.
    fn verifier(&self, name: &str, config: &VerifierConfig) -> Option<Arc<Verifier>>;
    /// The limit named `name`, if its definition and `[rate_limit]` match `config`.
    fn limit(&self, name: &str, config: &Config) -> Option<Arc<Limit>>;
    /// The webhook delivery store, if `[rate_limit]` (its backend) is unchanged.
    fn deliveries(&self, config: &Config) -> Option<Arc<DeliveryStore>>;
}

/// Nothing to reuse (first start, `check`).
struct Fresh;

impl Reuse for Fresh {
    fn verifier(&self, _: &str, _: &VerifierConfig) -> Option<Arc<Verifier>> {
        None
    }
    fn limit(&self, _: &str, _: &Config) -> Option<Arc<Limit>> {
        None
    }
    fn deliveries(&self, _: &Config) -> Option<Arc<DeliveryStore>> {
        None
    }
}

/// One config generation, ready to serve.
#[derive(Debug)]
pub struct Snapshot {
    /// The config it was built from (secrets unresolved).
    pub config: Config,
    /// Path -> route.
    pub routes: RouteTable,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The built frontend, if `[static]` is set.
    pub static_files: Option<crate::static_files::StaticFiles>,
    /// The global CORS policy (for responses that match no route).
    pub cors: Option<Arc<crate::cors::Cors>>,
    /// `[server] public_origin`, as an `Origin` header writes it.
    pub public_origin: Option<String>,
    /// One upstream client (connection pool) per worker thread, so a
    /// worker's requests use connections driven by its own event loop.
    clients: Vec<reqwest::Client>,
    /// Accepted webhook deliveries (kept across reloads with the backend).
    deliveries: Arc<DeliveryStore>,
}

/// The delivery store `[rate_limit]` asks for: Redis when the backend is,
/// else memory. A bad Redis URL is reported by the limits' builder.
fn delivery_store(config: &Config) -> DeliveryStore {
    let backend = &config.rate_limit.backend;
    if (backend.starts_with("redis://") || backend.starts_with("rediss://"))
        && let Ok(redis) = RedisBackend::new(backend)
    {
        return DeliveryStore::Redis {
            backend: Arc::new(redis),
            on_error: config.rate_limit.on_backend_error,
        };
    }
    DeliveryStore::memory()
}

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be created (TLS setup).
    #[error("cannot create the upstream HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl Snapshot {
    /// Validates `config`, resolves its secrets and builds the runtime parts.
    pub fn build(config: Config, secrets: &dyn SecretSource) -> Result<Self, SnapshotError> {
        Self::build_with(config, secrets, &Fresh)
    }

    /// Like [`Snapshot::build`], keeping what `previous` can lend: JWKS
    /// verifiers and rate limits whose definitions did not change.
    pub fn rebuild(
        config: Config,
        secrets: &dyn SecretSource,
        previous: &Snapshot,
    ) -> Result<Self, SnapshotError> {
        Self::build_with(config, secrets, previous)
    }

    fn build_with(
        config: Config,
        secrets: &dyn SecretSource,
        reuse: &dyn Reuse,
    ) -> Result<Self, SnapshotError> {
        let mut problems = validate::check(&config);
        let deliveries = reuse
            .deliveries(&config)
            .unwrap_or_else(|| Arc::new(delivery_store(&config)));
        let verifiers = verifiers::build(
            &config.auth,
            secrets,
            &mut problems,
            &|name, vc| reuse.verifier(name, vc),
            &deliveries,
        );
        let limits = limits::build(&config, &mut problems, &|name| reuse.limit(name, &config));
        let cors = config.cors.as_ref().and_then(|c| {
            routes::cors_policy(c, &mut validate::Problems::under("cors", &mut problems), "")
        });
        if let Some(files) = &config.static_files
            && !secrets.resolve_path(&files.dir).is_dir()
        {
            problems.push(validate::Problem::new(
                "static.dir",
                "is not a directory; point it at your frontend's build output (e.g. \"./dist\", relative to this file)",
            ));
        }
        let parts = routes::Parts {
            verifiers: &verifiers,
            limits: &limits,
            cors: cors.clone(),
            identity_headers: routes::identity_headers(&config),
        };
        let routes = routes::build(&config, secrets, &parts, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems).into());
        }
        let clients = (0..config.server.workers())
            .map(|_| crate::proxy::client())
            .collect::<Result<_, _>>()
            .map_err(SnapshotError::Client)?;
        let prefixes: Vec<&str> = routes.iter().map(|r| r.path.as_str()).collect();
        let static_files = config.static_files.as_ref().map(|s| {
            crate::static_files::StaticFiles::new(
                secrets.resolve_path(&s.dir),
                s.spa_fallback,
                &prefixes,
            )
        });
        Ok(Self {
            public_origin: config
                .server
                .public_origin
                .as_deref()
                .and_then(validate::public_origin),
            static_files,
            cors,
            trusted_proxies: config.server.trusted_proxies.clone(),
            routes: RouteTable::new(routes.into_iter().map(Arc::new).collect()),
            clients,
            deliveries,
            config,
        })
    }

    /// Starts background work (JWKS fetching) on the current runtime.
    pub fn start_background(&self) {
        for verifier in self.verifiers() {
            verifier.start();
        }
        for limit in self.limits() {
            limit.start();
        }
    }

    /// The limits the routes use, each once.
    pub fn limits(&self) -> impl Iterator<Item = &Arc<Limit>> {
        unique(self.routes.iter().flat_map(|r| r.limits.iter()))
    }

    /// Why this snapshot cannot serve every route yet (empty when ready).
    pub fn not_ready(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self.verifiers().filter_map(|v| v.not_ready()).collect();
        if self.limits().any(|l| !l.ready()) {
            reasons.push("the rate-limit Redis is not connected yet".to_owned());
        }
        reasons
    }

    /// The verifiers the routes use, each once.
    pub fn verifiers(&self) -> impl Iterator<Item = &Arc<Verifier>> {
        unique(self.routes.iter().filter_map(|r| r.auth.as_ref()))
    }

    /// The upstream client of worker `worker`.
    pub fn client(&self, worker: usize) -> &reqwest::Client {
        &self.clients[worker % self.clients.len()]
    }
}

impl Reuse for Snapshot {
    fn verifier(&self, name: &str, config: &VerifierConfig) -> Option<Arc<Verifier>> {
        (self.config.auth.get(name) == Some(config))
            .then(|| self.verifiers().find(|v| &*v.name == name).cloned())
            .flatten()
    }

    fn deliveries(&self, config: &Config) -> Option<Arc<DeliveryStore>> {
        // The same backend keeps its deliveries; a Redis store also carries
        // its `on_backend_error`, the memory store nothing else.
        let (old, new) = (&self.config.rate_limit, &config.rate_limit);
        let same = old.backend == new.backend
            && (old.backend == "memory" || old.on_backend_error == new.on_backend_error);
        same.then(|| Arc::clone(&self.deliveries))
    }

    fn limit(&self, name: &str, config: &Config) -> Option<Arc<Limit>> {
        let same = self.config.rate_limit == config.rate_limit
            && self.config.limits.get(name) == config.limits.get(name);
        same.then(|| self.limits().find(|l| &*l.name == name).cloned())
            .flatten()
    }
}

/// Each `Arc` once, in first-seen order.
fn unique<'a, T>(items: impl Iterator<Item = &'a Arc<T>>) -> std::vec::IntoIter<&'a Arc<T>> {
    let mut seen: Vec<&Arc<T>> = Vec::new();
    for item in items {
        if !seen.iter().any(|s| Arc::ptr_eq(s, item)) {
            seen.push(item);
        }
    }
    seen.into_iter()
}

/// The gateway's shared state: the current snapshot, swappable.
#[derive(Debug, Clone)]
pub struct Gateway {
    current: Arc<ArcSwap<Snapshot>>,
    worker: usize,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Requests in flight in this process (until their response body ends).
    in_flight: Count,
}

impl Gateway {
    /// A gateway serving `snapshot`; starts its background work (call
    /// inside a runtime).
    pub fn new(snapshot: Snapshot) -> Self {
        snapshot.start_background();
        Self {
            current: Arc::new(ArcSwap::from_pointee(snapshot)),
            worker: 0,
            stopping: Arc::default(),
            in_flight: Count::default(),
        }
    }

    /// The same gateway as seen by worker thread `index`.
    pub fn for_worker(&self, index: usize) -> Self {
        Self {
            current: Arc::clone(&self.current),
            worker: index,
            stopping: Arc::clone(&self.stopping),
            in_flight: self.in_flight.clone(),
        }
    }

    /// Counts a new request in flight, or `None` when `limit` are already
    /// (`[server] max_in_flight`; without one, nothing is counted).
    pub(crate) fn start_request(&self, limit: usize) -> Option<Counted> {
        self.in_flight.try_take(limit)
    }

    /// Marks the gateway as shutting down: `/readyz` answers 503 from now on.
    pub fn begin_shutdown(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Why the gateway should not receive traffic now (empty when ready).
    pub fn not_ready(&self) -> Vec<String> {
        if self.stopping.load(std::sync::atomic::Ordering::Acquire) {
            return vec!["shutting down".to_owned()];
        }
        self.snapshot().not_ready()
    }

    /// The index of the worker thread this handle belongs to.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The snapshot new requests use.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces the snapshot; requests in flight keep the one they started with.
    pub fn swap(&self, snapshot: Snapshot) {
        snapshot.start_background();
        self.current.store(Arc::new(snapshot));
    }
}
