//! What the gateway knows about a request before it is routed: its id, the
//! peer, and the client address derived from them.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

/// Header naming the request id, set toward the upstream and the client.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Per-request facts shared by every phase.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Echoed to the client and sent upstream as `X-Request-Id`.
    pub request_id: HeaderValue,
    /// The TCP peer, when known.
    pub peer: Option<SocketAddr>,
    /// Whether the peer is in `server.trusted_proxies`.
    pub peer_trusted: bool,
    /// The client address: the peer, or the right-most untrusted
    /// `X-Forwarded-For` entry when the peer is a trusted proxy.
    pub client_ip: Option<IpAddr>,
    /// When the gateway started handling the request.
    pub started: Instant,
}

impl RequestContext {
    /// Derives the context from the peer and the client's headers.
    pub fn new(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        let peer_trusted = peer.is_some_and(|p| is_trusted(&p.ip()));
        let client_ip = if peer_trusted {
            forwarded_client(headers, &is_trusted).or(peer.map(|p| p.ip()))
        } else {
            peer.map(|p| p.ip())
        };
        let request_id = peer_trusted
            .then(|| headers.get(REQUEST_ID))
            .flatten()
            .filter(|v| is_plain_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        Self {
            request_id,
            peer,
            peer_trusted,
            client_ip,
            started: Instant::now(),
        }
    }
}

/// The right-most `X-Forwarded-For` address that is not a trusted proxy.
fn forwarded_client(headers: &HeaderMap, is_trusted: &dyn Fn(&IpAddr) -> bool) -> Option<IpAddr> {
    let mut last = None;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let text = value.to_str().ok()?;
        for entry in text.rsplit(',') {
            let ip: IpAddr = entry.trim().parse().ok()?;
            if !is_trusted(&ip) {
                return Some(ip);
            }
            last = Some(ip);
        }
    }
    last
}

/// An id a trusted proxy may hand us: short, and only characters safe in logs.
fn is_plain_id(bytes: &[u8]) -> bool {
    (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
    HeaderValue::from_str(id.simple().encode_lower(&mut buf))
        .unwrap_or(HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn untrusted_peer_cannot_pick_its_address() {
        let peer: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let ctx = RequestContext::new(Some(peer), &headers("1.2.3.4"), &[]);
        assert_eq!(ctx.client_ip, Some(peer.ip()));
        assert!(!ctx.peer_trusted);
    }

    #[test]
    fn trusted_peer_gives_rightmost_untrusted_entry() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let ctx = RequestContext::new(
            Some(peer),
            &headers("6.6.6.6, 198.51.100.7, 10.0.0.5"),
            &trusted,
        );
        assert_eq!(ctx.client_ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn request_id_from_untrusted_peer_is_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "client-chosen".parse().unwrap());
        let ctx = RequestContext::new(None, &h, &[]);
        assert_ne!(ctx.request_id, "client-chosen");
        assert_eq!(ctx.request_id.len(), 32);
    }
}
