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
//! - [`config`]: configuration as data. Load (figment: TOML + `PORTCULLIS_`
//!   env), model (serde structs rejecting unknown keys), typed values (rates,
//!   limit keys, token sources, algorithms: bad values are load errors with
//!   their key path), secret references (`${env:..}`, `${file:..}`),
//!   validation (cross-field rules, every problem with its key and a fix).
//!   Imports no runtime module.
//! - [`snapshot`]: builds everything of one config generation from a
//!   validated config (verifiers, limits, routes, CORS policies, HTTP
//!   clients), shared as `Arc` and swapped whole on reload.
//! - `reload`: hot reload (SIGHUP, file watch): load -> validate -> build -> swap.
//! - [`server`]: serve an already-bound listener (thread-per-core workers), graceful shutdown.
//! - `app`: the router of the main listener, in one place.
//! - `gateway`: the request path, one file per phase over one `Exchange` (see below).
//! - `routing`: path -> route, whole-segment prefix, longest wins.
//! - [`auth`]: verifiers of several kinds behind one interface: JWT (JWKS,
//!   token sources, CSRF, claim rules) and webhook signatures (Stripe,
//!   GitHub, Standard Webhooks, Slack, HMAC), which need the raw body.
//! - [`rate_limit`]: named limits (GCRA), memory and Redis stores.
//! - [`deliveries`]: accepted webhook deliveries (memory or Redis), so retries are not forwarded twice.
//! - `cors`: origin matching, preflight answers, CORS response headers.
//! - `proxy`: the tools the phases forward with: upstream client, path
//!   safety, header hygiene (strip, then set), streaming body wrappers.
//! - `context`: request id, peer, client address.
//! - `count`: places in a limit (connections, requests in flight), given back on drop.
//! - `error`: the one error type, and the one place it becomes a JSON response.
//! - `static_files`: an optional built SPA on the same origin.
//! - `task`: background tasks that die with their owner.
//! - [`observability`]: tracing setup, access log, Prometheus metrics,
//!   the admin listener (`/healthz`, `/readyz`, `/metrics`).
//!
//! # The request path
//!
//! ```text
//! accept -> Exchange (request id, peer, snapshot)
//!   admit            framing, path safety, route match (no route: static files, else 404),
//!                    CORS preflight, method, declared body length
//!   [span: request_id, route]
//!   limits           keyed by ip / header
//!   authenticate     the route's verifier (body read first if its kind needs it), CSRF, claims
//!   limits           keyed by claim / global
//!   request_body     read whole, once, bounded, only if a route feature needs it
//!   dedupe           claim a verified webhook delivery (duplicate of an accepted one: 200)
//!   upstream_request URL; headers stripped, then set; secrets injected (own step)
//!   send             streaming, route timeout; 413 / 400 / 502 / 504 by cause
//!   dedupe           settle the claim by the upstream's status
//!   respond          filtered response headers, RateLimit headers
//! finish: errors -> JSON; request id + CORS on every answer; response body taps
//!         (access log + metrics when the body ends; metering next)
//! ```
//!
//! See `ARCHITECTURE.md` for where state lives and where the next features plug in.

pub(crate) mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub(crate) mod context;
pub(crate) mod cors;
pub(crate) mod count;
pub mod deliveries;
pub(crate) mod error;
pub(crate) mod gateway;
pub mod observability;
pub(crate) mod proxy;
pub mod rate_limit;
pub(crate) mod reload;
pub(crate) mod routing;
pub mod server;
pub mod snapshot;
pub(crate) mod static_files;
pub(crate) mod task;

#[cfg(test)]
mod proptests;
