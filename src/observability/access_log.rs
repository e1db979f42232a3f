//! One access line per request, written when the response body is finished
//! or dropped (by the first response body tap, `gateway::taps`), so a long
//! stream is logged with its real duration, its byte count, and whether it
//! ended cleanly.
//!
//! The line carries the route name, never the raw path or query (a query may
//! hold an injected key or a user's data).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method, StatusCode};

use crate::proxy::body::StreamEnd;

/// What is known about a request by the time its response starts.
#[derive(Debug)]
pub struct AccessRecord {
    /// The request method.
    pub method: Method,
    /// The matched route's name, if any.
    pub route: Option<Arc<str>>,
    /// The request id.
    pub request_id: HeaderValue,
    /// When handling started.
    pub started: Instant,
    /// Time until the upstream's response headers, when it was called.
    pub upstream: Option<Duration>,
    /// The response status.
    pub status: StatusCode,
    /// The gateway's error code, when the gateway answered itself.
    pub error: Option<&'static str>,
}

/// Writes the access line and records the request metrics.
pub fn log(record: &AccessRecord, bytes: u64, end: StreamEnd) {
    let duration = record.started.elapsed();
    super::metrics::request_finished(
        record.route.as_ref(),
        &record.method,
        record.status,
        duration,
        record.upstream,
    );
    let end = match end {
        StreamEnd::Complete => "complete",
        StreamEnd::Failed => "upstream_failed",
        // Dropped before its end: the client went away mid-response.
        StreamEnd::Dropped => "client_gone",
    };
    tracing::info!(
        target: "portcullis::access",
        route = record.route.as_deref().unwrap_or("-"),
        method = %record.method,
        status = record.status.as_u16(),
        duration_ms = duration.as_secs_f64() * 1e3,
        upstream_ms = record.upstream.map(|d| d.as_secs_f64() * 1e3),
        bytes,
        end,
        error = record.error,
        request_id = record.request_id.to_str().unwrap_or("-"),
        "request"
    );
}
