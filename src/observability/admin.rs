//! The admin listener: `/metrics` (Prometheus), `/healthz` (the process is alive) and `/readyz`
//! (the current snapshot can serve every route: JWKS loaded, Redis
//! connected, not shutting down). Served apart from the main listener so
//! probes and operators never compete with, or are exposed to, user traffic.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use http::{Response, StatusCode, header};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::snapshot::Gateway;

/// The admin router; `/metrics` when a recorder is installed.
pub fn app(gateway: Gateway, metrics: Option<PrometheusHandle>) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(gateway);
    match metrics {
        Some(handle) => router.route(
            "/metrics",
            get(move || {
                let body = handle.render();
                async move {
                    let mut response = Response::new(Body::from(body));
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                    );
                    response
                }
            }),
        ),
        None => router,
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

async fn healthz() -> Response<Body> {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(gateway): State<Gateway>) -> Response<Body> {
    let reasons = gateway.not_ready();
    if reasons.is_empty() {
        json(StatusCode::OK, serde_json::json!({ "status": "ready" }))
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "not_ready", "reasons": reasons }),
        )
    }
}
