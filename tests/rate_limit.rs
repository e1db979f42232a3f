//! Rate limits with the memory backend: exact GCRA counts with time under
//! test control, per-key isolation, key sources, X-Forwarded-For spoofing,
//! standard headers, config errors and the memory bound.

mod common;

use std::time::Duration;

use common::*;
use portcullis::rate_limit::memory::MemoryLimiter;

fn limit_config(up: &Upstream, limit: &str, route_extra: &str) -> String {
    format!(
        r#"
[limits.l]
{limit}

[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{}/base"
auth = "none"
limits = ["l"]
{route_extra}
"#,
        up.addr
    )
}

#[tokio::test(start_paused = true)]
async fn burst_then_one_per_interval_exactly() {
    let snapshot = snapshot(
        "[limits.l]\nkey = \"global\"\nrate = \"60/min\"\nburst = 10\n[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"none\"\nlimits = [\"l\"]\n",
    );
    let limit = snapshot.limits().next().unwrap().clone();
    for i in 0..10 {
        let d = limit.check("").await.unwrap();
        assert!(d.allowed, "burst request {i}");
        assert_eq!(d.remaining, 9 - i);
    }
    let refused = limit.check("").await.unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    // Just before the interval: still refused. At the interval: exactly one.
    tokio::time::advance(Duration::from_millis(999)).await;
    assert!(!limit.check("").await.unwrap().allowed);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(limit.check("").await.unwrap().allowed);
    assert!(!limit.check("").await.unwrap().allowed);
    // A long pause refills the burst, never more.
    tokio::time::advance(Duration::from_secs(3600)).await;
    let allowed = futures_util::future::join_all((0..12).map(|_| limit.check(""))).await;
    assert_eq!(
        allowed
            .iter()
            .filter(|d| d.as_ref().unwrap().allowed)
            .count(),
        10
    );
}

#[tokio::test]
async fn header_keyed_limit_isolates_keys_and_sets_headers() {
    let up = upstream().await;
    let gw = gateway(&limit_config(
        &up,
        "key = \"header:x-api-user\"\nrate = \"1/hour\"\nburst = 3",
        "",
    ))
    .await;
    let c = client();
    for remaining in [2, 1, 0] {
        let r = c
            .get(gw.url("/api/up/x"))
            .header("x-api-user", "alice")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["ratelimit-limit"], "3");
        assert_eq!(
            r.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert!(r.headers().contains_key("ratelimit-reset"));
    }
    let refused = c
        .get(gw.url("/api/up/x"))
        .header("x-api-user", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3599..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    assert_eq!(error_code(refused).await, "rate_limited");
    assert_eq!(
        up.calls(),
        3,
        "the upstream was called for a refused request"
    );
    // Bob is not affected by Alice's exhaustion.
    let r = c
        .get(gw.url("/api/up/x"))
        .header("x-api-user", "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn global_limit_is_shared_by_everyone() {
    let up = upstream().await;
    let gw = gateway(&limit_config(
        &up,
        "key = \"global\"\nrate = \"1/hour\"\nburst = 2",
        "",
    ))
    .await;
    let c = client();
    assert_eq!(
        c.get(gw.url("/api/up/a"))
            .header("x-api-user", "a")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(gw.url("/api/up/b"))
            .header("x-api-user", "b")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(gw.url("/api/up/c")).send().await.unwrap().status(),
        429
    );
}

#[tokio::test]
async fn spoofed_forwarded_for_is_ignored_from_untrusted_peers() {
    let up = upstream().await;
    let gw = gateway(&limit_config(
        &up,
        "key = \"ip\"\nrate = \"1/hour\"\nburst = 1",
        "",
    ))
    .await;
    let c = client();
    let first = c
        .get(gw.url("/api/up/x"))
        .header("x-forwarded-for", "1.1.1.1")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = c
        .get(gw.url("/api/up/x"))
        .header("x-forwarded-for", "2.2.2.2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.status(),
        429,
        "a client picked its own key with X-Forwarded-For"
    );
}

#[tokio::test]
async fn forwarded_for_is_honoured_from_trusted_proxies() {
    let up = upstream().await;
    let gw = gateway(&format!(
        "[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n{}",
        limit_config(&up, "key = \"ip\"\nrate = \"1/hour\"\nburst = 1", "")
    ))
    .await;
    let c = client();
    let send = |ip: &'static str| {
        c.get(gw.url("/api/up/x"))
            .header("x-forwarded-for", ip)
            .send()
    };
    assert_eq!(send("198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(send("198.51.100.2").await.unwrap().status(), 200);
    assert_eq!(send("198.51.100.1").await.unwrap().status(), 429);
    // The right-most untrusted entry counts, not a client-prepended one.
    assert_eq!(send("6.6.6.6, 198.51.100.2").await.unwrap().status(), 429);
}

const HS_SECRET: &str = "rate-limit-test-secret-0123456789abcdef";

fn hs_token(sub: &str) -> String {
    common::idp::SigningKey::hmac(HS_SECRET)
        .sign(&serde_json::json!({"sub": sub, "exp": 4_000_000_000u64}))
}

async fn jwt_gateway(up: &Upstream, limits: &str, route_limits: &str) -> TestGateway {
    let mut env = std::collections::HashMap::new();
    env.insert("S".to_owned(), HS_SECRET.to_owned());
    let toml = format!(
        r#"
{limits}
[auth.dev]
allow_any_issuer = true
allow_any_audience = true
secret = "${{env:S}}"
algorithms = ["HS256"]

[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{}/base"
auth = "dev"
limits = {route_limits}
"#,
        up.addr
    );
    let snapshot = portcullis::snapshot::Snapshot::build(
        portcullis::config::from_toml(&toml).unwrap(),
        &FakeSecrets(env),
    )
    .unwrap();
    gateway_from(snapshot).await
}

#[tokio::test]
async fn per_user_limits_isolate_users() {
    let up = upstream().await;
    let gw = jwt_gateway(
        &up,
        "[limits.per_user]\nkey = \"claim:sub\"\nrate = \"1/hour\"\nburst = 2",
        "[\"per_user\"]",
    )
    .await;
    let c = client();
    let send = |sub: &str| c.get(gw.url("/api/up/x")).bearer_auth(hs_token(sub)).send();
    assert_eq!(send("alice").await.unwrap().status(), 200);
    assert_eq!(send("alice").await.unwrap().status(), 200);
    assert_eq!(send("alice").await.unwrap().status(), 429);
    assert_eq!(
        send("bob").await.unwrap().status(),
        200,
        "user A's exhaustion affected user B"
    );
}

#[tokio::test]
async fn ip_limits_run_before_authentication() {
    let up = upstream().await;
    let gw = jwt_gateway(
        &up,
        "[limits.by_ip]\nkey = \"ip\"\nrate = \"1/hour\"\nburst = 2",
        "[\"by_ip\"]",
    )
    .await;
    let c = client();
    for want in [401, 401, 429] {
        let r = c
            .get(gw.url("/api/up/x"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
    assert_eq!(up.calls(), 0);
}

#[test]
fn config_errors_name_the_limit() {
    let route = |limits: &str, auth: &str| {
        format!(
            "[[routes]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:9\"\nauth = \"{auth}\"\nlimits = {limits}\n"
        )
    };
    let cases = [
        (
            "[limits.l]\nkey = \"ip\"\nrate = \"60/fortnight\"\n".to_owned()
                + &route("[\"l\"]", "none"),
            "limits.l.rate",
        ),
        (
            "[limits.l]\nkey = \"ip\"\nrate = \"0/min\"\n".to_owned() + &route("[\"l\"]", "none"),
            "limits.l.rate",
        ),
        (
            "[limits.l]\nkey = \"ip\"\nrate = \"1/min\"\nburst = 0\n".to_owned()
                + &route("[\"l\"]", "none"),
            "limits.l.burst",
        ),
        (
            "[limits.l]\nkey = \"cookie:x\"\nrate = \"1/min\"\n".to_owned()
                + &route("[\"l\"]", "none"),
            "limits.l.key",
        ),
        (
            "[limits.l]\nkey = \"claim:sub\"\nrate = \"1/min\"\n".to_owned()
                + &route("[\"l\"]", "none"),
            "keyed by a claim",
        ),
        (route("[\"missing\"]", "none"), "no limit named `missing`"),
        (
            "[rate_limit]\nbackend = \"memcached://x\"\n".to_owned() + &route("[]", "none"),
            "rate_limit.backend",
        ),
    ];
    for (toml, expected) in cases {
        // A bad value is refused while loading (rates and keys are typed),
        // a bad combination while building; either names the key.
        let err = config_error(&toml);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A million distinct keys (a cardinality attack) stay within the key cap,
/// and the process grows by a bounded amount: stated bound 64 MiB for a
/// 100,000-key cap (measured: see the closing note / README).
#[test]
fn a_million_keys_stay_bounded() {
    let limiter = MemoryLimiter::new(Duration::from_secs(1), 5, 100_000).unwrap();
    let before = rss_bytes();
    for i in 0..1_000_000u32 {
        limiter.check(&format!("attacker-{i}"));
    }
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        limiter.tracked_keys() <= 100_001,
        "{} keys tracked",
        limiter.tracked_keys()
    );
    println!(
        "1,000,000 keys: {} tracked, RSS grew {} KiB",
        limiter.tracked_keys(),
        grown / 1024
    );
    assert!(grown < 64 << 20, "RSS grew by {} MiB", grown >> 20);
}
