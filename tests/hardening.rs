//! Holes found by trying the gateway as a hostile client: identity headers
//! spoofed through a public route, and a CSRF check that ignored the scheme.

mod common;

use common::*;

const SECRET: &str = "hardening-hs256-secret-0123456789abcdef";

fn config(up: &Upstream, server: &str) -> String {
    format!(
        r#"
[server]
{server}
identity_headers = ["x-employee"]

[auth.main]
allow_any_issuer = true
allow_any_audience = true
secret = "{SECRET}"
algorithms = ["HS256"]
token_from = ["header", "cookie:session"]

[[routes]]
name = "private"
path = "/api/private"
upstream = "http://{up}/app"
auth = "main"
forward_claims = {{ "x-tenant" = "org" }}

[[routes]]
name = "public"
path = "/api/public"
upstream = "http://{up}/app"
auth = "none"
"#,
        up = up.addr
    )
}

fn token() -> String {
    common::idp::SigningKey::hmac(SECRET)
        .sign(&serde_json::json!({"sub": "alice", "org": "acme", "exp": 4_000_000_000u64}))
}

#[tokio::test]
async fn identity_headers_cannot_be_sent_on_any_route() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let spoofed = [
        "x-user-id",
        "x-user_id",
        "X-User-Email",
        "x-auth-request-user",
        "x_auth_request_email",
        "x-forwarded-user",
        "x-forwarded-email",
        "x-remote-user",
        "remote-user",
        "remote_user",
        // Another route's forward_claims target, and [server] identity_headers.
        "x-tenant",
        "x_tenant",
        "x-employee",
    ];
    let mut request = client()
        .get(gw.url("/api/public/x"))
        .header("x-kept", "yes");
    for name in spoofed {
        request = request.header(name, "admin");
    }
    assert_eq!(request.send().await.unwrap().status(), 200);
    let seen = up.last();
    assert_eq!(seen.headers["x-kept"], "yes", "positive control");
    for name in spoofed {
        assert!(
            seen.headers.get(name).is_none(),
            "{name} reached the upstream"
        );
    }
    // On the route that sets it, the header comes from the verified claim only.
    let r = client()
        .get(gw.url("/api/private/x"))
        .bearer_auth(token())
        .header("x-tenant", "evil")
        .header("x-user-id", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = up.last();
    assert_eq!(seen.headers["x-tenant"], "acme");
    assert!(seen.headers.get("x-user-id").is_none());
}

async fn cookie_post(gw: &TestGateway, origin: &str, extra: &[(&str, &str)]) -> u16 {
    let mut request = client()
        .post(gw.url("/api/private/x"))
        .header("cookie", format!("session={}", token()))
        .header("origin", origin)
        .body("x");
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_csrf_origin_is_scheme_host_and_port() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let host = gw.addr.to_string();
    // Served over plain http: an https page on the same host:port is another origin.
    assert_eq!(cookie_post(&gw, &format!("https://{host}"), &[]).await, 403);
    let other_port = format!("http://127.0.0.1:{}", gw.addr.port() + 1);
    assert_eq!(cookie_post(&gw, &other_port, &[]).await, 403);
    assert_eq!(cookie_post(&gw, "null", &[]).await, 403);
    assert_eq!(
        cookie_post(&gw, &format!("http://{host}.evil.example"), &[]).await,
        403
    );
    assert_eq!(cookie_post(&gw, &format!("http://{host}"), &[]).await, 200);
    // X-Forwarded-Proto from an untrusted peer changes nothing.
    let https = [("x-forwarded-proto", "https")];
    assert_eq!(
        cookie_post(&gw, &format!("https://{host}"), &https).await,
        403
    );
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn a_trusted_proxy_or_public_origin_states_the_scheme() {
    let up = upstream().await;
    let behind = gateway(&config(&up, "trusted_proxies = [\"127.0.0.1/32\"]")).await;
    let host = behind.addr.to_string();
    let https = [("x-forwarded-proto", "https")];
    assert_eq!(
        cookie_post(&behind, &format!("https://{host}"), &https).await,
        200
    );
    assert_eq!(
        cookie_post(&behind, &format!("http://{host}"), &https).await,
        403
    );

    let public = gateway(&config(&up, "public_origin = \"https://app.example.com\"")).await;
    assert_eq!(
        cookie_post(&public, "https://app.example.com", &[]).await,
        200
    );
    let own = format!("http://{}", public.addr);
    assert_eq!(
        cookie_post(&public, &own, &[]).await,
        403,
        "public_origin is the only same-site origin"
    );
    assert_eq!(
        cookie_post(&public, "https://app.example.com:8443", &[]).await,
        403
    );
}

#[test]
fn bad_public_origin_and_identity_headers_are_config_errors() {
    for (server, expected) in [
        (
            "public_origin = \"app.example.com\"",
            "server.public_origin",
        ),
        (
            "public_origin = \"https://app.example.com/path\"",
            "server.public_origin",
        ),
        (
            "identity_headers = [\"bad header\"]",
            "server.identity_headers",
        ),
    ] {
        let toml = format!(
            "[server]\n{server}\n[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\n"
        );
        let err = config_error(&toml);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}
