//! Webhook receivers over real sockets: a real upstream records the exact
//! bytes it got. Signatures are computed here with the `hmac` crate, the
//! way each provider documents them.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::redis::RedisServer;
use common::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const STRIPE_SECRET: &str = "whsec_stripe_test_SECRET";
const GITHUB_SECRET: &str = "gh-SECRET-value";
/// `whsec_` + base64 of the key bytes.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SLACK_SECRET: &str = "slack-SECRET-8f742231b10e";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
    let sig = hmac256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(sig))
}

fn standard_headers(id: &str, t: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let key = STANDARD
        .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let sig = hmac256(
        &key,
        &[id.as_bytes(), b".", t.to_string().as_bytes(), b".", body],
    );
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", t.to_string()),
        ("webhook-signature", format!("v1,{}", STANDARD.encode(sig))),
    ]
}

/// Every provider on its own route; `extra` goes into `[rate_limit]`.
fn config(up: &Upstream, rate_limit: &str) -> String {
    format!(
        r#"
{rate_limit}
[auth.stripe_events]
type = "stripe"
secrets = ["whsec_old_rotated_out", "{STRIPE_SECRET}"]
tolerance = "5m"
dedupe = "24h"

[auth.github_events]
type = "github"
secrets = ["{GITHUB_SECRET}"]

[auth.openai_events]
type = "standard"
secrets = ["{STANDARD_SECRET}"]

[auth.slack_events]
type = "slack"
secrets = ["{SLACK_SECRET}"]

[auth.partner]
type = "hmac"
secrets = ["partner-SECRET"]
header = "x-signature"
algorithm = "sha256"
encoding = "base64"
prefix = "sha256="

[[routes]]
name = "stripe"
path = "/hooks/stripe"
upstream = "http://{up}/app/stripe"
methods = ["POST"]
auth = "stripe_events"
max_body = "1KiB"

[[routes]]
name = "github"
path = "/hooks/github"
upstream = "http://{up}/app/github"
auth = "github_events"

[[routes]]
name = "openai"
path = "/hooks/openai"
upstream = "http://{up}/app/openai"
timeout = "5s"
auth = "openai_events"

[[routes]]
name = "slack"
path = "/hooks/slack"
upstream = "http://{up}/app/slack"
auth = "slack_events"

[[routes]]
name = "partner"
path = "/hooks/partner"
upstream = "http://{up}/app/partner"
auth = "partner"

[[routes]]
name = "public"
path = "/api/public"
upstream = "http://{up}/app/public"
auth = "none"
"#,
        up = up.addr
    )
}

async fn post(
    gw: &TestGateway,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> reqwest::Response {
    let mut request = client()
        .post(gw.url(path))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

async fn refused(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 401, "want {code}");
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(error_code(response).await, code);
}

#[tokio::test]
async fn a_stripe_event_reaches_the_app_byte_for_byte() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    // Odd spacing and key order: a JSON parser would not reproduce these bytes.
    let body = b"{ \"id\":\"evt_1\" ,\n  \"type\": \"invoice.paid\",\"amount\":1e2 }";
    let sig = stripe_header(STRIPE_SECRET, now(), body);
    let r = post(
        &gw,
        "/hooks/stripe",
        &[("stripe-signature", sig.clone())],
        body,
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = up.last();
    assert_eq!(seen.body, body, "the exact bytes");
    assert_eq!(
        seen.headers["content-length"],
        body.len().to_string().as_str()
    );
    assert_eq!(
        seen.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        seen.headers["stripe-signature"],
        sig.as_str(),
        "kept for the app"
    );
    assert_eq!(seen.headers["x-portcullis-verified"], "stripe_events");
}

#[tokio::test]
async fn changed_bodies_and_bad_signatures_never_reach_the_app() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = br#"{"id":"evt_2","type":"charge.succeeded"}"#;
    let t = now();
    let sig = stripe_header(STRIPE_SECRET, t, body);
    // Re-serialised (whitespace, key order) and one byte flipped.
    let reserialised = br#"{"type":"charge.succeeded", "id":"evt_2"}"#;
    let mut flipped = body.to_vec();
    flipped[10] ^= 1;
    for other in [&reserialised[..], &flipped] {
        let r = post(
            &gw,
            "/hooks/stripe",
            &[("stripe-signature", sig.clone())],
            other,
        )
        .await;
        refused(r, "invalid_signature").await;
    }
    // Signed with a secret not listed; a v0 only; no timestamp; garbage.
    for header in [
        stripe_header("whsec_attacker", t, body),
        sig.replace("v1=", "v0="),
        sig.split(',').nth(1).unwrap().to_owned(),
        "t=abc,v1=00".to_owned(),
    ] {
        let r = post(&gw, "/hooks/stripe", &[("stripe-signature", header)], body).await;
        refused(r, "invalid_signature").await;
    }
    refused(
        post(&gw, "/hooks/stripe", &[], body).await,
        "missing_signature",
    )
    .await;
    // Too old and too far in the future, validly signed.
    for at in [t - 400, t + 400] {
        let header = stripe_header(STRIPE_SECRET, at, body);
        let r = post(&gw, "/hooks/stripe", &[("stripe-signature", header)], body).await;
        refused(r, "signature_expired").await;
    }
    assert_eq!(up.calls(), 0, "nothing refused reached the upstream");
}

