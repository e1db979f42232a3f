//! The request body: streaming and untouched unless a feature needs it whole.
//!
//! A body is read at most once, bounded by the route's `max_body` (413 past
//! it, 400 when the client breaks it off), into `Bytes` that every phase can
//! look at. A phase may replace it (a rewritten JSON request: assign
//! `RequestBody::Buffered`); the upstream then gets exactly those bytes with
//! a `Content-Length` that matches them, whatever the client declared.
//! A body nobody needed streams to the upstream as it arrives, counted
//! against `max_body` on the way (`proxy::body::limit_request`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::Exchange;
use crate::error::GatewayError;
use crate::proxy::body::{BodyOutcome, limit_request};
use crate::routing::Route;

/// The client's request body (its `Debug` shows the length, never the bytes).
pub(crate) enum RequestBody {
    /// Not read: it streams to the upstream as it arrives.
    Streaming(Body),
    /// Read whole (or rewritten): exactly these bytes go upstream.
    Buffered(Bytes),
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestBody::Streaming(_) => f.write_str("RequestBody::Streaming"),
            RequestBody::Buffered(bytes) => {
                write!(f, "RequestBody::Buffered({} bytes)", bytes.len())
            }
        }
    }
}

impl RequestBody {
    /// The whole body, read now if it was still streaming: at most `max`
    /// bytes (413), within `deadline` (408: a client trickling its body
    /// must not hold the request open).
    pub(crate) async fn read(
        &mut self,
        max: u64,
        deadline: Duration,
    ) -> Result<&Bytes, GatewayError> {
        if let RequestBody::Streaming(body) = self {
            let body = std::mem::take(body);
            let limit = usize::try_from(max).unwrap_or(usize::MAX);
            let collected = tokio::time::timeout(deadline, Limited::new(body, limit).collect())
                .await
                .map_err(|_| GatewayError::RequestTimeout)?;
            let bytes = match collected {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<LengthLimitError>() => {
                    return Err(GatewayError::PayloadTooLarge { limit: max });
                }
                Err(e) => {
                    tracing::info!(error = %e, "client request body failed");
                    return Err(GatewayError::BadRequest(
                        "the request body could not be read",
                    ));
                }
            };
            *self = RequestBody::Buffered(bytes);
        }
        match self {
            RequestBody::Buffered(bytes) => Ok(bytes),
            // Replaced just above; a bug if ever seen.
            RequestBody::Streaming(_) => Err(GatewayError::Internal("request body not buffered")),
        }
    }

    /// The body's length when it was read whole.
    pub(crate) fn buffered_len(&self) -> Option<usize> {
        match self {
            RequestBody::Buffered(bytes) => Some(bytes.len()),
            RequestBody::Streaming(_) => None,
        }
    }

    /// Takes the body out for sending, leaving an empty one.
    pub(super) fn take(&mut self) -> RequestBody {
        std::mem::replace(self, RequestBody::Buffered(Bytes::new()))
    }

    /// The body as the upstream client sends it: a buffered body as is, a
    /// streaming one capped at `max` bytes (the outcome tells 413 from 502).
    pub(super) fn into_upstream(
        self,
        max: u64,
        outcome: &Arc<BodyOutcome>,
    ) -> Option<reqwest::Body> {
        match self {
            RequestBody::Buffered(bytes) if bytes.is_empty() => None,
            RequestBody::Buffered(bytes) => Some(reqwest::Body::from(bytes)),
            RequestBody::Streaming(body) if body.is_end_stream() => None,
            RequestBody::Streaming(body) => Some(limit_request(body, max, Arc::clone(outcome))),
        }
    }
}

/// The request body phase: reads the body whole when a feature of the
/// route needs it. Verifiers that need it (webhook signatures) read it in
/// the authenticate phase, which runs first; the body is read only once.
pub(super) async fn read_if_needed(ex: &mut Exchange, route: &Route) -> Result<(), GatewayError> {
    if route.needs_body() {
        ex.body.read(route.max_body, route.timeout).await?;
    }
    Ok(())
}
