//! The request path: named phases over one [`Exchange`], in the order they run.
//!
//! ```text
//! admit           framing, path safety, route match (or static files), CORS preflight,
//!                 method, declared body length
//! limits          rate limits keyed by ip / header (before authentication)
//! authenticate    the route's verifier (reads the body first if its kind needs it)
//! limits          rate limits keyed by claim / global (after authentication)
//! request_body    read the body whole, once, bounded, if a route feature needs it
//! dedupe          claim a webhook delivery (a duplicate of an accepted one is answered 200)
//! upstream_request  URL, then headers stripped and set, then secrets injected
//! send            to the upstream, streaming the body, with the route's timeout
//! dedupe          settle the claim by the upstream's status
//! respond         filtered response headers, RateLimit headers
//! finish          request id, CORS, response body taps (access log, metrics)
//! ```
//!
//! A phase reads and writes the exchange; a phase that refuses returns the
//! error, and [`finish`] turns it into the JSON answer, decorated exactly
//! like an upstream response. A request refused in any phase never reaches
//! the upstream: nothing before `send` writes anywhere but the exchange.
//!
//! Adding a feature is adding a phase: one function in its own file and one
//! line in [`request_path`].

mod admit;
mod authenticate;
mod dedupe;
mod exchange;
mod limits;
mod request_body;
mod respond;
mod send;
pub(crate) mod taps;
mod upstream_request;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use http::{Request, Response};
use tracing::Instrument;

use crate::error::GatewayError;
use crate::observability::metrics;
use crate::routing::Route;
use crate::snapshot::Gateway;
pub(crate) use exchange::Exchange;

/// The axum handler for every request on the main listener.
pub(crate) async fn handle(
    State(gateway): State<Gateway>,
    request: Request<Body>,
) -> Response<Body> {
    metrics::request_started();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    // One snapshot for the whole request, even if a reload swaps it meanwhile.
    let snapshot = gateway.snapshot();
    // Counted only when `max_in_flight` is set (a shared counter per request otherwise).
    let in_flight = match snapshot.config.server.max_in_flight {
        None => Ok(None),
        Some(max) => gateway.start_request(max.get()).map(Some).ok_or(()),
    };
    let mut exchange = Exchange::new(snapshot, gateway.worker(), peer, request);
    let result = match in_flight {
        // Past `max_in_flight`: refused at once, never queued.
        Err(()) => Err(GatewayError::Overloaded),
        Ok(guard) => {
            exchange.in_flight = guard;
            request_path(&mut exchange).await
        }
    };
    finish(exchange, result)
}

/// The phases, top to bottom.
async fn request_path(ex: &mut Exchange) -> Result<Response<Body>, GatewayError> {
    let route = match admit::admit(ex).await? {
        admit::Admission::Route(route) => route,
        // A static file or a preflight: answered by the gateway itself.
        admit::Admission::Answered(answer) => return Ok(answer),
    };
    // Every line logged from here on carries the request's id and route.
    // (Admission logs nothing; opening the span once both are known saves
    // re-recording a field, which costs a JSON re-serialization per request.)
    let span = tracing::info_span!(
        "request",
        request_id = ex.request_id(),
        route = &*route.name,
    );
    route_phases(ex, &route).instrument(span).await
}

/// The phases of a request a route owns.
async fn route_phases(ex: &mut Exchange, route: &Route) -> Result<Response<Body>, GatewayError> {
    limits::before_auth(ex, route).await?;
    authenticate::authenticate(ex, route).await?;
    limits::after_auth(ex, route).await?;
    request_body::read_if_needed(ex, route).await?;
    if let Some(answer) = dedupe::claim(ex, route).await? {
        // A webhook delivery the upstream already accepted.
        return Ok(answer);
    }
    let mut upstream = upstream_request::build(ex, route)?;
    upstream_request::inject_secrets(route, &mut upstream);
    let response = send::send(ex, route, upstream).await;
    dedupe::settle(ex, response.as_ref().ok().map(|r| r.status())).await;
    Ok(respond::upstream_response(ex, route, response?))
}

/// The one place a response leaves: errors become JSON, then every answer
/// gets the request id, CORS headers and the response body taps.
fn finish(mut ex: Exchange, result: Result<Response<Body>, GatewayError>) -> Response<Body> {
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            ex.error = Some(error.code());
            error.into_response(&ex.ctx.request_id)
        }
    };
    respond::decorate(&ex, &mut response);
    taps::attach(ex, response)
}
