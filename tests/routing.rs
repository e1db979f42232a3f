//! Route matching, path and query appending, 404 and 405.

mod common;

use common::*;

#[tokio::test]
async fn longest_whole_segment_prefix_wins() {
    let a = upstream().await;
    let b = upstream().await;
    let gw = gateway(&format!(
        r#"
[[routes]]
name = "short"
path = "/api"
upstream = "http://{a}/short"
auth = "none"

[[routes]]
name = "long"
path = "/api/openai"
upstream = "http://{b}/long"
auth = "none"
"#,
        a = a.addr,
        b = b.addr
    ))
    .await;
    let c = client();

    c.get(gw.url("/api/openai/chat")).send().await.unwrap();
    assert_eq!(b.last().uri, "/long/chat");
    // Not a whole segment: `/api/openaix` belongs to `/api`.
    c.get(gw.url("/api/openaix")).send().await.unwrap();
    assert_eq!(a.last().uri, "/short/openaix");
    c.get(gw.url("/api/openai")).send().await.unwrap();
    assert_eq!(b.last().uri, "/long");
    c.get(gw.url("/api/openai/")).send().await.unwrap();
    assert_eq!(b.last().uri, "/long/");
    // An encoded spelling of the prefix routes like the plain one.
    c.get(gw.url("/api/%6Fpenai/x")).send().await.unwrap();
    assert_eq!(b.last().uri, "/long/x");
    assert_eq!(a.calls(), 1);
    assert_eq!(b.calls(), 4);
}

#[tokio::test]
async fn path_and_raw_query_are_appended() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client()
        .get(gw.url("/api/up/v1/models/gpt%20x?b=2&a=1&a=%2F&flag&empty=&sp=a+b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        up.last().uri,
        "/base/v1/models/gpt%20x?b=2&a=1&a=%2F&flag&empty=&sp=a+b"
    );
}

#[tokio::test]
async fn upstream_at_root_gets_remainder_only() {
    let up = upstream().await;
    let gw = gateway(&format!(
        "[[routes]]\nname = \"root\"\npath = \"/api/root\"\nupstream = \"http://{}\"\nauth = \"none\"\n",
        up.addr
    ))
    .await;
    client().get(gw.url("/api/root")).send().await.unwrap();
    assert_eq!(up.last().uri, "/");
    client()
        .get(gw.url("/api/root/x?y=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(up.last().uri, "/x?y=1");
}

#[tokio::test]
async fn unknown_path_is_404_json() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client().get(gw.url("/api/other")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(error_code(response).await, "no_route");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn disallowed_method_is_405_with_allow() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, r#"methods = ["GET", "post"]"#)).await;
    let response = client().delete(gw.url("/api/up/x")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_eq!(error_code(response).await, "method_not_allowed");
    assert_eq!(up.calls(), 0);
    let response = client()
        .post(gw.url("/api/up/x"))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(up.last().method, "POST");
    assert_eq!(up.last().body, b"hi");
}
