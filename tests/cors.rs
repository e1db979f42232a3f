//! CORS owned by the gateway: preflights answered before auth and never
//! forwarded, exact and wildcard origin rules with their bypass attempts,
//! credentials, Vary, headers on the gateway's own errors, upstream CORS
//! headers dropped.

mod common;

use common::*;

const CORS: &str = r#"
[cors]
allow_origins = ["https://app.example.com", "https://*.preview.example.com"]
allow_credentials = true
allow_headers = ["authorization", "content-type"]
expose_headers = ["x-request-id"]
max_age = "10m"
"#;

const SECRET: &str = "cors-test-secret-0123456789abcdef-xyz";

async fn setup(up: &Upstream) -> TestGateway {
    let mut env = std::collections::HashMap::new();
    env.insert("S".to_owned(), SECRET.to_owned());
    let toml = format!(
        r#"{CORS}
[auth.dev]
allow_any_issuer = true
allow_any_audience = true
secret = "${{env:S}}"
algorithms = ["HS256"]
token_from = ["header", "cookie:session"]

[[routes]]
name = "open"
path = "/api/open"
upstream = "http://{up}/base"
auth = "none"
methods = ["GET", "POST"]

[[routes]]
name = "private"
path = "/api/private"
upstream = "http://{up}/base"
auth = "dev"
methods = ["GET", "POST", "DELETE"]

[[routes]]
name = "own"
path = "/api/own"
upstream = "http://{up}/base"
auth = "none"
cors = {{ allow_origins = ["https://partner.example"] }}
"#,
        up = up.addr
    );
    let snapshot = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&toml).unwrap(),
        &FakeSecrets(env),
    )
    .unwrap();
    gateway_from(snapshot).await
}

fn token() -> String {
    common::idp::SigningKey::hmac(SECRET)
        .sign(&serde_json::json!({"sub": "u", "exp": 4_000_000_000u64}))
}

async fn preflight(gw: &TestGateway, path: &str, origin: &str, method: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, gw.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn cors_headers(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.to_string())
        .collect()
}

#[tokio::test]
async fn preflight_is_answered_without_auth_and_never_forwarded() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let r = preflight(&gw, "/api/private/x", "https://app.example.com", "DELETE").await;
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, DELETE");
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h["vary"].to_str().unwrap().contains("origin"));
    assert_eq!(up.calls(), 0, "a preflight was forwarded");
}

#[tokio::test]
async fn disallowed_origins_get_no_cors_headers() {
    let up = upstream().await;
    let gw = setup(&up).await;
    for origin in [
        "https://evil.example",
        "https://evil-app.example.com",
        "https://app.example.com.evil.net",
        "http://app.example.com",
        "https://a.b.preview.example.com",
        "https://preview.example.com",
        "https://evilpreview.example.com",
        "null",
    ] {
        let r = preflight(&gw, "/api/open/x", origin, "POST").await;
        assert!(
            cors_headers(&r).is_empty(),
            "{origin}: {:?}",
            cors_headers(&r)
        );
        let r = client()
            .get(gw.url("/api/open/x"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            cors_headers(&r).is_empty(),
            "{origin}: {:?}",
            cors_headers(&r)
        );
        assert!(r.headers()["vary"].to_str().unwrap().contains("origin"));
    }
    assert_eq!(up.calls(), 8, "only the simple GETs reach the upstream");
}

#[tokio::test]
async fn wildcard_matches_one_whole_label() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let r = preflight(
        &gw,
        "/api/open/x",
        "https://pr-42.preview.example.com",
        "POST",
    )
    .await;
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://pr-42.preview.example.com"
    );
}

#[tokio::test]
async fn allowed_origin_gets_headers_on_success_and_upstream_cors_is_replaced() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let r = client()
        .get(gw.url("/api/open/x"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    // The upstream answered `Access-Control-Allow-Origin: *`; the gateway's policy wins.
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h.get_all("access-control-allow-origin").iter().count(), 1);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-expose-headers"], "x-request-id");
    assert!(h["vary"].to_str().unwrap().contains("origin"));
}

#[tokio::test]
async fn gateway_errors_carry_cors_headers_for_allowed_origins() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let c = client();
    let unauthorized = c
        .get(gw.url("/api/private/x"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let not_found = c
        .get(gw.url("/api/none"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.status(), 404);
    assert_eq!(
        not_found.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let not_allowed = c
        .request(reqwest::Method::PUT, gw.url("/api/open/x"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(
        not_allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn route_policy_overrides_the_global_one() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let r = preflight(&gw, "/api/own/x", "https://partner.example", "GET").await;
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
    let r = preflight(&gw, "/api/own/x", "https://app.example.com", "GET").await;
    assert!(cors_headers(&r).is_empty());
}

#[tokio::test]
async fn allowed_cross_origin_page_may_use_cookie_tokens() {
    let up = upstream().await;
    let gw = setup(&up).await;
    let c = client();
    let send = |origin: &'static str| {
        c.post(gw.url("/api/private/x"))
            .header("cookie", format!("session={}", token()))
            .header("origin", origin)
            .body("x")
            .send()
    };
    assert_eq!(send("https://app.example.com").await.unwrap().status(), 200);
    assert_eq!(send("https://evil.example").await.unwrap().status(), 403);
}

#[test]
fn star_with_credentials_is_a_config_error() {
    let toml = "[cors]\nallow_origins = [\"*\"]\nallow_credentials = true\n[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\n";
    let err = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(toml).unwrap(),
        &FakeSecrets::standard(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cors.allow_origins"), "{err}");
    let toml = "[cors]\nallow_origins = [\"https://app.example.com/path\"]\n[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\n";
    let err = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(toml).unwrap(),
        &FakeSecrets::standard(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not an origin"), "{err}");
}