#[tokio::test]
async fn several_signatures_and_rotated_secrets() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let t = now();
    let body = br#"{"id":"evt_3"}"#;
    let good = stripe_header(STRIPE_SECRET, t, body);
    let wrong = stripe_header("whsec_wrong", t, body);
    let several = format!("{wrong},{}", good.split_once(',').unwrap().1);
    assert_eq!(
        post(&gw, "/hooks/stripe", &[("stripe-signature", several)], body)
            .await
            .status(),
        200
    );
    let body = br#"{"id":"evt_4"}"#;
    // Signed with the older of the two listed secrets (rotation).
    let old = stripe_header("whsec_old_rotated_out", t, body);
    assert_eq!(
        post(&gw, "/hooks/stripe", &[("stripe-signature", old)], body)
            .await
            .status(),
        200
    );
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn github_standard_slack_and_hmac_deliveries() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = br#"{"action":"opened"}"#;
    let gh = format!(
        "sha256={}",
        hex::encode(hmac256(GITHUB_SECRET.as_bytes(), &[body]))
    );
    assert_eq!(
        post(&gw, "/hooks/github", &[("x-hub-signature-256", gh)], body)
            .await
            .status(),
        200
    );
    // The legacy SHA-1 header alone is no signature.
    let r = post(
        &gw,
        "/hooks/github",
        &[("x-hub-signature", "sha1=00".into())],
        body,
    )
    .await;
    refused(r, "missing_signature").await;

    let t = now();
    let headers = standard_headers("msg_1", t, body);
    assert_eq!(
        post(&gw, "/hooks/openai", &headers, body).await.status(),
        200
    );
    let no_id: Vec<_> = headers
        .iter()
        .filter(|(k, _)| *k != "webhook-id")
        .cloned()
        .collect();
    refused(
        post(&gw, "/hooks/openai", &no_id, body).await,
        "invalid_signature",
    )
    .await;
    let expired = standard_headers("msg_2", t - 3600, body);
    refused(
        post(&gw, "/hooks/openai", &expired, body).await,
        "signature_expired",
    )
    .await;

    let slack = hmac256(
        SLACK_SECRET.as_bytes(),
        &[b"v0:", t.to_string().as_bytes(), b":", body],
    );
    let slack_headers = [
        ("x-slack-request-timestamp", t.to_string()),
        ("x-slack-signature", format!("v0={}", hex::encode(slack))),
    ];
    assert_eq!(
        post(&gw, "/hooks/slack", &slack_headers, body)
            .await
            .status(),
        200
    );
    let no_ts = [slack_headers[1].clone()];
    refused(
        post(&gw, "/hooks/slack", &no_ts, body).await,
        "invalid_signature",
    )
    .await;

    let partner = STANDARD.encode(hmac256(b"partner-SECRET", &[body]));
    let unpadded = partner.trim_end_matches('=').to_owned();
    for value in [format!("sha256={partner}"), format!("sha256={unpadded}")] {
        assert_eq!(
            post(&gw, "/hooks/partner", &[("x-signature", value)], body)
                .await
                .status(),
            200
        );
    }
    let r = post(&gw, "/hooks/partner", &[("x-signature", partner)], body).await;
    refused(r, "invalid_signature").await;
    assert_eq!(up.calls(), 5);
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_the_upstream() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = vec![b'x'; 4096];
    let sig = stripe_header(STRIPE_SECRET, now(), &body);
    let r = post(
        &gw,
        "/hooks/stripe",
        &[("stripe-signature", sig.clone())],
        &body,
    )
    .await;
    assert_eq!(r.status(), 413);
    // Chunked, with no Content-Length to refuse up front.
    let stream = futures_util::stream::iter(
        body.chunks(512)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = client()
        .post(gw.url("/hooks/stripe"))
        .header("stripe-signature", sig)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(r).await, "payload_too_large");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn clients_cannot_claim_a_verified_event() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let r = client()
        .post(gw.url("/api/public/x"))
        .header("x-portcullis-verified", "stripe_events")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(up.last().headers.get("x-portcullis-verified").is_none());
}

