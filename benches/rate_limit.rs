//! Cost of one rate-limit check: the memory backend (governor GCRA) for one
//! hot key and for many distinct keys, and the Redis backend (one Lua
//! script call per check; the Redis command count proves it) against a
//! private `redis-server` when one is installed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis::config;
use portcullis::snapshot::Snapshot;

fn snapshot(backend: &str) -> Snapshot {
    let toml = format!(
        r#"
[rate_limit]
backend = "{backend}"
max_keys = 1000000
[limits.l]
key = "header:x-user"
rate = "1000000/s"
burst = 1000000
[[routes]]
name = "r"
path = "/r"
upstream = "http://127.0.0.1:9"
auth = "none"
limits = ["l"]
"#
    );
    Snapshot::build(
        config::from_toml(&toml).expect("toml"),
        &config::SystemSecrets::default(),
    )
    .expect("snapshot")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("portcullis rate_limit");
    let memory = snapshot("memory");
    let limit = memory.limits().next().expect("limit").clone();
    let n = 1_000_000;
    let keys: Vec<String> = (0..100_000).map(|i| format!("user-{i}")).collect();
    let (hot, spread) = runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            assert!(limit.check("user-1").await.expect("check").allowed);
        }
        let hot = start.elapsed();
        let start = Instant::now();
        for i in 0..n {
            assert!(
                limit
                    .check(&keys[i % keys.len()])
                    .await
                    .expect("check")
                    .allowed
            );
        }
        (hot, start.elapsed())
    });
    println!(
        "memory, one key:        {:>8.0} ns/check",
        hot.as_nanos() as f64 / n as f64
    );
    println!(
        "memory, 100k keys:      {:>8.0} ns/check",
        spread.as_nanos() as f64 / n as f64
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let Ok(mut redis) = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
    else {
        println!("redis: redis-server not installed, skipped");
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    runtime.block_on(async {
        let snapshot = snapshot(&url);
        snapshot.start_background();
        for _ in 0..200 {
            if snapshot.not_ready().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let limit = snapshot.limits().next().expect("limit").clone();
        let calls_before = script_calls(&url).await;
        let n = 20_000;
        let start = Instant::now();
        for i in 0..n {
            assert!(
                limit
                    .check(&keys[i % keys.len()])
                    .await
                    .expect("check")
                    .allowed
            );
        }
        let elapsed = start.elapsed();
        let calls = script_calls(&url).await - calls_before;
        println!(
            "redis (loopback):       {:>8.1} µs/check, {:.2} Redis commands per check",
            elapsed.as_secs_f64() * 1e6 / n as f64,
            calls as f64 / n as f64
        );
    });
    let _ = redis.kill();
    let _ = redis.wait();
}

/// EVAL + EVALSHA calls so far, from INFO commandstats.
async fn script_calls(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("client");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut con)
        .await
        .expect("info");
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}
