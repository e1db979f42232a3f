//! Request framing over raw sockets: no ambiguous request is forwarded as
//! something else, and nothing can be smuggled behind it.

mod common;

use common::*;

/// Sends `request` raw; returns every response's status line count and the first status.
async fn send(gw: &TestGateway, request: &[u8]) -> (u16, String) {
    let response = raw(gw.addr, request).await;
    (raw_status(&response), response)
}

#[tokio::test]
async fn ambiguous_framing_is_refused_before_the_upstream() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let cases: &[(&str, &[u8])] = &[
        ("chunked, identity", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"),
        ("xchunked", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"),
        ("cow, chunked", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: cow, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"),
        ("space before colon", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd"),
        ("obs-fold", b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"),
        ("bare CR", b"GET /api/up/x HTTP/1.1\rHost: x\r\n\r\n"),
        ("bad first chunk size", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n"),
        ("overflowing chunk size", b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nabcd\r\n0\r\n\r\n"),
        ("HTTP/1.0 chunked", b"POST /api/up/x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"),
    ];
    for (name, request) in cases {
        let (status, response) = send(&gw, request).await;
        assert!(matches!(status, 400 | 501), "{name}: {response}");
        assert_eq!(
            response.matches("HTTP/1.1 ").count(),
            1,
            "{name}: {response}"
        );
        assert_eq!(up.calls(), 0, "{name} reached the upstream");
    }
}

#[tokio::test]
async fn h2c_upgrade_and_settings_are_never_forwarded() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let (status, response) = send(
        &gw,
        b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings, close\r\n\r\n",
    )
    .await;
    assert_ne!(status, 101, "{response}");
    let (status, response) = send(
        &gw,
        b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_ne!(status, 101, "{response}");
    for seen in up.state.seen.lock().unwrap().iter() {
        assert!(seen.headers.get("upgrade").is_none());
        assert!(
            seen.headers.get("http2-settings").is_none(),
            "HTTP2-Settings forwarded"
        );
    }
}

#[tokio::test]
async fn a_pipelined_request_behind_a_refused_one_is_never_forwarded() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let (status, response) = send(
        &gw,
        b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcdGET /api/up/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{response}");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn oversized_heads_get_431_before_the_upstream() {
    let up = upstream().await;
    let gw = gateway(&format!(
        "[server]\nmax_header_size = \"4KiB\"\nmax_headers = 20\n{}",
        one_route(&up, "")
    ))
    .await;
    let c = client();
    let mut many = c.get(gw.url("/api/up/x"));
    for i in 0..25 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let r = many.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(error_code(r).await, "headers_too_large");
    let r = c
        .get(gw.url("/api/up/x"))
        .header("x-big", "a".repeat(5000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(error_code(r).await, "headers_too_large");
    // Far beyond: hyper refuses before a request exists (bare 431).
    let (status, _) = send(
        &gw,
        format!(
            "GET /api/up/x HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n",
            "a".repeat(20_000)
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status, 431);
    assert_eq!(up.calls(), 0);
    assert_eq!(
        c.get(gw.url("/api/up/x")).send().await.unwrap().status(),
        200
    );
}
