//! The same-origin frontend: a built SPA served from `/`, routes winning,
//! caching headers, precompressed files, SPA fallback that never swallows
//! API or asset misses.

mod common;

use common::*;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::create_dir(p.join("assets")).unwrap();
    std::fs::write(p.join("assets/index-BwKhJ4r3.js"), "console.log(1)").unwrap();
    std::fs::write(p.join("robots.txt"), "User-agent: *").unwrap();
    std::fs::write(p.join("big.txt"), "plain").unwrap();
    std::fs::write(p.join("big.txt.gz"), b"\x1f\x8bfake-gzip").unwrap();
    dir
}

async fn setup(up: &Upstream, dir: &std::path::Path) -> TestGateway {
    gateway(&format!(
        "[static]\ndir = \"{}\"\nspa_fallback = true\n{}",
        dir.display(),
        one_route(up, "")
    ))
    .await
}

#[tokio::test]
async fn index_and_assets_with_cache_headers() {
    let up = upstream().await;
    let dir = site();
    let gw = setup(&up, dir.path()).await;
    let c = client();
    let index = c.get(gw.url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()["cache-control"], "no-cache");
    assert!(index.text().await.unwrap().contains("<title>app</title>"));
    let asset = c
        .get(gw.url("/assets/index-BwKhJ4r3.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let plain = c.get(gw.url("/robots.txt")).send().await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn precompressed_files_are_served_when_accepted() {
    let up = upstream().await;
    let dir = site();
    let gw = setup(&up, dir.path()).await;
    let r = client()
        .get(gw.url("/big.txt"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = client().get(gw.url("/big.txt")).send().await.unwrap();
    assert!(!r.headers().contains_key("content-encoding"));
    assert_eq!(r.text().await.unwrap(), "plain");
}

#[tokio::test]
async fn spa_fallback_serves_pages_but_not_api_or_asset_misses() {
    let up = upstream().await;
    let dir = site();
    let gw = setup(&up, dir.path()).await;
    let c = client();
    let page = c.get(gw.url("/settings/profile")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<title>app</title>"));
    assert_eq!(
        c.get(gw.url("/missing.js")).send().await.unwrap().status(),
        404
    );
    let api = c.get(gw.url("/api/unknown")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(error_code(api).await, "no_route");
}

#[tokio::test]
async fn routes_always_win_over_files() {
    let up = upstream().await;
    let dir = site();
    std::fs::create_dir_all(dir.path().join("api/up")).unwrap();
    std::fs::write(
        dir.path().join("api/up/x"),
        "a file that must not be served",
    )
    .unwrap();
    let gw = setup(&up, dir.path()).await;
    let r = client().get(gw.url("/api/up/x")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    assert_eq!(up.calls(), 1);
}

#[test]
fn a_missing_static_dir_is_a_config_error() {
    let toml = "[static]\ndir = \"/nonexistent/dist\"\n[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\n";
    let err = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(toml).unwrap(),
        &FakeSecrets::standard(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("static.dir"), "{err}");
}
