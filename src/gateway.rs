//! The request path, one phase after another, in the order they run:
//!
//! ```text
//! request id + context -> framing check -> path safety -> route match -> CORS preflight
//!   -> method -> body limit (declared length) -> rate limits keyed by ip/header
//!   -> authenticate (JWT, CSRF, claims) -> rate limits keyed by claim/global
//!   -> forward upstream (headers stripped then set, bodies streaming)
//!   -> respond (filtered headers, request id) -> access log when the body ends
//! ```
//!
//! A request refused in any phase never reaches the upstream: the phases
//! before `forward` only read the request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use http::{Request, Response, header};

use crate::auth;
use crate::context::RequestContext;
use crate::cors::Cors;
use crate::error::GatewayError;
use crate::observability::access_log::{AccessRecord, LoggedBody};
use crate::observability::metrics;
use crate::proxy::{self, headers::REQUEST_ID, path};
use crate::rate_limit::Decision;
use crate::routing::Route;
use crate::snapshot::{Gateway, Snapshot};

/// The axum handler for every request on the main listener.
pub async fn handle(State(gateway): State<Gateway>, request: Request<Body>) -> Response<Body> {
    // One snapshot for the whole request, even if a reload swaps it meanwhile.
    let snapshot = gateway.snapshot();
    metrics::request_started();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let ctx = RequestContext::new(peer, request.headers(), &snapshot.trusted_proxies);
    let mut record = AccessRecord {
        method: request.method().clone(),
        route: None,
        request_id: ctx.request_id.clone(),
        started: ctx.started,
        upstream: None,
        status: http::StatusCode::OK,
        error: None,
    };

    let client = snapshot.client(gateway.worker());
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut cors = None;
    let mut response = match serve(&snapshot, client, &ctx, request, &mut record, &mut cors).await {
        Ok(response) => response,
        Err(error) => {
            record.error = Some(error.code());
            error.into_response(&ctx.request_id)
        }
    };
    record.status = response.status();
    response
        .headers_mut()
        .insert(REQUEST_ID, ctx.request_id.clone());
    // Every response to an allowed origin, errors included, so the page can read why.
    if let Some(cors) = cors {
        cors.decorate(origin.as_ref(), response.headers_mut());
    }
    response.map(|body| Body::new(LoggedBody::new(body, record)))
}

async fn serve(
    snapshot: &Snapshot,
    client: &reqwest::Client,
    ctx: &RequestContext,
    request: Request<Body>,
    record: &mut AccessRecord,
    cors: &mut Option<Arc<Cors>>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    // Until a route is matched, the global policy applies (e.g. to a 404).
    cors.clone_from(&snapshot.cors);
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(GatewayError::BadRequest(
            "the request has both Content-Length and Transfer-Encoding",
        ));
    }
    let declared_length = declared_length(headers)?;

    let path = path::normalize(parts.uri.path())?;
    let Some((route, remainder)) = snapshot.routes.find(&path) else {
        // Routes always win; what matches none may be a file of the frontend.
        if let Some(files) = &snapshot.static_files
            && matches!(parts.method, http::Method::GET | http::Method::HEAD)
        {
            let path = path.into_owned();
            return files
                .serve(Request::from_parts(parts, body), &path)
                .await
                .ok_or(GatewayError::NoRoute);
        }
        return Err(GatewayError::NoRoute);
    };
    let route = Arc::clone(route);
    record.route = Some(route.name.clone());

    // CORS preflight: answered here, before authentication and limits, never forwarded.
    cors.clone_from(&route.cors);
    if let Some(preflight) = route.cors.as_ref().and_then(|policy| {
        policy.preflight(&parts.method, &parts.headers, route.methods.as_deref())
    }) {
        *cors = None;
        return Ok(preflight);
    }

    if !route.allows(&parts.method) {
        return Err(GatewayError::MethodNotAllowed {
            allow: route.allow.clone(),
        });
    }
    if declared_length.is_some_and(|len| len > route.max_body) {
        return Err(GatewayError::PayloadTooLarge {
            limit: route.max_body,
        });
    }

    // Limits keyed by IP or header: before authentication, so floods of bad tokens are throttled.
    let mut tightest = enforce_limits(&route, true, ctx, &parts.headers, None, None).await?;

    let auth = match &route.auth {
        None => None,
        Some(verifier) => {
            // The CORS allow-list may send cookie tokens cross-origin.
            let cors_policy = route.cors.clone();
            let allowed_origin =
                move |origin: &str| cors_policy.as_ref().is_some_and(|c| c.allows(origin));
            match auth::authenticate(verifier, &route.require_claims, &parts, &allowed_origin).await
            {
                Ok(authenticated) => Some(authenticated),
                Err(e) => {
                    tracing::info!(route = %route.name, verifier = %verifier.name, reason = e.code(), detail = %e, "request not authenticated");
                    metrics::auth_failure(&route.name, e.code());
                    return Err(e.into());
                }
            }
        }
    };

    // Limits keyed by claim or global: after authentication.
    let claims = auth.as_ref().map(|a| &a.identity.claims);
    tightest = enforce_limits(&route, false, ctx, &parts.headers, claims, tightest).await?;

    let forwarded =
        proxy::forward(client, &route, remainder, &parts, body, ctx, auth.as_ref()).await?;
    record.upstream = Some(forwarded.upstream_time);
    let mut response = forwarded.response;
    if let Some(decision) = tightest {
        decision.write_headers(response.headers_mut());
    }
    Ok(response)
}

/// Checks the route's limits of one phase; returns the tightest verdict so far.
async fn enforce_limits(
    route: &Route,
    before_auth: bool,
    ctx: &RequestContext,
    headers: &http::HeaderMap,
    claims: Option<&serde_json::Map<String, serde_json::Value>>,
    mut tightest: Option<Decision>,
) -> Result<Option<Decision>, GatewayError> {
    for limit in route
        .limits
        .iter()
        .filter(|l| l.key.before_auth() == before_auth)
    {
        // A token without the claim shares one bucket with every such token.
        let key = limit
            .key_of(ctx, headers, claims)
            .unwrap_or_else(|| "\u{0}no-claim".to_owned());
        let decision = limit
            .check(&key)
            .await
            .map_err(|_| GatewayError::RateLimitUnavailable)?;
        if !decision.allowed {
            tracing::info!(route = %route.name, limit = %limit.name, "rate limited");
            metrics::rate_limited(&limit.name);
            return Err(GatewayError::RateLimited {
                limit: Arc::clone(&limit.name),
                decision,
            });
        }
        tightest = Some(tightest.map_or(decision, |t| t.tighter(decision)));
    }
    Ok(tightest)
}

/// The `Content-Length` the client declared, if any; several differing values are refused.
fn declared_length(headers: &http::HeaderMap) -> Result<Option<u64>, GatewayError> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let bad = GatewayError::BadRequest("the Content-Length header is not a single number");
    let length: u64 = first
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or(bad)?;
    if values.next().is_some() {
        return Err(GatewayError::BadRequest(
            "the Content-Length header is not a single number",
        ));
    }
    Ok(Some(length))
}
