//! Duplicate webhook deliveries: a verified delivery with a key is claimed
//! before it is forwarded, and settled by the upstream's answer (see
//! `crate::deliveries` for the store's semantics).

use std::time::Duration;

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

use super::Exchange;
use crate::auth::Credential;
use crate::deliveries::{self, Claim};
use crate::error::GatewayError;
use crate::routing::Route;

/// How long past the route's timeout an in-flight mark may outlive its
/// request (a replica that dies mid-forward blocks retries no longer).
const IN_FLIGHT_MARGIN: Duration = Duration::from_secs(10);

/// Claims the delivery; answers a duplicate of an accepted one itself.
pub(super) async fn claim(
    ex: &mut Exchange,
    route: &Route,
) -> Result<Option<Response<Body>>, GatewayError> {
    let Some(verifier) = &route.auth else {
        return Ok(None);
    };
    let Some(dedupe) = verifier.webhook().and_then(|w| w.dedupe.as_ref()) else {
        return Ok(None);
    };
    let Some(Credential::Webhook {
        delivery: Some(delivery),
    }) = ex.identity.as_ref().map(|a| &a.credential)
    else {
        // A delivery without a key (a Stripe event without an id) is forwarded.
        return Ok(None);
    };
    let key = deliveries::key(&verifier.name, delivery);
    match dedupe
        .store
        .claim(key, route.timeout + IN_FLIGHT_MARGIN)
        .await
    {
        Ok(Claim::New(guard)) => {
            ex.delivery = Some((guard, dedupe.window));
            Ok(None)
        }
        Ok(Claim::Duplicate) => {
            tracing::info!("duplicate webhook delivery answered without forwarding");
            Ok(Some(duplicate()))
        }
        Ok(Claim::InFlight) => {
            tracing::info!("duplicate webhook delivery while the first is in flight");
            Err(GatewayError::DeliveryInProgress)
        }
        Ok(Claim::Unchecked) => {
            tracing::warn!(
                "webhook delivery forwarded without deduplication (store unavailable, on_backend_error = \"allow\")"
            );
            Ok(None)
        }
        Err(_) => Err(GatewayError::DedupeUnavailable),
    }
}

/// Records the upstream's answer: accepted on 2xx, released otherwise.
pub(super) async fn settle(ex: &mut Exchange, status: Option<StatusCode>) {
    if let Some((guard, window)) = ex.delivery.take() {
        if status.is_some_and(|s| s.is_success()) {
            guard.accept(window).await;
        } else {
            guard.release().await;
        }
    }
}

/// The answer to a delivery the upstream already accepted: success, so the
/// provider stops retrying.
fn duplicate() -> Response<Body> {
    let body = r#"{"status":"duplicate","message":"this delivery was already accepted; it was not forwarded again"}"#;
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
