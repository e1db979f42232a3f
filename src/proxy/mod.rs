//! Forwarding to the upstream: the HTTP client, header hygiene, path safety
//! and streaming bodies.

pub mod body;
pub mod headers;
pub mod path;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::Response;
use http::request::Parts;
use http_body::Body as _;
use http_body_util::BodyExt;

use crate::auth::Authenticated;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::routing::Route;
use body::{BodyOutcome, IdleTimeout};

/// Builds the upstream HTTP client shared by every route of a snapshot.
///
/// Redirects are never followed (a 3xx goes back to the client as is, so an
/// injected key cannot be carried to another host), system proxy variables
/// are ignored, and connections are pooled (HTTP/2 is negotiated over TLS).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

/// A response from the upstream, ready to stream to the client.
#[derive(Debug)]
pub struct Forwarded {
    /// The response, headers filtered, body streaming.
    pub response: Response<Body>,
    /// Time until the upstream's response headers arrived.
    pub upstream_time: Duration,
}

/// Sends `request` to `route`'s upstream and streams the answer back.
///
/// `remainder` is the normalized path after the route prefix; `parts` and
/// `body` are the client's request.
pub async fn forward(
    client: &reqwest::Client,
    route: &Route,
    remainder: &str,
    parts: &Parts,
    body: Body,
    ctx: &RequestContext,
    auth: Option<&Authenticated>,
) -> Result<Forwarded, GatewayError> {
    let url = path::upstream_url(route, remainder, parts.uri.query())
        .ok_or(GatewayError::BadPath(path::PathError::Malformed))?;
    let mut upstream = reqwest::Request::new(parts.method.clone(), url);
    *upstream.headers_mut() = headers::upstream_request(&parts.headers, route, ctx, auth)?;
    let outcome = Arc::new(BodyOutcome::default());
    if !body.is_end_stream() {
        *upstream.body_mut() = Some(body::limit_request(body, route.max_body, outcome.clone()));
    }

    let started = Instant::now();
    let result = tokio::time::timeout(route.timeout, client.execute(upstream)).await;
    let upstream_time = started.elapsed();
    // Checked first: a failed upload must be reported as the client's fault
    // even if the upstream managed to answer something.
    if outcome.too_large() {
        return Err(GatewayError::PayloadTooLarge {
            limit: route.max_body,
        });
    }
    let response = match result {
        Err(_) => {
            tracing::warn!(route = %route.name, timeout = ?route.timeout, "upstream timed out before response headers");
            crate::observability::metrics::upstream_error(&route.name, "timeout");
            return Err(GatewayError::UpstreamTimeout);
        }
        Ok(Err(e)) if outcome.client_failed() => {
            tracing::info!(route = %route.name, error = %e.without_url(), "client request body failed");
            return Err(GatewayError::BadRequest(
                "the request body could not be read",
            ));
        }
        Ok(Err(e)) => {
            let e = e.without_url();
            tracing::warn!(route = %route.name, error = %e, source = ?std::error::Error::source(&e), "upstream request failed");
            crate::observability::metrics::upstream_error(
                &route.name,
                if e.is_timeout() {
                    "timeout"
                } else {
                    "unavailable"
                },
            );
            return Err(if e.is_timeout() {
                GatewayError::UpstreamTimeout
            } else {
                GatewayError::UpstreamUnavailable
            });
        }
        Ok(Ok(response)) => response,
    };

    let mut response: Response<reqwest::Body> = response.into();
    *response.version_mut() = parts.version;
    headers::filter_response(response.headers_mut(), route);
    let response = response.map(|body| {
        Body::new(IdleTimeout::new(
            body.map_err(reqwest::Error::without_url),
            route.timeout,
        ))
    });
    Ok(Forwarded {
        response,
        upstream_time,
    })
}
