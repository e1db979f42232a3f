//! Hostile paths and malformed requests: 400 JSON, and the upstream is never called.

mod common;

use common::*;

async fn send_path(addr: std::net::SocketAddr, path: &str) -> String {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

/// Sends `path` raw and expects 400 `bad_path`.
async fn assert_bad_path(gw: &TestGateway, path: &str) {
    let response = send_path(gw.addr, path).await;
    assert_eq!(raw_status(&response), 400, "{path}: {response}");
    assert!(
        response.contains("\"code\":\"bad_path\""),
        "{path}: {response}"
    );
}

#[tokio::test]
async fn dot_segments_in_every_spelling_are_refused() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    for path in [
        "/api/up/../secret",
        "/api/up/./x",
        "/api/up/..",
        "/api/up/%2e%2e/x",
        "/api/up/%2E%2E/x",
        "/api/up/.%2e/x",
        "/api/up/%2e./x",
        "/api/up/%2e/x",
        "/api/up/..;/x",
        "/api/up/%252e%252e/x",
        "/api/../api/up/x",
    ] {
        assert_bad_path(&gw, path).await;
    }
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn encoded_separators_and_nul_are_refused() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    for path in [
        "/api/up/a%2fb",
        "/api/up/a%2Fb",
        "/api/up/%2f%2fevil.example/x",
        "/api/up/a%5cb",
        "/api/up/a%5Cb",
        "/api/up/a%252fb",
        "/api/up/a%00b",
        "/api/up/a%2500",
        "/api/up/a%zz",
        "/api/up/a%",
    ] {
        assert_bad_path(&gw, path).await;
    }
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn authority_tricks_cannot_change_the_upstream_host() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    for (path, want) in [
        ("/api/up//evil.example/x", "/base//evil.example/x"),
        ("/api/up/@evil.example/x", "/base/@evil.example/x"),
        ("/api/up/http:/evil.example", "/base/http:/evil.example"),
        ("/api/up/x?@evil.example", "/base/x?@evil.example"),
    ] {
        let response = send_path(gw.addr, path).await;
        assert_eq!(raw_status(&response), 200, "{path}: {response}");
        let seen = up.last();
        assert_eq!(seen.uri, want);
        assert_eq!(seen.headers["host"], up.addr.to_string());
    }
    // Absolute-form request targets name a host; only the path is used.
    let response = send_path(gw.addr, "http://evil.example/api/up/x").await;
    assert_eq!(raw_status(&response), 200, "{response}");
    assert_eq!(up.last().uri, "/base/x");
    assert_eq!(up.last().headers["host"], up.addr.to_string());
}

/// hyper parses `Content-Length` + `Transfer-Encoding` as RFC 9112 §6.1 says
/// (chunked wins, the length is discarded, the connection is closed after the
/// response), before the gateway sees the request. What must hold is that no
/// second request can be smuggled: the upstream sees exactly the chunked
/// body, re-framed, and the bytes after it are never parsed as a request.
#[tokio::test]
async fn conflicting_content_length_and_transfer_encoding_cannot_smuggle() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    for request in [
        &b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
           4\r\nabcd\r\n0\r\n\r\nGET /api/up/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n\
           4\r\nabcd\r\n0\r\n\r\nGET /api/up/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let response = raw(gw.addr, request).await;
        assert_eq!(response.matches("HTTP/1.1 ").count(), 1, "{response}");
        let seen = up.last();
        assert_eq!(seen.uri, "/base/x");
        assert_eq!(seen.body, b"abcd");
        assert!(!seen.headers.contains_key("content-length"));
    }
    assert_eq!(up.calls(), 2, "a smuggled request reached the upstream");
}

#[tokio::test]
async fn duplicate_differing_content_length_is_refused() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = raw(
        gw.addr,
        b"POST /api/up/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\
          Connection: close\r\n\r\nabcde",
    )
    .await;
    assert_eq!(raw_status(&response), 400, "{response}");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn bad_header_bytes_are_refused() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    for request in [
        &b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\nConnection: close\r\n\r\n"[..],
        b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\nConnection: close\r\n\r\n",
        b"GET /api/up/x HTTP/1.1\r\nHost: x\r\n X-Folded: 1\r\nConnection: close\r\n\r\n",
        b"GET /api/up/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, x\r\nConnection: close\r\n\r\n",
    ] {
        let response = raw(gw.addr, request).await;
        assert_eq!(raw_status(&response), 400, "{request:?}: {response}");
    }
    assert_eq!(up.calls(), 0);
}
