//! JWT verification end to end: a real JWKS endpoint, tokens minted here,
//! every known bypass attempted, and the upstream never called on 401/403.

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::idp::*;
use common::*;
use jsonwebtoken::Algorithm;
use serde_json::json;

fn config(jwks: &JwksServer, up: &Upstream, extra_verifier: &str, extra_route: &str) -> String {
    let leeway = if extra_verifier.contains("leeway") {
        ""
    } else {
        "leeway = \"5s\""
    };
    format!(
        r#"
[auth.main]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
jwks_url = "{jwks}"
algorithms = ["RS256", "ES256", "EdDSA"]
{leeway}
token_from = ["header", "cookie:session"]
{extra_verifier}

[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{up}/base"
auth = "main"
timeout = "2s"
forward_claims = {{ "x-user-id" = "sub" }}
{extra_route}
"#,
        jwks = jwks.url(),
        up = up.addr
    )
}

struct Setup {
    client: reqwest::Client,
    rsa: SigningKey,
    jwks: JwksServer,
    up: Upstream,
    gw: TestGateway,
}

async fn setup(extra_verifier: &str, extra_route: &str) -> Setup {
    let rsa = SigningKey::rsa("rsa1.pem", "k1");
    let jwks = jwks_server(&[&rsa]).await;
    let up = upstream().await;
    let gw = gateway(&config(&jwks, &up, extra_verifier, extra_route)).await;
    wait_ready(&gw).await;
    Setup {
        client: client(),
        rsa,
        jwks,
        up,
        gw,
    }
}

async fn get(s: &Setup, token: Option<&str>) -> reqwest::Response {
    let mut request = s.client.get(s.gw.url("/api/up/x"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

/// Asserts a 401 with the RFC 6750 challenge and the JSON code; the upstream untouched.
async fn assert_refused(s: &Setup, response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    if code != "missing_token" {
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    assert_eq!(error_code(response).await, code);
    assert_eq!(s.up.calls(), 0, "the upstream was called on a 401");
}

#[tokio::test]
async fn valid_token_passes_with_claims_forwarded_and_token_consumed() {
    let s = setup("", "").await;
    let response = client()
        .get(s.gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {}", s.rsa.token("alice")))
        .header("x-user-id", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = s.up.last();
    assert_eq!(
        seen.headers["x-user-id"], "alice",
        "a client-sent x-user-id must not survive"
    );
    assert_eq!(seen.headers.get_all("x-user-id").iter().count(), 1);
    assert!(
        !seen.headers.contains_key("authorization"),
        "the consumed token was forwarded"
    );
}

#[tokio::test]
async fn consumed_token_is_not_forwarded_even_with_forward_authorization() {
    let s = setup("", "forward_authorization = true").await;
    let response = get(&s, Some(&s.rsa.token("alice"))).await;
    assert_eq!(response.status(), 200);
    assert!(!s.up.last().headers.contains_key("authorization"));
}

#[tokio::test]
async fn missing_token_is_401_with_bearer_challenge() {
    let s = setup("", "").await;
    let response = get(&s, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_refused(&s, response, "missing_token").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let s = setup("", "").await;
    let expired = s.rsa.sign(&claims("alice", -60));
    assert_refused(&s, get(&s, Some(&expired)).await, "token_expired").await;
    let mut future = claims("alice", 3600);
    future["nbf"] = json!(now() + 600);
    assert_refused(
        &s,
        get(&s, Some(&s.rsa.sign(&future))).await,
        "invalid_token",
    )
    .await;
    let mut no_exp = claims("alice", 3600);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_refused(
        &s,
        get(&s, Some(&s.rsa.sign(&no_exp))).await,
        "invalid_token",
    )
    .await;
    let mut string_exp = claims("alice", 3600);
    string_exp["exp"] = json!((now() + 3600).to_string());
    assert_refused(
        &s,
        get(&s, Some(&s.rsa.sign(&string_exp))).await,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn wrong_issuer_and_audience_are_refused() {
    let s = setup("", "").await;
    let mut c = claims("alice", 3600);
    c["iss"] = json!("https://evil.test/");
    assert_refused(&s, get(&s, Some(&s.rsa.sign(&c))).await, "invalid_token").await;
    let mut c = claims("alice", 3600);
    c["aud"] = json!(["someone-else"]);
    assert_refused(&s, get(&s, Some(&s.rsa.sign(&c))).await, "invalid_token").await;
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with a hand-written header, signed (if at all) by `sign`.
fn forge(header: &str, claims: &serde_json::Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

#[tokio::test]
async fn unsigned_and_confused_algorithms_are_refused() {
    let s = setup("", "").await;
    let c = claims("alice", 3600);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = format!(
            "{}.{}.",
            b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes()),
            b64(c.to_string().as_bytes())
        );
        assert_refused(&s, get(&s, Some(&unsigned)).await, "invalid_token").await;
    }
    // Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    let public_pem = std::fs::read(format!(
        "{}/tests/fixtures/rsa1.pub.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let confused = forge(r#"{"alg":"HS256","kid":"k1"}"#, &c, |input| {
        use jsonwebtoken::crypto::sign;
        let key = jsonwebtoken::EncodingKey::from_secret(&public_pem);
        URL_SAFE_NO_PAD
            .decode(sign(input, &key, Algorithm::HS256).unwrap())
            .unwrap()
    });
    assert_refused(&s, get(&s, Some(&confused)).await, "invalid_token").await;
}

#[tokio::test]
async fn stripped_tampered_and_foreign_signatures_are_refused() {
    let s = setup("", "").await;
    let good = s.rsa.token("alice");
    let parts: Vec<&str> = good.split('.').collect();
    // Signature stripped.
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_refused(&s, get(&s, Some(&stripped)).await, "invalid_token").await;
    let no_sig = format!("{}.{}", parts[0], parts[1]);
    assert_refused(&s, get(&s, Some(&no_sig)).await, "invalid_token").await;
    // One byte of the payload changed (sub alice -> alicf).
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
    let tampered_payload = String::from_utf8(payload)
        .unwrap()
        .replace("alice", "alicf");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(tampered_payload.as_bytes()),
        parts[2]
    );
    assert_refused(&s, get(&s, Some(&tampered)).await, "invalid_token").await;
    // Signed by a different key that claims the same kid.
    let impostor = SigningKey::rsa("rsa2.pem", "k1");
    assert_refused(
        &s,
        get(&s, Some(&impostor.token("alice"))).await,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn key_urls_in_the_header_are_ignored() {
    let s = setup("", "").await;
    let attacker = SigningKey::rsa("rsa2.pem", "attacker");
    // A token that points at its own key: jwk / jku / x5u must not be used.
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some("attacker".into());
    header.jku = Some("http://127.0.0.1:1/jwks.json".into());
    header.x5u = Some("http://127.0.0.1:1/cert.pem".into());
    header.jwk = Some(serde_json::from_value(attacker.jwk()).unwrap());
    let token = jsonwebtoken::encode(&header, &claims("alice", 3600), &attacker.key).unwrap();
    assert_refused(&s, get(&s, Some(&token)).await, "invalid_token").await;
}

#[tokio::test]
async fn malformed_tokens_never_panic() {
    let s = setup("", "").await;
    let c = claims("alice", 3600);
    let dup_payload = format!(
        r#"{{"sub":"alice","sub":"admin","exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}"}}"#,
        now() + 60
    );
    let signer = |input: &[u8]| {
        URL_SAFE_NO_PAD
            .decode(jsonwebtoken::crypto::sign(input, &s.rsa.key, Algorithm::RS256).unwrap())
            .unwrap()
    };
    let dup = {
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"RS256","kid":"k1"}"#),
            b64(dup_payload.as_bytes())
        );
        format!("{input}.{}", b64(&signer(input.as_bytes())))
    };
    let crit = forge(r#"{"alg":"RS256","kid":"k1","crit":["exp"]}"#, &c, signer);
    let cases = vec![
        "not-a-jwt".to_owned(),
        "a.b.c".to_owned(),
        "....".to_owned(),
        "%%%.%%%.%%%".to_owned(),
        format!("{}.{}.x", b64(b"{"), b64(b"}")),
        format!("{}.{}.x", b64(b"[]"), b64(b"{}")),
        format!("{}.{}.x", b64(br#"{"alg":1}"#), b64(b"{}")),
        "x".repeat(9 * 1024),
        dup,
        crit,
    ];
    for token in &cases {
        assert_refused(&s, get(&s, Some(token)).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn ambiguous_tokens_are_refused() {
    let s = setup("", "").await;
    let a = s.rsa.token("alice");
    let b = s.rsa.token("bob");
    let two_headers = client()
        .get(s.gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {a}"))
        .header("authorization", format!("Bearer {b}"))
        .send()
        .await
        .unwrap();
    assert_refused(&s, two_headers, "invalid_token").await;
    let header_and_cookie = client()
        .get(s.gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {a}"))
        .header("cookie", format!("session={b}"))
        .send()
        .await
        .unwrap();
    assert_refused(&s, header_and_cookie, "invalid_token").await;
}

#[tokio::test]
async fn required_claims_give_403_insufficient_scope() {
    let s = setup("", "require_claims = { scope = \"admin\" }").await;
    let response = get(&s, Some(&s.rsa.token("alice"))).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\""
    );
    assert_eq!(error_code(response).await, "insufficient_scope");
    assert_eq!(s.up.calls(), 0);
}

#[tokio::test]
async fn scope_claim_matches_space_separated_values() {
    let s = setup("", "require_claims = { scope = \"chat\" }").await;
    assert_eq!(get(&s, Some(&s.rsa.token("alice"))).await.status(), 200);
}

#[tokio::test]
async fn ec_and_ed25519_keys_from_jwks_verify() {
    let s = setup("", "").await;
    let es = SigningKey::ec("ec256.pem", "ec1", Algorithm::ES256);
    let ed = SigningKey::ed("ed1");
    s.jwks.publish(&[&s.rsa, &es, &ed]);
    // New kids: the gateway refetches the JWKS on first sight.
    assert_eq!(get(&s, Some(&es.token("eve"))).await.status(), 200);
    assert_eq!(s.up.last().headers["x-user-id"], "eve");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let ed_response = get(&s, Some(&ed.token("ed"))).await;
    // The cooldown (30 s) may have blocked a second refetch; both keys came in one fetch.
    assert_eq!(ed_response.status(), 200);
}

#[tokio::test]
async fn rotated_key_is_picked_up_by_refetch() {
    let s = setup("", "").await;
    let before = s.jwks.fetches();
    let rotated = SigningKey::rsa("rsa2.pem", "k2");
    s.jwks.publish(&[&s.rsa, &rotated]);
    assert_eq!(get(&s, Some(&rotated.token("alice"))).await.status(), 200);
    assert_eq!(s.jwks.fetches(), before + 1);
}

#[tokio::test]
async fn random_unknown_kids_cannot_hammer_the_jwks() {
    let s = setup("", "").await;
    let before = s.jwks.fetches();
    let c = claims("alice", 3600);
    // ES256 signs fast; the kids are unknown either way.
    let ec = SigningKey::ec("ec256.pem", "unused", Algorithm::ES256);
    for i in 0..1000 {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(format!("random-{i}"));
        let token = jsonwebtoken::encode(&header, &c, &ec.key).unwrap();
        let response = get(&s, Some(&token)).await;
        assert_eq!(response.status(), 401);
    }
    let fetched = s.jwks.fetches() - before;
    assert!(
        fetched <= 2,
        "1000 unknown kids caused {fetched} JWKS fetches"
    );
    assert_eq!(s.up.calls(), 0);
}

#[tokio::test]
async fn jwks_failure_at_refresh_keeps_the_last_keys() {
    // A zero cooldown makes every unknown kid refetch, so a refresh happens while the IdP is down.
    let s = setup("jwks_cooldown = \"0s\"", "").await;
    s.jwks
        .state
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let before = s.jwks.fetches();
    let stranger = SigningKey::rsa("rsa2.pem", "unknown");
    assert_eq!(get(&s, Some(&stranger.token("x"))).await.status(), 401);
    assert!(s.jwks.fetches() > before, "no refresh was attempted");
    // The known key still verifies.
    assert_eq!(get(&s, Some(&s.rsa.token("alice"))).await.status(), 200);
}

#[tokio::test]
async fn unreachable_jwks_at_startup_gives_503_until_keys_arrive() {
    let rsa = SigningKey::rsa("rsa1.pem", "k1");
    let placeholder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = placeholder.local_addr().unwrap();
    drop(placeholder);
    let up = upstream().await;
    let fake = JwksServer {
        addr,
        state: Default::default(),
    };
    let gw = gateway(&config(&fake, &up, "", "")).await;
    let not_ready = gw.gateway.snapshot().not_ready();
    assert_eq!(not_ready.len(), 1);
    assert!(not_ready[0].contains("`main`"), "{not_ready:?}");
    let response = client()
        .get(gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {}", rsa.token("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(response).await, "auth_unavailable");
    assert_eq!(up.calls(), 0);
    // The identity provider comes up on the same address; the retry loop finds it.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _jwks = jwks_server_on(Some(listener), &[&rsa]).await;
    wait_ready(&gw).await;
    let response = client()
        .get(gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {}", rsa.token("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn cached_token_is_not_used_past_exp() {
    let s = setup("leeway = \"0s\"", "").await;
    let token = s.rsa.sign(&claims("alice", 1));
    assert_eq!(get(&s, Some(&token)).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_refused_after_success(&s, get(&s, Some(&token)).await).await;
}

async fn assert_refused_after_success(s: &Setup, response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "token_expired");
    assert_eq!(s.up.calls(), 1);
}

#[tokio::test]
async fn cookie_tokens_need_same_origin_on_unsafe_methods() {
    let s = setup("", "forward_cookies = true").await;
    let token = s.rsa.token("alice");
    let cookie = format!("theme=dark; session={token}");
    let host = s.gw.addr.to_string();
    // GET with a cookie works, and the session cookie is not forwarded.
    let response = client()
        .get(s.gw.url("/api/up/x"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.up.last().headers["cookie"], "theme=dark");
    // POST without Origin or Referer: refused.
    let response = client()
        .post(s.gw.url("/api/up/x"))
        .header("cookie", &cookie)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "csrf");
    // POST from another origin: refused.
    let response = client()
        .post(s.gw.url("/api/up/x"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // Sec-Fetch-Site: cross-site is refused even with a matching Origin.
    let response = client()
        .post(s.gw.url("/api/up/x"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "cross-site")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(s.up.calls(), 1);
    // Same origin: accepted.
    let response = client()
        .post(s.gw.url("/api/up/x"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A header token is not subject to the CSRF rule.
    let response = client()
        .post(s.gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {token}"))
        .header("origin", "https://evil.example")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn hs256_secret_verifier_works() {
    let secret = "an-hs256-secret-that-is-long-enough-0123456789";
    let up = upstream().await;
    let mut env = std::collections::HashMap::new();
    env.insert("JWT_SECRET".to_owned(), secret.to_owned());
    let config = format!(
        r#"
[auth.dev]
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
secret = "${{env:JWT_SECRET}}"
algorithms = ["HS256"]

[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{}/base"
auth = "dev"
"#,
        up.addr
    );
    let snapshot = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&config).unwrap(),
        &FakeSecrets(env),
    )
    .unwrap();
    let gw = gateway_from(snapshot).await;
    let key = SigningKey::hmac(secret);
    let ok = client()
        .get(gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {}", key.token("dev")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = SigningKey::hmac("another-secret-that-is-also-long-enough-987654");
    let bad = client()
        .get(gw.url("/api/up/x"))
        .header("authorization", format!("Bearer {}", wrong.token("dev")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}
