//! The HTTP application of the main listener, built in one place.
//!
//! Today every request goes through [`crate::gateway::handle`], which runs
//! the phases in order; layers that wrap it (CORS, static files, metrics)
//! are added here, outermost first, with the reason for their position.

use axum::Router;

use crate::snapshot::Gateway;

/// The router for the main listener.
pub fn app(gateway: Gateway) -> Router {
    Router::new()
        .fallback(crate::gateway::handle)
        .with_state(gateway)
}
