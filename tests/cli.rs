//! The binary: `check` on good and bad configs, env layering, and `run` with
//! secrets kept out of the logs.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::process::GatewayProcess;
use common::*;

use common::process::BIN;
const SECRET: &str = "sk-live-DO-NOT-LOG-42424242";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(config: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("check").arg("--config").arg(config).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Runs `check` on `toml` written to a fresh directory; returns the output and its text.
fn check_toml(toml: &str, env: &[(&str, &str)]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&write(dir.path(), "proxy.toml", toml), env);
    let all = text(&out);
    (out, all)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
max_body = "2MiB"
timeout = "5s"

[[routes]]
name = "openai"
path = "/api/openai"
upstream = "https://api.openai.com/v1"
methods = ["GET", "POST"]
auth = "none"
timeout = "120s"
max_body = "20MiB"
inject_headers = { authorization = "Bearer ${env:OPENAI_API_KEY}" }
"#;

#[test]
fn check_accepts_a_good_config_and_prints_routes_without_secrets() {
    let (out, all) = check_toml(GOOD, &[("OPENAI_API_KEY", SECRET)]);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("route openai: /api/openai -> https://api.openai.com/v1"),
        "{all}"
    );
    assert!(all.contains("header:authorization"), "{all}");
    assert!(!all.contains(SECRET), "{all}");
}

#[test]
fn check_refuses_an_unknown_key_and_names_it() {
    let (out, all) = check_toml(
        &GOOD.replace("timeout = \"120s\"", "timout = \"120s\""),
        &[("OPENAI_API_KEY", SECRET)],
    );
    assert!(!out.status.success());
    assert!(all.contains("timout") && all.contains("routes.0"), "{all}");
    assert!(all.contains("did you mean `timeout`?"), "{all}");
}

#[test]
fn check_refuses_a_route_without_auth() {
    let (out, all) = check_toml(
        &GOOD.replace("auth = \"none\"\n", ""),
        &[("OPENAI_API_KEY", SECRET)],
    );
    assert!(!out.status.success());
    assert!(all.contains("routes[0] (openai).auth"), "{all}");
    assert!(all.contains("auth = \"none\""), "{all}");
}

#[test]
fn check_refuses_a_missing_env_secret_and_names_the_variable() {
    let (out, all) = check_toml(GOOD, &[]);
    assert!(!out.status.success());
    assert!(all.contains("OPENAI_API_KEY"), "{all}");
    assert!(all.contains("inject_headers.authorization"), "{all}");
}

#[test]
fn check_refuses_a_missing_secret_file() {
    let (out, all) = check_toml(
        &GOOD.replace(
            "${env:OPENAI_API_KEY}",
            "${file:/nonexistent/portcullis-key}",
        ),
        &[],
    );
    assert!(!out.status.success());
    assert!(all.contains("/nonexistent/portcullis-key"), "{all}");
}

#[test]
fn check_reads_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "key.txt", &format!("{SECRET}\n"));
    let config = write(
        dir.path(),
        "proxy.toml",
        &GOOD.replace(
            "${env:OPENAI_API_KEY}",
            &format!("${{file:{}}}", key.display()),
        ),
    );
    let out = check(&config, &[]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(SECRET));
}

#[test]
fn check_refuses_a_bad_duration_and_a_bad_size() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "proxy.toml",
        &GOOD.replace("\"120s\"", "\"2 fortnights\""),
    );
    let out = check(&config, &[("OPENAI_API_KEY", SECRET)]);
    let all = text(&out);
    assert!(!out.status.success());
    assert!(all.contains("routes.0.timeout"), "{all}");

    let config = write(
        dir.path(),
        "proxy.toml",
        &GOOD.replace("\"20MiB\"", "\"lots\""),
    );
    let out = check(&config, &[("OPENAI_API_KEY", SECRET)]);
    let all = text(&out);
    assert!(!out.status.success());
    assert!(all.contains("routes.0.max_body"), "{all}");
}

#[test]
fn check_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = r#"
[[routes]]
name = "a"
path = "api/a/"
upstream = "ftp://x"
auth = "nobody"
methods = ["FETCH ME"]

[[routes]]
name = "a"
path = "/api/b"
upstream = "https://user:pw@example.com/?k=v"
auth = "none"
inject_headers = { "bad header" = "x", "host" = "y" }
"#;
    let config = write(dir.path(), "proxy.toml", bad);
    let out = check(&config, &[]);
    let all = text(&out);
    assert!(!out.status.success());
    for expected in [
        "routes[0] (a).path",
        "routes[0] (a).upstream",
        "routes[0] (a).auth",
        "routes[0] (a).methods",
        "routes[1] (a).name",
        "routes[1] (a).upstream",
        "routes[1] (a).inject_headers.bad header",
        "routes[1] (a).inject_headers.host",
    ] {
        assert!(all.contains(expected), "missing {expected}:\n{all}");
    }
    assert!(!all.contains("pw@"), "{all}");
}

