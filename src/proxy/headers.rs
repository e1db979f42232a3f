//! Header hygiene, both directions. Strip, then set.
//!
//! Toward the upstream: hop-by-hop headers and those named in `Connection`
//! are dropped, every header the gateway owns (X-Forwarded-*, request id,
//! `x-portcullis-*`, URL/method override headers) is dropped before the
//! trusted value is set, client credentials are dropped unless the route opts
//! in, and injected headers replace whatever the client sent under that name.
//!
//! Toward the client: hop-by-hop, `Set-Cookie` (unless the route opts in),
//! `Access-Control-*` (the gateway owns CORS) and `Alt-Svc` are dropped.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::auth::{Authenticated, Credential, TokenSource, claims, token};
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::routing::Route;

pub(crate) use crate::context::REQUEST_ID;
/// Set toward the upstream on a request whose webhook signature verified.
const VERIFIED: HeaderName = HeaderName::from_static("x-portcullis-verified");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus legacy `keep-alive`/`proxy-connection`).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "proxy-authenticate"
            | "proxy-authorization"
            // Only meaningful with `Upgrade: h2c`, which is never passed on
            // (h2c smuggling), whether or not `Connection` names it.
            | "http2-settings"
    )
}

/// Headers the gateway alone decides: never taken from a client, never injectable.
pub(crate) fn is_gateway_owned(name: &HeaderName) -> bool {
    is_hop_by_hop(name)
        || is_untrusted_on_arrival(name)
        || matches!(name.as_str(), "host" | "content-length" | "expect")
}

/// Headers stripped from every client request: the gateway derives them, or
/// upstream frameworks would let them override routing, method or identity.
fn is_untrusted_on_arrival(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-portcullis-")
        || n.starts_with("x-forwarded-")
        || matches!(
            n,
            "forwarded"
                | "x-real-ip"
                | "x-client-ip"
                | "true-client-ip"
                | "x-request-id"
                | "x-original-url"
                | "x-original-uri"
                | "x-rewrite-url"
                | "x-override-url"
                | "x-http-method-override"
                | "x-http-method"
                | "x-method-override"
        )
}

/// Identity headers: a backend may trust them as "who is calling", so only
/// the gateway sets them (from verified claims) and a client never can, on
/// any route. Built in: `x-user-*`, `x-auth-*`, `x-forwarded-user`,
/// `x-forwarded-email`, `x-remote-user`, `remote-user`; plus `configured`.
/// Underscore spellings count too (`X-User_Id` reaches a CGI/WSGI backend
/// as `X-User-Id`).
pub(crate) fn is_identity(name: &HeaderName, configured: &[HeaderName]) -> bool {
    fn builtin(n: &str) -> bool {
        n.starts_with("x-user-")
            || n.starts_with("x-auth-")
            || matches!(
                n,
                "x-forwarded-user" | "x-forwarded-email" | "x-remote-user" | "remote-user"
            )
    }
    let n = name.as_str();
    if n.contains('_') {
        let dashed = n.replace('_', "-");
        return builtin(&dashed) || configured.iter().any(|c| c.as_str() == dashed);
    }
    builtin(n) || configured.contains(name)
}

/// Names listed in the `Connection` header(s), lower-cased.
fn connection_named(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect()
}

