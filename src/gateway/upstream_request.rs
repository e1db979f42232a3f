//! The upstream request: URL, then headers (strip, then set), then the
//! route's secrets, each a visible step. Nothing the client sends can change
//! the upstream's scheme, host or port, or set a header the gateway owns.

use super::Exchange;
use crate::error::GatewayError;
use crate::proxy::{headers, path};
use crate::routing::Route;

/// The request to send upstream, without the route's secrets yet.
pub(super) fn build(ex: &Exchange, route: &Route) -> Result<reqwest::Request, GatewayError> {
    let Some(url) = path::upstream_url(route, ex.remainder(), ex.request.uri.query()) else {
        // A normalized remainder cannot leave the route's base; this is the
        // second line of defence, and a bug if it ever fires.
        return Err(GatewayError::Internal("upstream URL left the route's base"));
    };
    let mut upstream = reqwest::Request::new(ex.request.method.clone(), url);
    *upstream.headers_mut() = headers::upstream_request(
        &ex.request.headers,
        route,
        &ex.ctx,
        ex.identity.as_ref(),
        ex.body.buffered_len(),
    )?;
    Ok(upstream)
}

/// Sets the route's injected headers and query parameters: the only place
/// secrets enter a request.
pub(super) fn inject_secrets(route: &Route, upstream: &mut reqwest::Request) {
    headers::inject(route, upstream.headers_mut());
    path::inject_query(upstream.url_mut(), route);
}
