//! Rate limits, in two phases: those keyed by ip or a header run before
//! authentication (floods of bad tokens are throttled too); those keyed by
//! a claim or `global` run after it (a claim needs a verified token, and a
//! global quota should not be spent by requests authentication refuses).

use std::sync::Arc;

use super::Exchange;
use crate::error::GatewayError;
use crate::observability::metrics;
use crate::routing::Route;

/// Limits that need no token.
pub(super) async fn before_auth(ex: &mut Exchange, route: &Route) -> Result<(), GatewayError> {
    enforce(ex, route, true).await
}

/// Limits keyed by a claim, and global quotas.
pub(super) async fn after_auth(ex: &mut Exchange, route: &Route) -> Result<(), GatewayError> {
    enforce(ex, route, false).await
}

/// Checks the route's limits of one phase; keeps the tightest verdict on the exchange.
async fn enforce(ex: &mut Exchange, route: &Route, before_auth: bool) -> Result<(), GatewayError> {
    for limit in route
        .limits
        .iter()
        .filter(|l| l.key.before_auth() == before_auth)
    {
        let claims = ex.identity.as_ref().map(|a| &a.identity.claims);
        let key = limit.key_of(&ex.ctx, &ex.request.headers, claims);
        let decision = limit
            .check(&key)
            .await
            .map_err(|_| GatewayError::RateLimitUnavailable)?;
        if !decision.allowed {
            tracing::info!(limit = %limit.name, "rate limited");
            metrics::rate_limited(&limit.name);
            return Err(GatewayError::RateLimited {
                limit: Arc::clone(&limit.name),
                decision,
            });
        }
        ex.rate_limit = Some(ex.rate_limit.map_or(decision, |t| t.tighter(decision)));
    }
    Ok(())
}
