//! Rate limits shared through a real Redis (`redis-server`, which `.ci/run`
//! installs): two gateways share one limit, and Redis stopping mid-test is
//! handled by `on_backend_error`.

mod common;

use common::redis::RedisServer;
use common::*;

fn config(redis: &RedisServer, up: &Upstream, on_error: &str) -> String {
    format!(
        r#"
[rate_limit]
backend = "redis://127.0.0.1:{port}"
on_backend_error = "{on_error}"

[limits.org]
key = "global"
rate = "1/hour"
burst = 3

[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{up}/base"
auth = "none"
limits = ["org"]
"#,
        port = redis.port,
        up = up.addr
    )
}

#[tokio::test]
async fn two_gateways_share_one_limit() {
    let redis = RedisServer::start();
    let up = upstream().await;
    let a = gateway(&config(&redis, &up, "deny")).await;
    let b = gateway(&config(&redis, &up, "deny")).await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    let c = client();
    let mut statuses = Vec::new();
    for gw in [&a, &b, &a, &b, &a] {
        let r = c.get(gw.url("/api/up/x")).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 200 {
            assert_eq!(r.headers()["ratelimit-limit"], "3");
        } else {
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((3599..=3600).contains(&retry), "Retry-After {retry}");
        }
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "the limit was not shared"
    );
    assert_eq!(up.calls(), 3);
}

#[tokio::test]
async fn redis_stopping_mid_test_follows_the_policy() {
    let mut redis = RedisServer::start();
    let up = upstream().await;
    let deny = gateway(&config(&redis, &up, "deny")).await;
    let allow = gateway(&config(&redis, &up, "allow")).await;
    wait_ready(&deny).await;
    wait_ready(&allow).await;
    let c = client();
    assert_eq!(
        c.get(deny.url("/api/up/x")).send().await.unwrap().status(),
        200
    );
    redis.stop();
    let refused = c.get(deny.url("/api/up/x")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(error_code(refused).await, "rate_limit_unavailable");
    assert_eq!(up.calls(), 1, "deny must not call the upstream");
    let allowed = c.get(allow.url("/api/up/x")).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(up.calls(), 2);
}
