//! The exchange: what the phases of one request share.
//!
//! Phases fill it in as they run (route, identity, limit verdicts, the
//! upstream's timing); `finish` reads it once to answer and to log. Where
//! each kind of state lives:
//!
//! - per config generation (routes, verifiers, limits, clients): the
//!   [`Snapshot`], shared by `Arc`, never mutated;
//! - per request: here, owned by the request's task, never shared;
//! - per response body (bytes sent, how it ended): the taps (`taps.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::request::Parts;
use http::{HeaderValue, Request};

use super::request_body::RequestBody;
use super::taps::Tap;
use crate::auth::Authenticated;
use crate::context::RequestContext;
use crate::cors::Cors;
use crate::count::Counted;
use crate::deliveries::ClaimGuard;
use crate::rate_limit::Decision;
use crate::routing::Route;
use crate::snapshot::Snapshot;

/// One request on its way through the gateway.
pub(crate) struct Exchange {
    /// The config generation this request runs on, start to finish.
    pub snapshot: Arc<Snapshot>,
    /// The worker thread serving it (picks the upstream connection pool).
    pub worker: usize,
    /// Request id, peer, client address, start time.
    pub ctx: RequestContext,
    /// The client's request head, as received.
    pub request: Parts,
    /// The client's body: streaming until a phase needs it whole.
    pub body: RequestBody,
    /// The matched route, once `admit` found it.
    pub route: Option<Arc<Route>>,
    /// The normalized path, when normalizing changed the client's spelling.
    normalized: Option<String>,
    /// Where the remainder after the route's prefix starts in the path.
    remainder_at: usize,
    /// The CORS policy in force: the global one until a route matches.
    pub cors: Option<Arc<Cors>>,
    /// Who authentication says sent the request.
    pub identity: Option<Authenticated>,
    /// The tightest rate-limit verdict so far (for the RateLimit headers).
    pub rate_limit: Option<Decision>,
    /// Time until the upstream's response headers, once it was called.
    pub upstream_time: Option<Duration>,
    /// The gateway's error code, when it answered itself.
    pub error: Option<&'static str>,
    /// Observers a phase added for the response body (e.g. metering).
    pub taps: Vec<Box<dyn Tap>>,
    /// The claim on a webhook delivery, and how long to remember it once accepted.
    pub delivery: Option<(ClaimGuard, Duration)>,
    /// This request's place in `[server] max_in_flight`, held until the
    /// response body ends.
    pub in_flight: Option<Counted>,
}

impl Exchange {
    /// A new exchange for `request` on `snapshot`.
    pub(crate) fn new(
        snapshot: Arc<Snapshot>,
        worker: usize,
        peer: Option<SocketAddr>,
        request: Request<Body>,
    ) -> Self {
        let (request, body) = request.into_parts();
        let ctx = RequestContext::new(peer, &request.headers, &snapshot.trusted_proxies);
        let cors = snapshot.cors.clone();
        Self {
            snapshot,
            worker,
            ctx,
            request,
            body: RequestBody::Streaming(body),
            route: None,
            normalized: None,
            remainder_at: 0,
            cors,
            identity: None,
            rate_limit: None,
            upstream_time: None,
            error: None,
            taps: Vec::new(),
            delivery: None,
            in_flight: None,
        }
    }

    /// The request id, for logs.
    pub(crate) fn request_id(&self) -> &str {
        self.ctx.request_id.to_str().unwrap_or("-")
    }

    /// The path after the route's prefix (normalized; `""` or starting with `/`).
    pub(crate) fn remainder(&self) -> &str {
        &self.path()[self.remainder_at..]
    }

    /// The path routing sees: normalized, or the client's when that was already normal.
    pub(crate) fn path(&self) -> &str {
        self.normalized
            .as_deref()
            .unwrap_or(self.request.uri.path())
    }

    /// Keeps the normalized spelling of the path (`None`: the client's was normal).
    pub(super) fn set_normalized(&mut self, path: Option<String>) {
        self.normalized = path;
    }

    /// Records the matched route and where its remainder starts in [`Exchange::path`].
    pub(super) fn set_route(&mut self, route: Arc<Route>, remainder_at: usize) {
        self.remainder_at = remainder_at;
        self.cors.clone_from(&route.cors);
        self.route = Some(route);
    }

    /// The `Origin` the client sent, if any.
    pub(crate) fn origin(&self) -> Option<&HeaderValue> {
        self.request.headers.get(http::header::ORIGIN)
    }
}