#[test]
fn check_refuses_a_missing_file_and_bad_toml() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&dir.path().join("nope.toml"), &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nope.toml"));
    let config = write(dir.path(), "proxy.toml", "[server\nlisten=");
    let out = check(&config, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("TOML parse error"), "{}", text(&out));
}

#[test]
fn env_vars_layer_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "proxy.toml", GOOD);
    let out = check(
        &config,
        &[
            ("OPENAI_API_KEY", SECRET),
            ("PORTCULLIS_SERVER__LISTEN", "0.0.0.0:9999"),
        ],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("listen 0.0.0.0:9999"), "{all}");

    // PORTCULLIS_CONFIG names the file when --config is absent.
    let out = Command::new(BIN)
        .arg("check")
        .env_clear()
        .env("PORTCULLIS_CONFIG", &config)
        .env("OPENAI_API_KEY", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let out = check(
        &config,
        &[
            ("OPENAI_API_KEY", SECRET),
            ("PORTCULLIS_SERVER__TIMEOUT", "soon"),
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("server.timeout"), "{}", text(&out));
}

/// Runs the real binary at `trace` level, drives successful and failing
/// requests that carry the injected secret (header and query), and checks
/// that the upstream received it while no log line contains it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_logs() {
    let up = upstream().await;
    // Port 1: never handed out by bind(0), so always refused.
    let dead = "127.0.0.1:1";
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "proxy.toml",
        &format!(
            r#"
[server]
listen = "127.0.0.1:0"
[auth.dev]
allow_any_issuer = true
allow_any_audience = true
secret = "${{env:JWT_SECRET}}"
algorithms = ["HS256"]
[[routes]]
name = "private"
path = "/api/private"
upstream = "http://{up}/base"
auth = "dev"
[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{up}/base"
auth = "none"
timeout = "300ms"
inject_headers = {{ authorization = "Bearer ${{env:KEY}}" }}
inject_query = {{ key = "${{env:KEY}}" }}
[[routes]]
name = "dead"
path = "/api/dead"
upstream = "http://{dead}"
auth = "none"
inject_query = {{ key = "${{env:KEY}}" }}
"#,
            up = up.addr
        ),
    );
    let mut gw = GatewayProcess::start(
        &config,
        &[
            ("KEY", SECRET),
            ("JWT_SECRET", JWT_SECRET),
            ("RUST_LOG", "trace"),
        ],
    );
    let addr = gw.addr.clone();
    let c = client();
    let base = format!("http://{addr}");
    let ok = c
        .get(format!("{base}/api/up/x?key=mine"))
        .header("authorization", "Bearer client")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let slow = c.get(format!("{base}/api/up/slow")).send().await.unwrap();
    assert_eq!(slow.status(), 504);
    assert!(!slow.text().await.unwrap().contains(SECRET));
    let dead = c.get(format!("{base}/api/dead/x")).send().await.unwrap();
    assert_eq!(dead.status(), 502);
    let dead_id = dead.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!dead.text().await.unwrap().contains(SECRET));
    // A valid token and a forged one on a protected route.
    let token = common::idp::SigningKey::hmac(JWT_SECRET)
        .sign(&serde_json::json!({"sub": "u", "exp": 4_000_000_000u64}));
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let mut forged_id = String::new();
    for (t, want) in [(&token, 200), (&forged, 401)] {
        let r = c
            .get(format!("{base}/api/private/x"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
        forged_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(!r.text().await.unwrap().contains(t.as_str()));
    }
    let seen = up.state.seen.lock().unwrap().clone();
    assert!(
        seen[0].uri.contains(SECRET),
        "positive control: the upstream got the key"
    );
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {SECRET}").as_str()
    );

    gw.signal("TERM");
    assert!(
        gw.wait_exit(Duration::from_secs(10)),
        "gateway did not exit 0"
    );
    let all = gw.all_logs();
    assert!(
        all.contains("portcullis::access"),
        "access log missing:\n{all}"
    );
    assert!(all.contains("upstream request failed"), "{all}");
    assert!(!all.contains(SECRET), "secret found in logs:\n{all}");
    assert!(!all.contains("sk-live"), "part of the secret found in logs");
    assert!(all.contains("request not authenticated"), "{all}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!all.contains(signature), "a token was logged");
    assert!(!all.contains(JWT_SECRET), "the JWT secret was logged");
    // Every line logged during a request carries its id and route.
    let line_of = |needle: &str| {
        all.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{all}"))
    };
    let failed = line_of("upstream request failed");
    assert!(
        failed.contains(&dead_id) && failed.contains("\"route\":\"dead\""),
        "{failed}"
    );
    let refused = line_of("request not authenticated");
    assert!(
        refused.contains(&forged_id) && refused.contains("\"route\":\"private\""),
        "{refused}"
    );
}

#[test]
fn the_example_config_is_valid() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/proxy.toml");
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

const VERIFIER_BASE: &str = r#"
[auth.main]
issuer = "https://issuer.test/"
audience = ["api"]
secret = "${env:JWT_SECRET}"
algorithms = ["HS256"]

[[routes]]
name = "private"
path = "/api/private"
upstream = "https://api.example.com"
auth = "main"
"#;
const JWT_SECRET: &str = "0123456789abcdef0123456789abcdef-dev-only";

#[test]
fn check_refuses_weak_or_inconsistent_verifiers() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "issuer = \"https://issuer.test/\"\n",
            "",
            "auth.main.issuer",
        ),
        ("audience = [\"api\"]\n", "", "auth.main.audience"),
        (
            "algorithms = [\"HS256\"]",
            "algorithms = [\"HS256\", \"none\"]",
            "`none`",
        ),
        (
            "algorithms = [\"HS256\"]",
            "algorithms = [\"HS256\", \"RS256\"]",
            "auth.main.algorithms",
        ),
        (
            "algorithms = [\"HS256\"]",
            "algorithms = [\"HS257\"]",
            "HS257",
        ),
        (
            "secret = \"${env:JWT_SECRET}\"",
            "jwks_url = \"https://issuer.test/jwks.json\"",
            "HS* algorithms cannot be used with jwks_url",
        ),
        (
            "secret = \"${env:JWT_SECRET}\"\nalgorithms = [\"HS256\"]",
            "jwks_url = \"http://issuer.test/jwks.json\"\nalgorithms = [\"RS256\"]",
            "auth.main.jwks_url",
        ),
        (
            "secret = \"${env:JWT_SECRET}\"",
            "secret = \"${env:JWT_SECRET}\"\npublic_key = \"x\"",
            "exactly one of",
        ),
        (
            "auth = \"main\"",
            "auth = \"mian\"",
            "no verifier named `mian`",
        ),
        (
            "auth = \"main\"",
            "auth = \"none\"\nrequire_claims = { scope = \"x\" }",
            "require_claims",
        ),
        (
            "auth = \"main\"",
            "auth = \"main\"\nforward_claims = { host = \"sub\" }",
            "forward_claims.host",
        ),
    ];
    for (from, to, expected) in cases {
        let (out, all) = check_toml(
            &VERIFIER_BASE.replace(from, to),
            &[("JWT_SECRET", JWT_SECRET)],
        );
        assert!(!out.status.success(), "{from} -> {to} was accepted");
        assert!(
            all.contains(expected),
            "{from} -> {to}: missing {expected}:\n{all}"
        );
        assert!(!all.contains(JWT_SECRET));
    }
    // A short secret names the rule, never the value.
    let (out, all) = check_toml(VERIFIER_BASE, &[("JWT_SECRET", "too-short-secret")]);
    assert!(!out.status.success());
    assert!(all.contains("shorter than 32 bytes"), "{all}");
    assert!(!all.contains("too-short-secret"), "{all}");
}

