//! portcullis: a secure API gateway and backend-for-frontend sidecar.
//!
//! A browser frontend calls same-origin `/api/...`; portcullis matches a
//! route from `config/proxy.toml`, checks the request, injects the API key
//! that must never reach the browser, and streams the exchange to and from
//! the upstream.
//!
//! # Layout
//!
//! - [`cli`]: `run`, `check`, `token`, `probe`; `main.rs` only parses and calls in.
//! - [`config`]: load (figment: TOML + `PORTCULLIS_` env), model (serde
//!   structs rejecting unknown keys), secret references (`${env:..}`,
//!   `${file:..}`), validation (every problem with its key and a fix).
//! - [`snapshot`]: everything built from one config generation (route table,
//!   resolved secrets, HTTP client), shared as `Arc` and swappable.
//! - [`reload`]: hot reload (SIGHUP, file watch): load -> validate -> build -> swap.
//! - [`server`]: serve an already-bound listener (thread-per-core workers), graceful shutdown.
//! - [`app`]: the middleware stack of the main listener, in one place.
//! - [`gateway`]: the request path, phase by phase (see there).
//! - [`cors`]: origin matching, preflight answers, CORS response headers.
//! - [`context`]: request id, peer, client address.
//! - [`routing`]: path -> route, whole-segment prefix, longest wins.
//! - [`auth`]: JWT verifiers, JWKS, token sources, CSRF, claim rules.
//! - [`rate_limit`]: named limits (GCRA), memory and Redis stores.
//! - [`proxy`]: upstream client, path safety, header hygiene, streaming bodies.
//! - [`task`]: background tasks that die with their owner.
//! - [`static_files`]: an optional built SPA on the same origin.
//! - [`error`]: the one error type and its JSON response.
//! - [`observability`]: tracing setup, access log, Prometheus metrics,
//!   the admin listener (`/healthz`, `/readyz`, `/metrics`).
//!
//! # The request path
//!
//! ```text
//! accept -> request id -> framing check -> path safety -> route match
//!        (no route: static files, else 404) -> CORS preflight -> method -> body limit
//!        -> rate limits (ip, header) -> authenticate (JWT, CSRF, claims)
//!        -> rate limits (claim, global) -> strip, then set headers
//!        -> forward upstream (streaming) -> filter response headers
//!        -> CORS + RateLimit headers -> access log and metrics when the body ends
//! ```

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod cors;
pub mod error;
pub mod gateway;
pub mod observability;
pub mod proxy;
pub mod rate_limit;
pub mod reload;
pub mod routing;
pub mod server;
pub mod snapshot;
pub mod static_files;
pub mod task;
