//! The HTTP application of the main listener, built in one place.
//!
//! Every request goes through [`crate::gateway::handle`], which runs the
//! phases in order. CORS, static files and metrics are phases there rather
//! than tower layers here, on purpose: each depends on the matched route
//! and on the config snapshot the request started with (which a hot reload
//! may replace), and a layer built once at startup would not see either.

use axum::Router;

use crate::snapshot::Gateway;

/// The router for the main listener.
pub(crate) fn app(gateway: Gateway) -> Router {
    Router::new()
        .fallback(crate::gateway::handle)
        .with_state(gateway)
}