#[tokio::test]
async fn a_retried_delivery_is_forwarded_once_after_success() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = br#"{"type":"response.completed"}"#;
    let headers = standard_headers("msg_retry", now(), body);
    assert_eq!(
        post(&gw, "/hooks/openai/ok", &headers, body).await.status(),
        200
    );
    let again = post(&gw, "/hooks/openai/ok", &headers, body).await;
    assert_eq!(again.status(), 200);
    let answer: serde_json::Value = serde_json::from_slice(&again.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(up.calls(), 1, "forwarded once");

    // Stripe re-signs a retry with a new timestamp: the event id decides.
    let event = br#"{"id":"evt_retry","type":"invoice.paid"}"#;
    for t in [now() - 60, now()] {
        let sig = stripe_header(STRIPE_SECRET, t, event);
        assert_eq!(
            post(&gw, "/hooks/stripe", &[("stripe-signature", sig)], event)
                .await
                .status(),
            200
        );
    }
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn a_failed_delivery_is_forwarded_again() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = br#"{"type":"batch.failed"}"#;
    let headers = standard_headers("msg_fail", now(), body);
    // The app answers 500: the provider's retry must reach it again.
    assert_eq!(
        post(&gw, "/hooks/openai/fail", &headers, body)
            .await
            .status(),
        500
    );
    assert_eq!(
        post(&gw, "/hooks/openai/ok", &headers, body).await.status(),
        200
    );
    assert_eq!(
        post(&gw, "/hooks/openai/ok", &headers, body).await.status(),
        200
    );
    assert_eq!(up.calls(), 2, "the failure and the retry, then no more");
}

#[tokio::test]
async fn a_duplicate_while_the_first_is_in_flight_gets_409() {
    let up = upstream().await;
    let gw = gateway(&config(&up, "")).await;
    let body = br#"{"type":"slow"}"#;
    let headers = standard_headers("msg_slow", now(), body);
    let first = {
        let (gw_url, headers) = (gw.url("/hooks/openai/slow"), headers.clone());
        tokio::spawn(async move {
            let mut request = client().post(gw_url).body(body.to_vec());
            for (k, v) in headers {
                request = request.header(k, v);
            }
            request.send().await.unwrap().status()
        })
    };
    eventually("the first delivery reaches the upstream", || {
        up.calls() == 1
    })
    .await;
    let second = post(&gw, "/hooks/openai/slow", &headers, body).await;
    assert_eq!(second.status(), 409);
    assert_eq!(error_code(second).await, "delivery_in_progress");
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn two_gateways_sharing_redis_see_each_others_deliveries() {
    let redis = RedisServer::start();
    let up = upstream().await;
    let shared = format!(
        "[rate_limit]\nbackend = \"redis://127.0.0.1:{}\"",
        redis.port
    );
    let a = gateway(&config(&up, &shared)).await;
    let b = gateway(&config(&up, &shared)).await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    let body = br#"{"type":"shared"}"#;
    let headers = standard_headers("msg_shared", now(), body);
    assert_eq!(
        post(&a, "/hooks/openai/ok", &headers, body).await.status(),
        200
    );
    let dup = post(&b, "/hooks/openai/ok", &headers, body).await;
    assert_eq!(dup.status(), 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&dup.bytes().await.unwrap()).unwrap()["status"],
        "duplicate"
    );
    assert_eq!(up.calls(), 1);
    // A failure on one replica is retried through the other.
    let headers = standard_headers("msg_shared_fail", now(), body);
    assert_eq!(
        post(&a, "/hooks/openai/fail", &headers, body)
            .await
            .status(),
        500
    );
    assert_eq!(
        post(&b, "/hooks/openai/ok", &headers, body).await.status(),
        200
    );
    assert_eq!(up.calls(), 3);
}

