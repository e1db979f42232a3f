//! End to end in a real browser: headless Chromium (Debian's `chromium`,
//! driven by playwright-core from npm) loads (a) the example page served by
//! the gateway itself, whose same-origin fetch streams SSE through a
//! protected route; (b) a page from an allowed second origin, whose
//! credentialed cross-origin POST (preflighted) succeeds; (c) a page from a
//! disallowed origin, whose request the browser blocks.
//! `.ci/run` installs chromium and runs `npm ci --prefix tests/browser`.

mod common;

use std::path::Path;
use std::process::Command;

use axum::Router;
use axum::response::Html;
use common::*;

const SECRET: &str = "browser-test-secret-0123456789abcdef";

fn requirements() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install chromium (.ci/run does)"
    );
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "playwright-core is missing: npm ci --prefix tests/browser (.ci/run does)"
    );
    root.join("tests/browser/e2e.mjs")
}

/// Serves `origin_page_html` on a new loopback port; returns its URL.
async fn origin_page(gateway: &str) -> String {
    let html = origin_page_html(gateway);
    let app = Router::new().route("/", axum::routing::get(move || async move { Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_same_origin_allowed_and_blocked_origins() {
    let script = requirements();
    let up = upstream().await;
    // Bind the allowed origin's port first: the gateway's CORS list names it.
    let allowed_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_origin = format!("http://{}", allowed_listener.local_addr().unwrap());
    drop(allowed_listener);
    let mut env = std::collections::HashMap::new();
    env.insert("JWT_SECRET".to_owned(), SECRET.to_owned());
    let toml = format!(
        r#"
[static]
dir = "{site}"
spa_fallback = true

[cors]
allow_origins = ["{allowed_origin}"]
allow_credentials = true
allow_headers = ["authorization", "content-type"]

[auth.dev]
issuer = "portcullis-dev"
audience = ["example"]
secret = "${{env:JWT_SECRET}}"
algorithms = ["HS256"]

[[routes]]
name = "demo"
path = "/api/demo"
upstream = "http://{up}"
auth = "dev"

[[routes]]
name = "open"
path = "/api/open"
upstream = "http://{up}/base"
auth = "none"
methods = ["GET", "POST"]
"#,
        site = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/frontend")
            .display(),
        up = up.addr
    );
    let snapshot = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&toml).unwrap(),
        &FakeSecrets(env),
    )
    .unwrap();
    let gw = gateway_from(snapshot).await;
    let gateway_origin = format!("http://{}", gw.addr);

    let allowed = {
        let listener = tokio::net::TcpListener::bind(allowed_origin.trim_start_matches("http://"))
            .await
            .unwrap();
        let html = origin_page_html(&gateway_origin);
        let app = Router::new().route("/", axum::routing::get(move || async move { Html(html) }));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        format!("{allowed_origin}/")
    };
    let blocked = origin_page(&gateway_origin).await;

    let claims = serde_json::json!({"iss": "portcullis-dev", "aud": "example", "sub": "browser", "exp": 4_000_000_000u64});
    let token = common::idp::SigningKey::hmac(SECRET).sign(&claims);
    let same = format!("{gateway_origin}/?auto=1&path=/api/demo/sse#token={token}");

    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .args([&same, &allowed, &blocked])
            .output()
            .expect("node is required for the browser test")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let text = |name: &str| results[name]["text"].as_str().unwrap().to_owned();

    let same_origin = text("same_origin");
    for i in 0..5 {
        assert!(
            same_origin.contains(&format!("event {i}")),
            "same-origin page saw: {same_origin}"
        );
    }
    assert_eq!(text("allowed"), "ok:ok", "{results}");
    assert!(text("blocked").starts_with("blocked:"), "{results}");
    // The SSE stream and the allowed POST; the blocked POST never left the browser.
    assert_eq!(up.calls(), 2, "{results}");
}

/// A page that POSTs JSON (so the browser preflights) to the gateway with credentials.
fn origin_page_html(gateway: &str) -> String {
    format!(
        r#"<!doctype html><pre id="out"></pre><script>
fetch("{gateway}/api/open/x", {{ method: "POST", credentials: "include",
  headers: {{ "content-type": "application/json" }}, body: "{{}}" }})
  .then(r => r.text()).then(t => {{ document.getElementById("out").textContent = "ok:" + t; }})
  .catch(e => {{ document.getElementById("out").textContent = "blocked:" + e.name; }})
  .finally(() => {{ document.body.dataset.done = "true"; }});
</script>"#
    )
}