#[tokio::test]
async fn token_command_mints_a_token_the_gateway_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let up = upstream().await;
    let toml = VERIFIER_BASE.replace("https://api.example.com", &format!("http://{}", up.addr));
    let config = write(dir.path(), "proxy.toml", &toml);
    let out = Command::new(BIN)
        .args([
            "token",
            "--verifier",
            "main",
            "--sub",
            "dev-alice",
            "--claim",
            "scope=read chat",
            "--ttl",
            "10m",
        ])
        .arg("--config")
        .arg(&config)
        .env_clear()
        .env("JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.matches('.').count(), 2);

    let mut env = std::collections::HashMap::new();
    env.insert("JWT_SECRET".to_owned(), JWT_SECRET.to_owned());
    let snapshot = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&toml).unwrap(),
        &FakeSecrets(env),
    )
    .unwrap();
    let gw = gateway_from(snapshot).await;
    let response = client()
        .get(gw.url("/api/private/x"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A verifier without a secret cannot mint.
    let out = Command::new(BIN)
        .args(["token", "--verifier", "nope"])
        .arg("--config")
        .arg(&config)
        .env_clear()
        .env("JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("no verifier named `nope`"));
}

/// The admin listener of a real process: /healthz is 200; /readyz is 503
/// and names the verifier while its JWKS is unreachable.
#[tokio::test]
async fn admin_endpoints_report_health_and_readiness() {
    let admin = free_addr();
    let dead_idp = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "proxy.toml",
        &format!(
            r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "{admin}"
[auth.idp]
issuer = "https://issuer.test/"
audience = ["api"]
jwks_url = "http://{dead_idp}/jwks.json"
algorithms = ["RS256"]
[[routes]]
name = "private"
path = "/api/private"
upstream = "http://127.0.0.1:9"
auth = "idp"
"#
        ),
    );
    let mut child = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env_clear()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let c = client();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(r) = c.get(format!("http://{admin}/healthz")).send().await {
            health = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = c.get(format!("http://{admin}/readyz")).send().await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert_eq!(health, Some(reqwest::StatusCode::OK));
    let ready = ready.unwrap();
    assert_eq!(ready.status(), 503);
    let body = ready.text().await.unwrap();
    assert!(body.contains("`idp`"), "{body}");
    assert!(status.success(), "{status:?}");
}
