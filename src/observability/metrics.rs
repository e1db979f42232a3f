//! Prometheus metrics, served on the admin listener's `/metrics`.
//!
//! Labels are route names, limit names, verifier names, methods (standard
//! ones; anything else is `OTHER`), status classes and error kinds: bounded
//! sets, never raw paths or user ids. Without an installed recorder (tests,
//! `check`) every call here is a no-op. Names are passed as the `Arc<str>`
//! the config snapshot already holds, so a label costs a reference count,
//! not an allocation, on the request path.
//!
//! | metric | labels |
//! |---|---|
//! | `portcullis_requests_total` | route, method, status_class |
//! | `portcullis_request_duration_seconds` (histogram) | route |
//! | `portcullis_upstream_duration_seconds` (histogram) | route |
//! | `portcullis_requests_in_flight` (gauge) | |
//! | `portcullis_auth_failures_total` | route, reason |
//! | `portcullis_rate_limited_total` | limit |
//! | `portcullis_rate_limit_backend_errors_total` | limit |
//! | `portcullis_upstream_errors_total` | route, kind |
//! | `portcullis_config_reloads_total` | result |
//! | `portcullis_connections_rejected_total` | |
//! | `portcullis_jwks_fetches_total` | verifier, result |

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Installs the global recorder; returns the handle that renders `/metrics`.
pub fn install() -> Option<PrometheusHandle> {
    let buckets = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .ok()?
        .install_recorder()
        .map_err(|e| tracing::error!(error = %e, "cannot install the metrics recorder"))
        .ok()
}

/// Keeps histogram storage bounded; run every few seconds.
pub async fn upkeep(handle: PrometheusHandle) {
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        handle.run_upkeep();
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// A request entered the gateway.
pub fn request_started() {
    metrics::gauge!("portcullis_requests_in_flight").increment(1.0);
}

/// A request's response ended (or was dropped).
pub fn request_finished(
    route: Option<&Arc<str>>,
    method: &Method,
    status: StatusCode,
    total: Duration,
    upstream: Option<Duration>,
) {
    metrics::gauge!("portcullis_requests_in_flight").decrement(1.0);
    let route: metrics::SharedString = route.map_or(metrics::SharedString::const_str("-"), |r| {
        Arc::clone(r).into()
    });
    metrics::counter!(
        "portcullis_requests_total",
        "route" => route.clone(),
        "method" => method_label(method),
        "status_class" => status_class(status)
    )
    .increment(1);
    metrics::histogram!("portcullis_request_duration_seconds", "route" => route.clone())
        .record(total.as_secs_f64());
    if let Some(upstream) = upstream {
        metrics::histogram!("portcullis_upstream_duration_seconds", "route" => route)
            .record(upstream.as_secs_f64());
    }
}

/// Authentication refused a request.
pub fn auth_failure(route: &Arc<str>, reason: &'static str) {
    metrics::counter!("portcullis_auth_failures_total", "route" => Arc::clone(route), "reason" => reason).increment(1);
}

/// A limit refused a request.
pub fn rate_limited(limit: &Arc<str>) {
    metrics::counter!("portcullis_rate_limited_total", "limit" => Arc::clone(limit)).increment(1);
}

/// The rate-limit backend failed for a limit.
pub fn rate_limit_backend_error(limit: &Arc<str>) {
    metrics::counter!("portcullis_rate_limit_backend_errors_total", "limit" => Arc::clone(limit))
        .increment(1);
}

/// The upstream failed (`timeout`, `unavailable`).
pub fn upstream_error(route: &Arc<str>, kind: &'static str) {
    metrics::counter!("portcullis_upstream_errors_total", "route" => Arc::clone(route), "kind" => kind).increment(1);
}

/// A connection was closed on accept: `max_connections` were open.
pub fn connection_rejected() {
    metrics::counter!("portcullis_connections_rejected_total").increment(1);
}

/// A config reload finished (`ok` or `failed`).
pub fn config_reload(ok: bool) {
    metrics::counter!("portcullis_config_reloads_total", "result" => if ok { "ok" } else { "failed" }).increment(1);
}

/// A JWKS fetch finished (`ok` or `failed`).
pub fn jwks_fetch(verifier: &Arc<str>, ok: bool) {
    metrics::counter!(
        "portcullis_jwks_fetches_total",
        "verifier" => Arc::clone(verifier),
        "result" => if ok { "ok" } else { "failed" }
    )
    .increment(1);
}
