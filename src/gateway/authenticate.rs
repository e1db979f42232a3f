//! Authentication: the route's verifier decides who sent the request.
//!
//! A verifier whose kind needs the body (a webhook signature) gets it read
//! first, once, bounded by the route's `max_body`; the same bytes then go
//! upstream unchanged.

use super::Exchange;
use crate::auth::token::Site;
use crate::auth::{AuthRequest, Authenticated, Verifier};
use crate::error::GatewayError;
use crate::observability::metrics;
use crate::routing::Route;

/// Verifies the request against the route's verifier (public routes pass).
pub(super) async fn authenticate(ex: &mut Exchange, route: &Route) -> Result<(), GatewayError> {
    let Some(verifier) = &route.auth else {
        return Ok(());
    };
    match verify(ex, route, verifier).await {
        Ok(authenticated) => {
            ex.identity = Some(authenticated);
            Ok(())
        }
        Err(GatewayError::Auth(e)) => {
            tracing::info!(verifier = %verifier.name, reason = e.code(), detail = e.detail(), "request not authenticated");
            metrics::auth_failure(&route.name, e.code());
            Err(e.into())
        }
        Err(other) => Err(other),
    }
}

async fn verify(
    ex: &mut Exchange,
    route: &Route,
    verifier: &Verifier,
) -> Result<Authenticated, GatewayError> {
    let body = if verifier.needs_body() {
        // A delivery without its signature is refused before its body is read.
        verifier.precheck(&ex.request.headers)?;
        Some(ex.body.read(route.max_body, route.timeout).await?.clone())
    } else {
        None
    };
    let request = AuthRequest {
        method: &ex.request.method,
        headers: &ex.request.headers,
        body: body.as_ref(),
        site: Site {
            public_origin: ex.snapshot.public_origin.as_deref(),
            trusted_proxy: ex.ctx.peer_trusted,
        },
    };
    // The CORS allow-list may send cookie tokens cross-origin.
    let allowed_origin = |origin: &str| route.cors.as_ref().is_some_and(|c| c.allows(origin));
    Ok(verifier
        .authenticate(request, &route.require_claims, &allowed_origin)
        .await?)
}