#[tokio::test]
async fn redis_down_follows_on_backend_error() {
    let mut redis = RedisServer::start();
    let up = upstream().await;
    let deny = format!(
        "[rate_limit]\nbackend = \"redis://127.0.0.1:{}\"",
        redis.port
    );
    let allow = format!("{deny}\non_backend_error = \"allow\"");
    let deny = gateway(&config(&up, &deny)).await;
    let allow = gateway(&config(&up, &allow)).await;
    wait_ready(&deny).await;
    wait_ready(&allow).await;
    redis.stop();
    let body = br#"{"type":"down"}"#;
    let headers = standard_headers("msg_down", now(), body);
    let r = post(&deny, "/hooks/openai/ok", &headers, body).await;
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "dedupe_unavailable");
    assert_eq!(up.calls(), 0);
    assert_eq!(
        post(&allow, "/hooks/openai/ok", &headers, body)
            .await
            .status(),
        200
    );
    assert_eq!(up.calls(), 1);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[test]
fn check_refuses_webhook_mistakes() {
    let route = |extra: &str| {
        format!(
            "[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"v\"\n{extra}\n"
        )
    };
    let verifier = |body: &str| format!("[auth.v]\n{body}\n");
    let stripe = "type = \"stripe\"\nsecrets = [\"whsec_x\"]";
    let cases = [
        (
            verifier(stripe) + &route("methods = [\"GET\"]"),
            "routes[0] (r).methods",
        ),
        (
            verifier(stripe) + &route("require_claims = { sub = \"x\" }"),
            "carries no claims",
        ),
        (
            verifier("type = \"stripe\"\nsecrets = [\"\"]"),
            "auth.v.secrets",
        ),
        (
            verifier("type = \"stripe\"\nsecrets = []"),
            "auth.v.secrets",
        ),
        (verifier("type = \"stripe\""), "auth.v.secrets"),
        (
            verifier("type = \"stripe\"\nsecrets = [\"${env:NOPE}\"]"),
            "NOPE",
        ),
        (
            verifier("type = \"standard\"\nsecrets = [\"whsec_not base64!\"]"),
            "auth.v.secrets[0]",
        ),
        (
            verifier(
                "issuer = \"i\"\nallow_any_audience = true\nsecret = \"0123456789abcdef0123456789abcdef\"\nalgorithms = [\"HS256\"]\nsecrets = [\"x\"]",
            ),
            "auth.v.secrets: is a webhook key",
        ),
        (
            verifier(&format!("{stripe}\nissuer = \"i\"")),
            "auth.v.issuer: is a JWT key",
        ),
        (
            verifier(&format!("{stripe}\nalgorithms = [\"HS256\"]")),
            "auth.v.algorithms",
        ),
        (
            verifier("type = \"github\"\nsecrets = [\"x\"]\ntolerance = \"1m\""),
            "auth.v.tolerance",
        ),
        (
            verifier("type = \"hmac\"\nsecrets = [\"x\"]\nheader = \"x-sig\"\ntolerance = \"1m\""),
            "auth.v.tolerance",
        ),
        (
            verifier("type = \"slack\"\nsecrets = [\"x\"]\ndedupe = \"1h\""),
            "auth.v.dedupe",
        ),
        (
            verifier("type = \"hmac\"\nsecrets = [\"x\"]\ndedupe = \"1h\"\nheader = \"x-sig\""),
            "auth.v.dedupe",
        ),
        (
            verifier("type = \"hmac\"\nsecrets = [\"x\"]"),
            "auth.v.header",
        ),
        (
            verifier(
                "type = \"hmac\"\nsecrets = [\"x\"]\nheader = \"x-sig\"\nalgorithm = \"sha1\"",
            ),
            "auth.v.algorithm",
        ),
        (
            verifier(&format!("{stripe}\nheader = \"x-sig\"")),
            "auth.v.header",
        ),
        (
            verifier("type = \"hmac\"\nsecrets = [\"x\"]\nheader = \"x-sig\"\nalgorithm = \"md5\""),
            "auth.v.algorithm",
        ),
        (
            verifier("type = \"paypal\"\nsecrets = [\"x\"]"),
            "auth.v.type",
        ),
    ];
    for (toml, expected) in cases {
        let toml = if toml.contains("[[routes]]") {
            toml
        } else {
            toml + &route("")
        };
        let err = config_error(&toml);
        assert!(err.contains(expected), "{expected}:\n{err}\n---\n{toml}");
    }
    // sha1 with the explicit opt-in is accepted.
    let ok = verifier(
        "type = \"hmac\"\nsecrets = [\"x\"]\nheader = \"x-sig\"\nalgorithm = \"sha1\"\nallow_sha1 = true",
    ) + &route("");
    portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&ok).unwrap(),
        &FakeSecrets::standard(),
    )
    .unwrap();
}

