//! Upstream failures become clear gateway errors: 502, 504, never a hang.

mod common;

use common::*;

#[tokio::test]
async fn connection_refused_is_502() {
    // Port 1: below the range bind(0) hands out, so no other test's listener
    // can take it between here and the request (a freed ephemeral port can).
    let addr = "127.0.0.1:1";
    let gw = gateway(&format!(
        "[[routes]]\nname = \"dead\"\npath = \"/api/dead\"\nupstream = \"http://{addr}\"\nauth = \"none\"\n"
    ))
    .await;
    let response = client().get(gw.url("/api/dead/x")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    let body = response.text().await.unwrap();
    assert!(body.contains("\"code\":\"upstream_unavailable\""), "{body}");
    // No internal detail in the body.
    assert!(
        !body.contains("127.0.0.1") && !body.contains("refused"),
        "{body}"
    );
}

#[tokio::test]
async fn upstream_closing_without_answer_is_502() {
    // A TCP server that reads the request and hangs up without a response.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        for _ in 0..4 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    let gw = gateway(&format!(
        "[[routes]]\nname = \"rude\"\npath = \"/api/rude\"\nupstream = \"http://{addr}\"\nauth = \"none\"\n"
    ))
    .await;
    let response = client().get(gw.url("/api/rude/x")).send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(error_code(response).await, "upstream_unavailable");
}

#[tokio::test]
async fn slow_upstream_is_504() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "timeout = \"300ms\"")).await;
    let response = client().get(gw.url("/api/up/slow")).send().await.unwrap();
    assert_eq!(response.status(), 504);
    assert_eq!(error_code(response).await, "upstream_timeout");
}

#[tokio::test]
async fn upstream_idle_mid_stream_aborts_the_response() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "timeout = \"300ms\"")).await;
    let response = client().get(gw.url("/api/up/stall")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let result = response.bytes().await;
    assert!(result.is_err(), "a stalled stream must not end cleanly");
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let up = upstream().await;
    let other = upstream().await;
    *up.state.redirect_to.lock().unwrap() = Some(other.addr);
    let gw = gateway(&one_route(
        &up,
        r#"inject_headers = { "x-api-key" = "${env:API_KEY}" }"#,
    ))
    .await;
    let response = client()
        .get(gw.url("/api/up/redirect"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        format!("http://{}/stolen", other.addr).as_str()
    );
    assert_eq!(
        other.calls(),
        0,
        "the gateway followed a redirect with the key"
    );
}
