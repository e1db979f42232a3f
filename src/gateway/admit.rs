//! Admission: is this a request the gateway will handle at all, and which
//! route owns it? Framing, path safety, route match (or the frontend's
//! static files), CORS preflight, method, declared body length.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, Response, header};

use super::Exchange;
use crate::error::GatewayError;
use crate::proxy::path;
use crate::routing::Route;
use crate::snapshot::Snapshot;

/// What admission decided.
pub(super) enum Admission {
    /// The gateway answers itself (a static file, a preflight).
    Answered(Response<Body>),
    /// The request goes on, on this route.
    Route(Arc<Route>),
}

/// Runs admission; the route is recorded on the exchange.
pub(super) async fn admit(ex: &mut Exchange) -> Result<Admission, GatewayError> {
    head_size(ex)?;
    let headers = &ex.request.headers;
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return Err(GatewayError::BadRequest(
            "the request has both Content-Length and Transfer-Encoding",
        ));
    }
    if !transfer_coding_is_chunked(headers) {
        return Err(GatewayError::BadRequest(
            "the request's Transfer-Encoding is not plain `chunked`",
        ));
    }
    let declared_length = declared_length(headers)?;

    let normalized = match path::normalize(ex.request.uri.path())? {
        Cow::Owned(path) => Some(path),
        Cow::Borrowed(_) => None,
    };
    ex.set_normalized(normalized);
    let Some((route, remainder)) = ex.snapshot.routes.find(ex.path()) else {
        let snapshot = Arc::clone(&ex.snapshot);
        let (request, path) = head_only(ex);
        return static_file(&snapshot, request, &path)
            .await
            .map(Admission::Answered);
    };
    let route = Arc::clone(route);
    let remainder_at = ex.path().len() - remainder.len();
    ex.set_route(Arc::clone(&route), remainder_at);

    // CORS preflight: answered here, before authentication and limits, never forwarded.
    if let Some(preflight) = route.cors.as_ref().and_then(|policy| {
        policy.preflight(
            &ex.request.method,
            &ex.request.headers,
            route.methods.as_deref(),
        )
    }) {
        // The preflight answer carries its own CORS headers.
        ex.cors = None;
        return Ok(Admission::Answered(preflight));
    }

    if !route.allows(&ex.request.method) {
        return Err(GatewayError::MethodNotAllowed {
            allow: route.allow.clone(),
        });
    }
    if declared_length.is_some_and(|len| len > route.max_body) {
        return Err(GatewayError::PayloadTooLarge {
            limit: route.max_body,
        });
    }
    Ok(Admission::Route(route))
}

/// Routes always win; what matches none may be a file of the frontend.
async fn static_file(
    snapshot: &Snapshot,
    request: Request<Body>,
    path: &str,
) -> Result<Response<Body>, GatewayError> {
    let Some(files) = &snapshot.static_files else {
        return Err(GatewayError::NoRoute);
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(GatewayError::NoRoute);
    }
    files
        .serve(request, path)
        .await
        .ok_or(GatewayError::NoRoute)
}

/// The client's request head, without its body, and the normalized path.
fn head_only(ex: &Exchange) -> (Request<Body>, String) {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = ex.request.method.clone();
    *request.uri_mut() = ex.request.uri.clone();
    *request.headers_mut() = ex.request.headers.clone();
    (request, ex.path().to_owned())
}

/// Refuses a request head past `[server] max_headers` / `max_header_size`
/// (request line plus every header line, as sent on the wire).
fn head_size(ex: &Exchange) -> Result<(), GatewayError> {
    let server = &ex.snapshot.config.server;
    let headers = &ex.request.headers;
    let uri = &ex.request.uri;
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len() + 8);
    let line = ex.request.method.as_str().len() + target + 12;
    let size = headers.iter().fold(line, |sum, (name, value)| {
        sum + name.as_str().len() + value.len() + 4
    });
    if headers.len() > server.max_headers || size as u64 > server.max_header_size.as_u64() {
        return Err(GatewayError::HeadersTooLarge {
            max_headers: server.max_headers,
            max_size: server.max_header_size.as_u64(),
        });
    }
    Ok(())
}

/// Whether `Transfer-Encoding`, when present, is exactly `chunked` (one
/// value, any case, surrounding whitespace ignored). hyper frames `cow,
/// chunked` as chunked; an upstream or a proxy behind us might not, so any
/// other coding list is refused rather than re-framed.
fn transfer_coding_is_chunked(headers: &http::HeaderMap) -> bool {
    let mut values = headers.get_all(header::TRANSFER_ENCODING).iter();
    let Some(first) = values.next() else {
        return true;
    };
    values.next().is_none()
        && first
            .to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("chunked"))
}

/// The `Content-Length` the client declared, if any; several differing values are refused.
fn declared_length(headers: &http::HeaderMap) -> Result<Option<u64>, GatewayError> {
    let bad = || GatewayError::BadRequest("the Content-Length header is not a single number");
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let length: u64 = first
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(bad)?;
    if values.next().is_some() {
        return Err(bad());
    }
    Ok(Some(length))
}
