//! The process lifecycle with a real binary and real signals: graceful
//! shutdown lets in-flight streams finish, and the grace is bounded.

mod common;

use std::time::{Duration, Instant};

use common::process::GatewayProcess;
use common::*;
use futures_util::StreamExt;

fn config(dir: &std::path::Path, up: &Upstream, extra_server: &str) -> std::path::PathBuf {
    let path = dir.join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n{extra_server}\n[[routes]]\nname = \"up\"\npath = \"/api/up\"\nupstream = \"http://{}/base\"\nauth = \"none\"\ntimeout = \"10s\"\n",
            up.addr
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn sigterm_lets_an_sse_stream_finish_then_exits_0() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut gw = GatewayProcess::start(&config(dir.path(), &up, ""), &[]);
    let response = client().get(gw.url("/api/up/sse")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: event 0"));
    gw.signal("TERM");
    gw.wait_for_log("shutdown signal received", Duration::from_secs(5));
    // New connections are refused while the stream drains.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        std::net::TcpStream::connect(&gw.addr).is_err(),
        "still accepting after SIGTERM"
    );
    let mut rest = Vec::new();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.expect("the in-flight stream was cut"));
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(rest.contains("data: event 4"), "{rest}");
    assert!(gw.wait_exit(Duration::from_secs(5)), "exit code was not 0");
}

#[tokio::test]
async fn shutdown_grace_bounds_the_wait() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut gw = GatewayProcess::start(&config(dir.path(), &up, "shutdown_grace = \"300ms\""), &[]);
    // A stream that stalls for 5 s after its first chunk.
    let response = client().get(gw.url("/api/up/stall")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let _ = stream.next().await.unwrap().unwrap();
    let signalled = Instant::now();
    gw.signal("TERM");
    assert!(gw.wait_exit(Duration::from_secs(4)), "exit code was not 0");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        signalled.elapsed()
    );
    assert!(gw.all_logs().contains("shutdown grace expired"));
}

#[tokio::test]
async fn metrics_are_labelled_by_route_and_limit_never_by_path() {
    let up = upstream().await;
    let admin = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"{admin}\"\n[limits.tight]\nkey = \"global\"\nrate = \"1/hour\"\nburst = 1\n[[routes]]\nname = \"up\"\npath = \"/api/up\"\nupstream = \"http://{}/base\"\nauth = \"none\"\nlimits = [\"tight\"]\n",
            up.addr
        ),
    )
    .unwrap();
    let gw = GatewayProcess::start(&path, &[]);
    let c = client();
    assert_eq!(
        c.get(gw.url("/api/up/user-42-secret-path"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(gw.url("/api/up/user-42-secret-path"))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        c.get(gw.url("/nowhere/user-43"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let metrics = metrics(admin).await;
    for expected in [
        r#"portcullis_requests_total{route="up",method="GET",status_class="2xx"} 1"#,
        r#"portcullis_requests_total{route="up",method="GET",status_class="4xx"} 1"#,
        r#"portcullis_requests_total{route="-",method="GET",status_class="4xx"} 1"#,
        r#"portcullis_rate_limited_total{limit="tight"} 1"#,
        "portcullis_request_duration_seconds_bucket",
        "portcullis_upstream_duration_seconds_bucket",
        "portcullis_requests_in_flight",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
    assert!(
        !metrics.contains("user-42") && !metrics.contains("user-43"),
        "a raw path became a label"
    );
}

#[tokio::test]
async fn ctrl_c_drains_with_readyz_reporting_shutdown() {
    let up = upstream().await;
    let admin = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let mut gw = GatewayProcess::start(
        &config(dir.path(), &up, &format!("admin_listen = \"{admin}\"")),
        &[],
    );
    let c = client();
    let ready = c
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let response = c.get(gw.url("/api/up/sse")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let _ = stream.next().await.unwrap().unwrap();
    gw.signal("INT");
    gw.wait_for_log("shutdown signal received", Duration::from_secs(5));
    let draining = c
        .get(format!("http://{admin}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(draining.status(), 503);
    assert!(draining.text().await.unwrap().contains("shutting down"));
    while let Some(chunk) = stream.next().await {
        chunk.expect("the in-flight stream was cut");
    }
    assert!(gw.wait_exit(Duration::from_secs(5)), "exit code was not 0");
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_config_it_started_with() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &up, "");
    let mut gw = GatewayProcess::start(&path, &[]);
    let response = client().get(gw.url("/api/up/sse")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let _ = stream.next().await.unwrap().unwrap();
    // The route disappears while its stream is running.
    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:0\"\n[[routes]]\nname = \"other\"\npath = \"/api/other\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\n").unwrap();
    gw.wait_for_log("config reloaded", Duration::from_secs(10));
    let mut rest = Vec::new();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.expect("the reload cut an in-flight stream"));
    }
    assert!(String::from_utf8(rest).unwrap().contains("data: event 4"));
    assert_eq!(
        client()
            .get(gw.url("/api/up/x"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
