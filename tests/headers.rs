//! Header hygiene in both directions: strip, then set.

mod common;

use common::*;

const INJECT: &str = r#"inject_headers = { authorization = "Bearer ${env:API_KEY}", "x-api-key" = "${env:API_KEY}" }"#;

#[tokio::test]
async fn secret_is_injected_and_client_credentials_are_stripped() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, INJECT)).await;
    let response = client()
        .get(gw.url("/api/up/x"))
        .header("authorization", "Bearer client-token")
        .header("x-api-key", "client-chosen-key")
        .header("cookie", "session=abc")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = up.last();
    let auth: Vec<_> = seen.headers.get_all("authorization").iter().collect();
    assert_eq!(auth, [&format!("Bearer {API_KEY}")]);
    let keys: Vec<_> = seen.headers.get_all("x-api-key").iter().collect();
    assert_eq!(keys, [API_KEY]);
    assert!(!seen.headers.contains_key("cookie"));
    assert!(!seen.headers.contains_key("proxy-authorization"));
}

#[tokio::test]
async fn client_credentials_stripped_even_without_injection() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    client()
        .get(gw.url("/api/up/x"))
        .header("authorization", "Bearer client-token")
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert!(!seen.headers.contains_key("authorization"));
    assert!(!seen.headers.contains_key("cookie"));
}

#[tokio::test]
async fn credentials_forwarded_only_on_opt_in() {
    let up = upstream().await;
    let gw = gateway(&one_route(
        &up,
        "forward_authorization = true\nforward_cookies = true",
    ))
    .await;
    client()
        .get(gw.url("/api/up/x"))
        .header("authorization", "Bearer client-token")
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert_eq!(seen.headers["authorization"], "Bearer client-token");
    assert_eq!(seen.headers["cookie"], "session=abc");
}

#[tokio::test]
async fn hop_by_hop_and_connection_named_headers_are_not_forwarded() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = raw(
        gw.addr,
        b"GET /api/up/x HTTP/1.1\r\nHost: app.example\r\nConnection: close, x-secret-hop\r\n\
          X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\n\
          Proxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n",
    )
    .await;
    assert_eq!(raw_status(&response), 200, "{response}");
    let seen = up.last();
    for name in [
        "x-secret-hop",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-connection",
    ] {
        assert!(!seen.headers.contains_key(name), "{name} was forwarded");
    }
    assert_eq!(seen.headers["x-kept"], "yes");
    // Host is the upstream's; the client's host is in X-Forwarded-Host.
    assert_eq!(seen.headers["host"], up.addr.to_string());
    assert_eq!(seen.headers["x-forwarded-host"], "app.example");

    // Response side: hop-by-hop, Connection-named, Set-Cookie, CORS and Alt-Svc dropped.
    let lower = response.to_ascii_lowercase();
    for name in [
        "x-upstream-hop",
        "keep-alive:",
        "set-cookie",
        "access-control-",
        "alt-svc",
    ] {
        assert!(
            !lower.contains(name),
            "{name} reached the client:\n{response}"
        );
    }
    assert!(lower.contains("x-upstream-kept: yes"));
}

#[tokio::test]
async fn set_cookie_passes_only_on_opt_in() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "forward_set_cookie = true")).await;
    let response = client().get(gw.url("/api/up/x")).send().await.unwrap();
    assert_eq!(response.headers()["set-cookie"], "tracker=1; Path=/");
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn forwarding_headers_are_set_by_the_gateway() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client()
        .get(gw.url("/api/up/x"))
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "for=6.6.6.6")
        .header("x-real-ip", "6.6.6.6")
        .header("x-request-id", "client-chosen")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-host"], gw.addr.to_string());
    assert!(!seen.headers.contains_key("forwarded"));
    assert!(!seen.headers.contains_key("x-real-ip"));
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(id, "client-chosen");
    assert_eq!(seen.headers["x-request-id"], id.as_str());
}

#[tokio::test]
async fn trusted_proxy_forwarding_headers_are_kept() {
    let up = upstream().await;
    let gw = gateway(&format!(
        "[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n{}",
        one_route(&up, "")
    ))
    .await;
    let response = client()
        .get(gw.url("/api/up/x"))
        .header("x-forwarded-for", "198.51.100.7")
        .header("x-forwarded-proto", "https")
        .header("x-request-id", "edge-id-42")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert_eq!(seen.headers["x-forwarded-for"], "198.51.100.7, 127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "https");
    assert_eq!(seen.headers["x-request-id"], "edge-id-42");
    assert_eq!(response.headers()["x-request-id"], "edge-id-42");
}

#[tokio::test]
async fn internal_and_override_headers_are_stripped_on_arrival() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    client()
        .post(gw.url("/api/up/x"))
        .header("x-portcullis-user", "admin")
        .header("x-original-url", "/admin")
        .header("x-rewrite-url", "/admin")
        .header("x-http-method-override", "DELETE")
        .header("x-method-override", "DELETE")
        .body("b")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    for name in [
        "x-portcullis-user",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
        "x-method-override",
    ] {
        assert!(!seen.headers.contains_key(name), "{name} was forwarded");
    }
}

#[tokio::test]
async fn allow_list_narrows_forwarded_headers() {
    let up = upstream().await;
    let gw = gateway(&one_route(
        &up,
        &format!("{INJECT}\nrequest_headers = {{ allow = [\"content-type\", \"authorization\"] }}"),
    ))
    .await;
    client()
        .post(gw.url("/api/up/x"))
        .header("content-type", "application/json")
        .header("x-other", "1")
        .header("user-agent", "test")
        .body("{}")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert_eq!(seen.headers["content-type"], "application/json");
    assert!(!seen.headers.contains_key("x-other"));
    assert!(!seen.headers.contains_key("user-agent"));
    // The gateway's own headers are still set.
    assert_eq!(
        seen.headers["authorization"],
        format!("Bearer {API_KEY}").as_str()
    );
    assert!(seen.headers.contains_key("x-request-id"));
    assert_eq!(seen.body, b"{}");
}

#[tokio::test]
async fn deny_list_removes_named_headers() {
    let up = upstream().await;
    let gw = gateway(&one_route(
        &up,
        "request_headers = { deny = [\"x-other\"] }",
    ))
    .await;
    client()
        .get(gw.url("/api/up/x"))
        .header("x-other", "1")
        .header("x-fine", "2")
        .send()
        .await
        .unwrap();
    let seen = up.last();
    assert!(!seen.headers.contains_key("x-other"));
    assert_eq!(seen.headers["x-fine"], "2");
}

#[tokio::test]
async fn injected_query_replaces_client_parameter() {
    let up = upstream().await;
    let gw = gateway(&one_route(
        &up,
        r#"inject_query = { key = "${env:QUERY_KEY}" }"#,
    ))
    .await;
    client()
        .get(gw.url("/api/up/x?a=1&key=evil&ke%79=evil2&b=%2F"))
        .send()
        .await
        .unwrap();
    let uri = up.last().uri;
    assert_eq!(uri, "/base/x?a=1&b=%2F&key=qk-SECRET-abc%26%3D%2B+def");
    client().get(gw.url("/api/up/x")).send().await.unwrap();
    assert_eq!(up.last().uri, "/base/x?key=qk-SECRET-abc%26%3D%2B+def");
}
