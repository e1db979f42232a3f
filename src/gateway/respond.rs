//! Respond: what the client gets back. The upstream's headers filtered, the
//! RateLimit headers of the tightest limit; then, on every answer (the
//! gateway's own errors included), the request id and CORS headers.

use axum::body::Body;
use http::Response;
use http_body_util::BodyExt;

use super::Exchange;
use crate::context::REQUEST_ID;
use crate::proxy::body::IdleTimeout;
use crate::proxy::headers;
use crate::routing::Route;

/// The upstream's response as the client will see it, body still streaming.
pub(super) fn upstream_response(
    ex: &Exchange,
    route: &Route,
    response: reqwest::Response,
) -> Response<Body> {
    let mut response: Response<reqwest::Body> = response.into();
    *response.version_mut() = ex.request.version;
    headers::filter_response(response.headers_mut(), route);
    if let Some(decision) = ex.rate_limit {
        decision.write_headers(response.headers_mut());
    }
    // The upstream may go quiet for at most the route's timeout between frames.
    response.map(|body| {
        Body::new(IdleTimeout::new(
            body.map_err(reqwest::Error::without_url),
            route.timeout,
        ))
    })
}

/// What every response carries: the request id, and CORS headers for an
/// allowed origin (errors too, so the page can read why a call failed).
pub(super) fn decorate(ex: &Exchange, response: &mut Response<Body>) {
    response
        .headers_mut()
        .insert(REQUEST_ID, ex.ctx.request_id.clone());
    if let Some(cors) = &ex.cors {
        cors.decorate(ex.origin(), response.headers_mut());
    }
}
