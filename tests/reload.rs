//! Hot reload with a real process: edit the file, send SIGHUP, break the
//! file, swap a Kubernetes-style `..data` symlink; limiter state survives.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::GatewayProcess;
use common::*;

fn routes(up: &Upstream, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "[[routes]]\nname = \"{n}\"\npath = \"/api/{n}\"\nupstream = \"http://{}/{n}\"\nauth = \"none\"\nlimits = [\"tight\"]\n",
                up.addr
            )
        })
        .collect()
}

fn config_text(up: &Upstream, names: &[&str], watch: bool) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nwatch_config = {watch}\n[limits.tight]\nkey = \"header:x-user\"\nrate = \"1/hour\"\nburst = 1\n{}",
        routes(up, names)
    )
}

/// Replaces `path` atomically (write + rename), as editors and tools do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn status(c: &reqwest::Client, url: String, user: &str) -> u16 {
    c.get(url)
        .header("x-user", user)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls (bounded) until `url` answers `want`.
async fn eventually_status(c: &reqwest::Client, url: String, user: &str, want: u16) {
    for _ in 0..100 {
        if status(c, url.clone(), user).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered {want}");
}

fn setup(up: &Upstream, watch: bool) -> (tempfile::TempDir, PathBuf, GatewayProcess) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, config_text(up, &["a"], watch)).unwrap();
    let gw = GatewayProcess::start(&path, &[]);
    (dir, path, gw)
}

#[tokio::test]
async fn editing_the_file_adds_a_route_without_restart() {
    let up = upstream().await;
    let (_dir, path, mut gw) = setup(&up, true);
    let c = client();
    assert_eq!(status(&c, gw.url("/api/b/x"), "u1").await, 404);
    replace(&path, &config_text(&up, &["a", "b"], true));
    eventually_status(&c, gw.url("/api/b/x"), "u2", 200).await;
    gw.wait_for_log("config reloaded", Duration::from_secs(5));
}

#[tokio::test]
async fn a_broken_file_keeps_the_old_routes() {
    let up = upstream().await;
    let (_dir, path, mut gw) = setup(&up, true);
    let c = client();
    replace(
        &path,
        "[[routes]]\nname = \"a\"\npath = \"/api/a\"\nupstrem = \"typo\"\n",
    );
    gw.wait_for_log("config reload failed", Duration::from_secs(10));
    assert_eq!(status(&c, gw.url("/api/a/x"), "u1").await, 200);
    let logs = gw.all_logs();
    assert!(logs.contains("upstrem"), "the error names the key:\n{logs}");
}

#[tokio::test]
async fn sighup_reloads_when_watching_is_off() {
    let up = upstream().await;
    let (_dir, path, mut gw) = setup(&up, false);
    let c = client();
    replace(&path, &config_text(&up, &["a", "b"], false));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        status(&c, gw.url("/api/b/x"), "u1").await,
        404,
        "reloaded without SIGHUP"
    );
    gw.signal("HUP");
    gw.wait_for_log("config reloaded", Duration::from_secs(10));
    assert_eq!(status(&c, gw.url("/api/b/x"), "u2").await, 200);
}

#[tokio::test]
async fn limiter_state_survives_a_reload() {
    let up = upstream().await;
    let (_dir, path, mut gw) = setup(&up, true);
    let c = client();
    assert_eq!(status(&c, gw.url("/api/a/x"), "alice").await, 200);
    assert_eq!(status(&c, gw.url("/api/a/x"), "alice").await, 429);
    replace(&path, &config_text(&up, &["a", "b"], true));
    gw.wait_for_log("config reloaded", Duration::from_secs(10));
    eventually_status(&c, gw.url("/api/b/x"), "bob", 200).await;
    assert_eq!(
        status(&c, gw.url("/api/a/x"), "alice").await,
        429,
        "the reload reset alice's limit"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn kubernetes_configmap_symlink_swap_is_seen() {
    use std::os::unix::fs::symlink;
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    // The layout a ConfigMap volume has: proxy.toml -> ..data/proxy.toml, ..data -> ..v1
    let v1 = dir.path().join("..v1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(v1.join("proxy.toml"), config_text(&up, &["a"], true)).unwrap();
    symlink("..v1", dir.path().join("..data")).unwrap();
    symlink("..data/proxy.toml", dir.path().join("proxy.toml")).unwrap();
    let mut gw = GatewayProcess::start(&dir.path().join("proxy.toml"), &[]);
    let c = client();
    assert_eq!(status(&c, gw.url("/api/b/x"), "u").await, 404);
    // Kubelet's update: write ..v2, then atomically repoint ..data.
    let v2 = dir.path().join("..v2");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(v2.join("proxy.toml"), config_text(&up, &["a", "b"], true)).unwrap();
    symlink("..v2", dir.path().join("..data_tmp")).unwrap();
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
    eventually_status(&c, gw.url("/api/b/x"), "u2", 200).await;
    gw.wait_for_log("config reloaded", Duration::from_secs(5));
}

/// Reloads are counted by result: one good, one broken.
#[tokio::test]
async fn reloads_are_counted_in_metrics() {
    let up = upstream().await;
    let admin = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    let text = |names: &[&str]| {
        config_text(&up, names, false).replacen(
            "[server]\n",
            &format!("[server]\nadmin_listen = \"{admin}\"\n"),
            1,
        )
    };
    std::fs::write(&path, text(&["a"])).unwrap();
    let mut gw = GatewayProcess::start(&path, &[]);
    replace(&path, &text(&["a", "b"]));
    gw.signal("HUP");
    gw.wait_for_log("config reloaded", Duration::from_secs(10));
    replace(&path, "[[routes]]\nname = \"a\"\nupstrem = \"typo\"\n");
    gw.signal("HUP");
    gw.wait_for_log("config reload failed", Duration::from_secs(10));
    let metrics = metrics(admin).await;
    for expected in [
        "portcullis_config_reloads_total{result=\"ok\"} 1",
        "portcullis_config_reloads_total{result=\"failed\"} 1",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
}
