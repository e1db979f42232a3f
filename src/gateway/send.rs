//! Send: the request goes upstream with its body (streaming, or the bytes a
//! phase read), and the answer's headers are awaited for at most the
//! route's timeout. Failures are told apart by cause: the client's body
//! (413, 400), the upstream (502, 504).

use std::sync::Arc;
use std::time::Instant;

use super::Exchange;
use crate::error::GatewayError;
use crate::observability::metrics;
use crate::proxy::body::BodyOutcome;
use crate::routing::Route;

/// Sends `upstream` and waits for the response headers.
pub(super) async fn send(
    ex: &mut Exchange,
    route: &Route,
    mut upstream: reqwest::Request,
) -> Result<reqwest::Response, GatewayError> {
    let outcome = Arc::new(BodyOutcome::default());
    *upstream.body_mut() = ex.body.take().into_upstream(route.max_body, &outcome);
    let client = ex.snapshot.client(ex.worker);

    let started = Instant::now();
    let result = tokio::time::timeout(route.timeout, client.execute(upstream)).await;
    // Checked first: a failed upload must be reported as the client's fault
    // even if the upstream managed to answer something.
    if outcome.too_large() {
        return Err(GatewayError::PayloadTooLarge {
            limit: route.max_body,
        });
    }
    match result {
        Err(_) => {
            tracing::warn!(timeout = ?route.timeout, "upstream timed out before response headers");
            metrics::upstream_error(&route.name, "timeout");
            Err(GatewayError::UpstreamTimeout)
        }
        Ok(Err(e)) if outcome.client_failed() => {
            tracing::info!(error = %e.without_url(), "client request body failed");
            Err(GatewayError::BadRequest(
                "the request body could not be read",
            ))
        }
        Ok(Err(e)) => {
            let e = e.without_url();
            tracing::warn!(error = %e, source = ?std::error::Error::source(&e), "upstream request failed");
            let timeout = e.is_timeout();
            metrics::upstream_error(&route.name, if timeout { "timeout" } else { "unavailable" });
            Err(if timeout {
                GatewayError::UpstreamTimeout
            } else {
                GatewayError::UpstreamUnavailable
            })
        }
        Ok(Ok(response)) => {
            // Recorded (log, histogram) only when the upstream answered.
            ex.upstream_time = Some(started.elapsed());
            Ok(response)
        }
    }
}
