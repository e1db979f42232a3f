//! The tools the request path forwards with: the upstream HTTP client,
//! header hygiene, path safety and streaming body wrappers. The phases that
//! use them are in `gateway`.

pub(crate) mod body;
pub(crate) mod headers;
pub(crate) mod path;

use std::time::Duration;

/// Builds the upstream HTTP client shared by every route of a snapshot.
///
/// Redirects are never followed (a 3xx goes back to the client as is, so an
/// injected key cannot be carried to another host), system proxy variables
/// are ignored, and connections are pooled (HTTP/2 is negotiated over TLS).
pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}
