//! Hostile connections against the real binary: idle sockets and slowloris
//! heads are closed within `header_read_timeout` while normal requests are
//! still answered; beyond `max_connections` new connections are closed at
//! once, counted, and the admin listener still answers.

mod common;

use std::time::{Duration, Instant};

use common::process::GatewayProcess;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many sockets this process may open for the test, leaving headroom.
fn socket_budget(want: usize) -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: usize = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024);
    want.min(soft.saturating_sub(200))
}

fn write_config(dir: &std::path::Path, up: &Upstream, server: &str) -> std::path::PathBuf {
    let path = dir.join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nworkers = 1\n{server}\n[[routes]]\nname = \"up\"\npath = \"/api/up\"\nupstream = \"http://{}/base\"\nauth = \"none\"\n",
            up.addr
        ),
    )
    .unwrap();
    path
}

/// Whether the server closed `stream` within `within` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match tokio::time::timeout(deadline - Instant::now(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 before the close
            Err(_) => return false,
        }
    }
    false
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed_while_requests_are_served() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &up,
        "header_read_timeout = \"1s\"\nmax_connections = 5000",
    );
    let gw = GatewayProcess::start(&config, &[]);
    let addr = gw.addr.clone();
    let idle_count = socket_budget(1000);
    let mut idle = Vec::with_capacity(idle_count);
    for _ in 0..idle_count {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Slowloris: a request head one byte at a time, 200 ms apart (bounded).
    let mut slow = Vec::new();
    for _ in 0..50 {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            for byte in
                b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
            {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                if started.elapsed() > Duration::from_secs(8) {
                    break;
                }
            }
            closed_within(&mut stream, Duration::from_secs(3))
                .await
                .then(|| started.elapsed())
        }));
    }
    // Normal requests are answered meanwhile.
    let c = client();
    for _ in 0..5 {
        let r = c.get(gw.url("/api/up/x")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    for task in slow {
        let closed_after = task
            .await
            .unwrap()
            .expect("a slowloris connection stayed open");
        assert!(
            closed_after < Duration::from_secs(4),
            "closed after {closed_after:?}"
        );
    }
    // Every idle one is closed by now (the slow ones took longer than 1 s).
    let mut still_open = 0;
    for stream in &mut idle {
        if !closed_within(stream, Duration::from_millis(100)).await {
            still_open += 1;
            if still_open > 10 {
                break;
            }
        }
    }
    assert_eq!(still_open, 0, "of {idle_count} idle connections");
    let r = c.get(gw.url("/api/up/x")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_counted() {
    let up = upstream().await;
    let admin = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &up,
        &format!("max_connections = 3\nadmin_listen = \"{admin}\""),
    );
    let gw = GatewayProcess::start(&config, &[]);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&gw.addr).await.unwrap());
    }
    // Give the gateway a moment to accept the three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(&gw.addr).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(2)).await,
        "the fourth connection stayed open"
    );
    // The admin listener answers while the main one is saturated.
    let metrics = metrics(admin).await;
    assert!(
        metrics.contains("portcullis_connections_rejected_total 1"),
        "{metrics}"
    );
    drop(held);
    let mut answered = false;
    for _ in 0..50 {
        if let Ok(r) = client().get(gw.url("/api/up/x")).send().await {
            answered = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "a request after the held connections closed");
}

/// Past `max_in_flight` (streams count until they end) a request gets 503
/// `overloaded` at once, without reaching the upstream.
#[tokio::test]
async fn requests_past_max_in_flight_are_refused_at_once() {
    let up = upstream().await;
    let gw = gateway(&format!(
        "[server]\nmax_in_flight = 2\n{}",
        one_route(&up, "timeout = \"5s\"")
    ))
    .await;
    let c = client();
    let mut streams = Vec::new();
    for _ in 0..2 {
        let r = c.get(gw.url("/api/up/long-sse")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        streams.push(r);
    }
    let started = Instant::now();
    let refused = c.get(gw.url("/api/up/x")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not queued"
    );
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(error_code(refused).await, "overloaded");
    assert_eq!(up.calls(), 2);
    for stream in streams {
        stream.bytes().await.unwrap();
    }
    assert_eq!(
        c.get(gw.url("/api/up/x")).send().await.unwrap().status(),
        200
    );
}