/// The real binary: `check` names each route's verifier kind; secrets and
/// bodies never reach the log; failures are counted by reason.
#[tokio::test]
async fn secrets_and_bodies_stay_out_of_logs() {
    use common::process::{BIN, GatewayProcess};
    let up = upstream().await;
    let admin = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"{admin}\"\n[auth.stripe_events]\ntype = \"stripe\"\nsecrets = [\"${{env:STRIPE_WEBHOOK_SECRET}}\"]\n[[routes]]\nname = \"stripe\"\npath = \"/hooks/stripe\"\nupstream = \"http://{}/app\"\nmethods = [\"POST\"]\nauth = \"stripe_events\"\n",
            up.addr
        ),
    )
    .unwrap();
    let env = [
        ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET),
        ("RUST_LOG", "debug"),
    ];
    let check = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(printed.contains("auth=stripe_events (stripe)"), "{printed}");
    assert!(!printed.contains(STRIPE_SECRET));

    let mut gw = GatewayProcess::start(&path, &env);
    let c = client();
    let body = br#"{"id":"evt_log","card":"BODY-MARKER-4242"}"#;
    for header in [
        stripe_header(STRIPE_SECRET, now(), body),
        stripe_header("whsec_forged", now(), body),
    ] {
        c.post(gw.url("/hooks/stripe"))
            .header("stripe-signature", header)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(up.calls(), 1);
    let metrics = metrics(admin).await;
    assert!(
        metrics.contains(
            "portcullis_auth_failures_total{route=\"stripe\",reason=\"invalid_signature\"} 1"
        ),
        "{metrics}"
    );
    gw.signal("TERM");
    assert!(gw.wait_exit(Duration::from_secs(10)));
    let logs = gw.all_logs();
    assert!(logs.contains("request not authenticated"), "{logs}");
    assert!(!logs.contains(STRIPE_SECRET), "a secret was logged");
    assert!(!logs.contains("BODY-MARKER"), "a body was logged");
}

/// A delivery without its signature is refused before its body is read; a
/// signed one whose body trickles past the route's timeout gets 408.
#[tokio::test]
async fn slow_or_unsigned_bodies_do_not_hold_the_gateway() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = upstream().await;
    let gw = gateway(
        &config(&up, "").replace(
            "upstream = \"http://{}/app/github\""
                .replace("{}", &up.addr.to_string())
                .as_str(),
            &format!(
                "upstream = \"http://{}/app/github\"\ntimeout = \"1s\"",
                up.addr
            ),
        ),
    )
    .await;
    let read_status = |mut stream: tokio::net::TcpStream| async move {
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        raw_status(&String::from_utf8_lossy(&buf[..n]))
    };
    // Unsigned, 100 bytes declared, 10 sent, then silence: answered at once.
    let mut unsigned = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    unsigned
        .write_all(
            b"POST /hooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789",
        )
        .await
        .unwrap();
    assert_eq!(read_status(unsigned).await, 401);
    // Signed, but the body stops arriving: 408 after the route's 1 s timeout.
    let mut slow = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(
        b"POST /hooks/github HTTP/1.1\r\nhost: x\r\nx-hub-signature-256: sha256=00\r\ncontent-length: 100\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    assert_eq!(read_status(slow).await, 408);
    assert_eq!(up.calls(), 0);
}
