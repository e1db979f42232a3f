//! The one error type of the request path, and the one place that turns it
//! into a response.
//!
//! Each variant knows who caused it (client 4xx, upstream 502/504, internal
//! 500), a stable machine `code`, and a message safe to show a frontend
//! developer. Internal and upstream detail is logged where it happens, once,
//! and never put in a body.

use axum::body::Body;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use std::sync::Arc;

use crate::auth::AuthError;
use crate::proxy::path::PathError;
use crate::rate_limit::Decision;

/// Everything that can make the gateway answer instead of the upstream.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    /// No route owns the path.
    #[error("no route matches this path")]
    NoRoute,
    /// The route does not allow the method.
    #[error("method not allowed on this route")]
    MethodNotAllowed {
        /// The route's `Allow` header value.
        allow: HeaderValue,
    },
    /// The path is unsafe to forward.
    #[error("{0}")]
    BadPath(#[from] PathError),
    /// Framing or header problems the gateway will not forward.
    #[error("{0}")]
    BadRequest(&'static str),
    /// Authentication or authorization refused the request.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// A rate limit refused the request.
    #[error("too many requests: limit `{limit}` allows {} at once; retry after the Retry-After seconds", .decision.limit)]
    RateLimited {
        /// The limit's name.
        limit: Arc<str>,
        /// Its verdict (for the RateLimit-* and Retry-After headers).
        decision: Decision,
    },
    /// The rate-limit backend failed and the policy is to deny.
    #[error("rate limiting is temporarily unavailable; retry shortly")]
    RateLimitUnavailable,
    /// The request head is larger, or has more headers, than `[server]` allows.
    #[error(
        "the request's headers are too large: at most {max_headers} headers and {max_size} bytes"
    )]
    HeadersTooLarge {
        /// `max_headers`.
        max_headers: usize,
        /// `max_header_size` in bytes.
        max_size: u64,
    },
    /// `[server] max_in_flight` requests are in flight.
    #[error("the gateway is at capacity; retry shortly")]
    Overloaded,
    /// The client did not send its body in time.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// The body is larger than the route allows.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The route's `max_body`.
        limit: u64,
    },
    /// A duplicate of a webhook delivery that is being forwarded right now.
    #[error("this delivery is being processed; retry later")]
    DeliveryInProgress,
    /// The webhook delivery store failed and the policy is to deny.
    #[error("webhook deduplication is temporarily unavailable; retry shortly")]
    DedupeUnavailable,
    /// The upstream could not be reached or broke the exchange.
    #[error("the upstream service could not be reached")]
    UpstreamUnavailable,
    /// The upstream did not answer within the route's timeout.
    #[error("the upstream service did not respond in time")]
    UpstreamTimeout,
    /// A bug or resource problem inside the gateway; the detail is logged
    /// (once, where the response is made), never sent.
    #[error("internal error in the gateway")]
    Internal(&'static str),
}

impl GatewayError {
    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            GatewayError::NoRoute => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::BadPath(_) | GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::Auth(AuthError::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Auth(AuthError::Forbidden(_) | AuthError::Csrf(_)) => {
                StatusCode::FORBIDDEN
            }
            GatewayError::Auth(_) => StatusCode::UNAUTHORIZED,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            GatewayError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::RateLimitUnavailable | GatewayError::DedupeUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GatewayError::DeliveryInProgress => StatusCode::CONFLICT,
            GatewayError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code in the JSON body.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            GatewayError::NoRoute => "no_route",
            GatewayError::MethodNotAllowed { .. } => "method_not_allowed",
            GatewayError::BadPath(_) => "bad_path",
            GatewayError::BadRequest(_) => "bad_request",
            GatewayError::Auth(e) => e.code(),
            GatewayError::PayloadTooLarge { .. } => "payload_too_large",
            GatewayError::RequestTimeout => "request_timeout",
            GatewayError::HeadersTooLarge { .. } => "headers_too_large",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::RateLimitUnavailable => "rate_limit_unavailable",
            GatewayError::DeliveryInProgress => "delivery_in_progress",
            GatewayError::DedupeUnavailable => "dedupe_unavailable",
            GatewayError::Overloaded => "overloaded",
            GatewayError::UpstreamUnavailable => "upstream_unavailable",
            GatewayError::UpstreamTimeout => "upstream_timeout",
            GatewayError::Internal(_) => "internal",
        }
    }

    /// The JSON response: `{"error":{"code":..,"message":..,"request_id":..}}`.
    pub(crate) fn into_response(self, request_id: &HeaderValue) -> Response<Body> {
        if let GatewayError::Internal(detail) = &self {
            let request_id = request_id.to_str().unwrap_or("-");
            tracing::error!(detail, request_id, "internal error");
        }
        let body = serde_json::json!({
            "error": {
                "code": self.code(),
                "message": self.to_string(),
                "request_id": request_id.to_str().unwrap_or_default(),
            }
        });
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(
            self,
            GatewayError::BadRequest(_)
                | GatewayError::BadPath(_)
                | GatewayError::HeadersTooLarge { .. }
        ) {
            // A client that framed one request wrongly gets no second one on
            // this connection: nothing after it can be read as a request.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        match self {
            GatewayError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, allow);
            }
            GatewayError::RateLimited { decision, .. } => decision.write_headers(headers),
            GatewayError::RateLimitUnavailable
            | GatewayError::DedupeUnavailable
            | GatewayError::Overloaded => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            GatewayError::Auth(e) => {
                // RFC 6750 §3: a challenge on 401, the error kind when a token was sent.
                let challenge = match &e {
                    // A webhook sender does not do Bearer auth.
                    e if e.is_signature() => None,
                    AuthError::Missing => Some("Bearer"),
                    AuthError::Forbidden(_) => Some("Bearer error=\"insufficient_scope\""),
                    AuthError::Csrf(_) | AuthError::Unavailable => None,
                    _ => Some("Bearer error=\"invalid_token\""),
                };
                if let Some(challenge) = challenge {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
                if matches!(e, AuthError::Unavailable) {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
            }
            _ => {}
        }
        response
    }
}