/// The headers to send upstream for a client request, given what
/// authentication established (the consumed token is never forwarded;
/// `forward_claims` headers come from the verified claims only).
///
/// Strip, then set: everything the gateway owns or injects is removed from
/// the client's headers, then the gateway's own values are set. Injected
/// secrets are not set here but by [`inject`], a step of its own.
/// `body_len` is the length of a body read whole (its `Content-Length`
/// replaces the client's, which may describe the bytes before a rewrite).
pub(crate) fn upstream_request(
    client: &HeaderMap,
    route: &Route,
    ctx: &RequestContext,
    auth: Option<&Authenticated>,
    body_len: Option<usize>,
) -> Result<HeaderMap, GatewayError> {
    let named = connection_named(client);
    let consumed = auth.and_then(Authenticated::token_source);
    let mut out = HeaderMap::with_capacity(client.len() + route.inject_headers.len() + 4);
    for (name, value) in client {
        let drop = is_gateway_owned(name)
            || named.contains(name)
            || (*name == header::AUTHORIZATION
                && (!route.forward_authorization || consumed == Some(TokenSource::Header)))
            || *name == header::COOKIE
            || route.inject_headers.iter().any(|(n, _)| n == name)
            || route.forward_claims.iter().any(|(n, _)| n == name)
            || is_identity(name, &route.identity_headers)
            || !route.header_filter.permits(name);
        if !drop {
            out.append(name.clone(), value.clone());
        }
    }
    if route.forward_cookies && route.header_filter.permits(&header::COOKIE) {
        forward_cookies(client, route, consumed, &mut out);
    }
    match body_len {
        Some(len) if len > 0 || client.contains_key(header::CONTENT_LENGTH) => {
            out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        Some(_) => {}
        None => {
            if let Some(length) = client.get(header::CONTENT_LENGTH) {
                out.insert(header::CONTENT_LENGTH, length.clone());
            }
        }
    }
    set_forwarded(client, ctx, &mut out);
    out.insert(REQUEST_ID, ctx.request_id.clone());
    if let (Some(auth), Some(verifier)) = (auth, &route.auth)
        && matches!(auth.credential, Credential::Webhook { .. })
        && let Ok(name) = HeaderValue::from_str(&verifier.name)
    {
        // The app can tell a verified event from anything else; a client
        // cannot send this header (`x-portcullis-*` is stripped on arrival).
        out.insert(VERIFIED, name);
    }
    if let Some(auth) = auth {
        for (name, claim) in &route.forward_claims {
            if let Some(value) = claims::header_value(&auth.identity.claims, claim)? {
                out.insert(name.clone(), value);
            }
        }
    }
    Ok(out)
}

/// Sets the route's injected headers (secrets, marked sensitive) on the
/// upstream request; the client's copies were stripped before.
pub(crate) fn inject(route: &Route, out: &mut HeaderMap) {
    for (name, value) in &route.inject_headers {
        out.insert(name.clone(), value.clone());
    }
}

/// The client's cookies, minus the session cookie the gateway consumed.
fn forward_cookies(
    client: &HeaderMap,
    route: &Route,
    consumed: Option<TokenSource>,
    out: &mut HeaderMap,
) {
    let consumed_cookie = match (consumed, &route.auth) {
        (Some(TokenSource::Cookie), Some(verifier)) => verifier.token_cookie(),
        _ => None,
    };
    for value in client.get_all(header::COOKIE) {
        match consumed_cookie {
            None => {
                out.append(header::COOKIE, value.clone());
            }
            Some(name) => {
                let kept = value
                    .to_str()
                    .ok()
                    .and_then(|v| token::without_cookie(v, name));
                if let Some(value) = kept.and_then(|k| HeaderValue::from_str(&k).ok()) {
                    out.append(header::COOKIE, value);
                }
            }
        }
    }
}

/// X-Forwarded-For/-Proto/-Host: the client's chain is believed only from a trusted peer.
fn set_forwarded(client: &HeaderMap, ctx: &RequestContext, out: &mut HeaderMap) {
    let peer = ctx
        .peer
        .map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let trusted = |name: &HeaderName| {
        ctx.peer_trusted
            .then(|| client.get(name))
            .flatten()
            .and_then(|v| v.to_str().ok())
    };
    let xff = match trusted(&X_FORWARDED_FOR) {
        Some(chain) => format!("{chain}, {peer}"),
        None => peer,
    };
    if let Ok(value) = HeaderValue::from_str(&xff) {
        out.insert(X_FORWARDED_FOR, value);
    }
    let proto = trusted(&X_FORWARDED_PROTO).unwrap_or("http");
    if let Ok(value) = HeaderValue::from_str(proto) {
        out.insert(X_FORWARDED_PROTO, value);
    }
    let host = trusted(&X_FORWARDED_HOST).map(HeaderValue::from_str);
    match host {
        Some(Ok(value)) => {
            out.insert(X_FORWARDED_HOST, value);
        }
        _ => {
            if let Some(value) = client.get(header::HOST) {
                out.insert(X_FORWARDED_HOST, value.clone());
            }
        }
    }
}

/// Removes what must not reach the client from an upstream response.
pub(crate) fn filter_response(headers: &mut HeaderMap, route: &Route) {
    for name in connection_named(headers) {
        headers.remove(name);
    }
    let drop: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            is_hop_by_hop(name)
                || name.as_str().starts_with("access-control-")
                || *name == header::ALT_SVC
                || (*name == header::SET_COOKIE && !route.forward_set_cookie)
        })
        .cloned()
        .collect();
    for name in drop {
        headers.remove(name);
    }
}
