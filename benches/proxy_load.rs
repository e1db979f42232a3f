//! Load benchmark: the upstream directly vs. through the gateway, one run.
//!
//! Starts a small axum upstream in this process and the real `portcullis`
//! binary as a child process (a route with header injection), then drives
//! each target with keep-alive HTTP/1.1 connections (1 and 64 at once) and
//! reports requests/s, p50/p99 latency, the latency the gateway adds, and
//! the gateway's CPU time per proxied request (utime+stime of its process
//! from /proc, before/after).
//!
//! `BENCH_SECS` sets the measuring time per case (default 3 s).
//! `BENCH_BASELINE_BIN=/path/to/older/portcullis` runs the same cases
//! through a second build (e.g. the commit before a change) in the same run,
//! so a change is compared against its baseline under the same load.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::any;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

const BODY: &str = r#"{"id":"cmpl-1","object":"text_completion","ok":true}"#;

fn main() {
    if std::env::var("PORTCULLIS_BENCH_ROLE").as_deref() == Ok("upstream") {
        return upstream_process();
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(Duration::from_secs(secs)));
}

async fn run(measure: Duration) {
    let upstream_process = Upstream::start();
    let upstream = upstream_process.addr;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_portcullis"));
    let portcullis = ProxyProcess::portcullis(upstream, dir.path(), &bin, "");
    let idle_rss = portcullis.memory().0;
    // The same gateway process, on a route that verifies an RS256 JWT
    // (one token, so after the first request it is a cache hit).
    let jwt = portcullis.jwt_route();
    let limited = portcullis.limited_route();
    let mut proxies = vec![portcullis, jwt, limited];
    if let Some(baseline) = std::env::var_os("BENCH_BASELINE_BIN") {
        let base = ProxyProcess::portcullis(upstream, dir.path(), baseline.as_ref(), "baseline ");
        proxies.push(base.jwt_route());
        proxies.push(base.limited_route());
        proxies.insert(1, base);
    }
    // nginx, when installed, as a same-run anchor: a plain reverse proxy
    // with the same header injection, one worker, buffered access log.
    if let Some(nginx) = ProxyProcess::nginx(upstream, dir.path()) {
        proxies.push(nginx);
    }

    println!(
        "portcullis proxy_load: {}s per case, small GET, keep-alive HTTP/1.1",
        measure.as_secs()
    );
    println!(
        "{:<34} {:>5} {:>11} {:>9} {:>9} {:>13}",
        "case", "conns", "req/s", "p50 µs", "p99 µs", "CPU µs/req"
    );
    for conns in [1usize, 64] {
        let direct = load(upstream, "/v1/chat", None, conns, measure).await;
        direct.print("direct to upstream", conns, None);
        for proxy in &proxies {
            let cpu_before = proxy.cpu_time();
            let proxied = load(
                proxy.addr,
                proxy.path,
                proxy.bearer.as_deref(),
                conns,
                measure,
            )
            .await;
            let cpu = proxy.cpu_time() - cpu_before;
            let per_request = cpu.as_secs_f64() * 1e6 / proxied.sent as f64;
            proxied.print(&proxy.name, conns, Some(per_request));
            println!(
                "  -> vs direct: throughput {:.2}x, p50 {:.2}x; added p50 latency {} µs",
                proxied.rps() / direct.rps(),
                proxied.p(0.50) as f64 / direct.p(0.50).max(1) as f64,
                proxied.p(0.50) as i64 - direct.p(0.50) as i64
            );
        }
    }
    let (rss, peak) = proxies[0].memory();
    println!(
        "portcullis memory: idle RSS {idle_rss} KiB; after the runs RSS {rss} KiB, peak {peak} KiB"
    );
}

/// The upstream runs in its own process (this binary, re-executed), so the
/// direct case crosses processes exactly like the proxied one.
fn upstream_process() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let app = Router::new().fallback(any(|| async { BODY }));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        println!("{}", listener.local_addr().expect("addr"));
        let _ = axum::serve(listener, app).await;
    });
}

struct Upstream {
    child: Child,
    addr: SocketAddr,
}

impl Upstream {
    fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .env("PORTCULLIS_BENCH_ROLE", "upstream")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start upstream");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("upstream address");
        let addr = line.trim().parse().expect("upstream address");
        Self { child, addr }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy under test, running as a child process.
struct ProxyProcess {
    name: String,
    path: &'static str,
    bearer: Option<String>,
    /// `None` for a second view of another entry's process.
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
}

fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    probe.local_addr().expect("addr")
}

impl ProxyProcess {
    fn portcullis(
        upstream: SocketAddr,
        dir: &std::path::Path,
        bin: &std::path::Path,
        label: &str,
    ) -> Self {
        let config = dir.join("bench.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[[routes]]
name = "bench"
path = "/api/bench"
upstream = "http://{upstream}/v1"
auth = "none"
inject_headers = {{ authorization = "Bearer ${{env:BENCH_KEY}}" }}

[limits.per_ip]
key = "ip"
rate = "1000000/s"
burst = 1000000

[limits.org]
key = "global"
rate = "1000000/s"
burst = 1000000

[[routes]]
name = "limited"
path = "/api/limited"
upstream = "http://{upstream}/v1"
auth = "none"
limits = ["per_ip", "org"]
inject_headers = {{ authorization = "Bearer ${{env:BENCH_KEY}}" }}

[auth.bench]
issuer = "bench"
audience = ["bench"]
public_key = "${{file:{fixtures}/rsa1.pub.pem}}"
algorithms = ["RS256"]

[[routes]]
name = "jwt"
path = "/api/jwt"
upstream = "http://{upstream}/v1"
auth = "bench"
forward_claims = {{ "x-user-id" = "sub" }}
inject_headers = {{ authorization = "Bearer ${{env:BENCH_KEY}}" }}
"#,
                fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")
            ),
        )
        .expect("write config");
        let addr = free_port();
        let mut child = Command::new(bin)
            .arg("run")
            .arg("--config")
            .arg(&config)
            .env("BENCH_KEY", "sk-bench-0123456789")
            .env("PORTCULLIS_SERVER__LISTEN", addr.to_string())
            .env(
                "PORTCULLIS_LOG",
                std::env::var("BENCH_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("PORTCULLIS_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portcullis");
        let stderr = child.stderr.take().expect("stderr");
        // Reads (and discards) the gateway's log, as a container runtime would.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("\"ERROR\"") || !line.starts_with('{') {
                    eprintln!("gateway: {line}");
                }
            }
        });
        let pid = child.id();
        Self::ready(Self {
            name: format!("{label}via portcullis (+inject header)"),
            path: "/api/bench/chat",
            bearer: None,
            child: Some(child),
            pid,
            addr,
        })
    }

    fn limited_route(&self) -> Self {
        Self {
            name: self.name.replace("(+inject header)", "(+2 limits +inject)"),
            path: "/api/limited/chat",
            bearer: None,
            child: None,
            pid: self.pid,
            addr: self.addr,
        }
    }

    fn jwt_route(&self) -> Self {
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!("../tests/fixtures/rsa1.pem"))
                .expect("key");
        let claims = serde_json::json!({"iss": "bench", "aud": "bench", "sub": "user-1", "exp": 4_000_000_000u64});
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .expect("token");
        Self {
            name: self
                .name
                .replace("(+inject header)", "(+JWT RS256 +inject)"),
            path: "/api/jwt/chat",
            bearer: Some(token),
            child: None,
            pid: self.pid,
            addr: self.addr,
        }
    }

    fn nginx(upstream: SocketAddr, dir: &std::path::Path) -> Option<Self> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let addr = free_port();
        let d = dir.display();
        let config = dir.join("nginx.conf");
        std::fs::write(
            &config,
            format!(
                r#"
daemon off;
master_process off;
worker_processes 1;
error_log {d}/nginx-error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/nginx-access.log combined buffer=64k flush=1s;
    client_body_temp_path {d};
    proxy_temp_path {d};
    keepalive_requests 10000000;
    upstream up {{ server {upstream}; keepalive 64; keepalive_requests 10000000; }}
    server {{
        listen {addr};
        location /api/bench/ {{
            proxy_pass http://up/v1/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer sk-bench-0123456789";
            proxy_set_header Cookie "";
        }}
    }}
}}
"#
            ),
        )
        .expect("write nginx config");
        let nginx = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .arg("-p")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Self::ready(Self {
            name: "via nginx (anchor, +inject header)".to_owned(),
            path: "/api/bench/chat",
            bearer: None,
            pid: nginx.id(),
            child: Some(nginx),
            addr,
        }))
    }

    fn ready(self) -> Self {
        for _ in 0..200 {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return self;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not start listening on {}", self.name, self.addr);
    }

    /// (VmRSS, VmHWM) of the process in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// utime + stime of the process, all threads.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("stat");
        let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        // Clock ticks are 100 per second on Linux x86_64 and aarch64.
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Result_ {
    count: u64,
    /// Requests including the warm-up, for CPU per request.
    sent: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Result_ {
    fn rps(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
    fn p(&self, q: f64) -> u32 {
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        self.latencies_us[i]
    }
    fn print(&self, name: &str, conns: usize, cpu: Option<f64>) {
        println!(
            "{:<34} {:>5} {:>11.0} {:>9} {:>9} {:>13}",
            name,
            conns,
            self.rps(),
            self.p(0.50),
            self.p(0.99),
            cpu.map(|c| format!("{c:.1}")).unwrap_or_else(|| "-".into())
        );
    }
}

/// `conns` keep-alive connections, each sending requests back to back
/// for a short warm-up and then `measure`.
async fn load(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
    conns: usize,
    measure: Duration,
) -> Result_ {
    let authorization = bearer.map(|t| format!("Bearer {t}"));
    let warmup = Duration::from_millis(500);
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let path = path.to_owned();
        let authorization = authorization.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(100_000);
            let mut sent = 0u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let mut request = http::Request::get(&path).header("host", "bench");
                if let Some(value) = &authorization {
                    request = request.header("authorization", value);
                }
                let request = request.body(Empty::<Bytes>::new()).expect("request");
                let response = sender.send_request(request).await.expect("send");
                assert_eq!(response.status(), 200);
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                assert_eq!(body.len(), BODY.len());
                sent += 1;
                if now >= start {
                    latencies.push(now.elapsed().as_micros() as u32);
                }
            }
            (latencies, sent)
        }));
    }
    let mut all = Vec::new();
    let mut sent = 0;
    for task in tasks {
        let (latencies, n) = task.await.expect("load task");
        all.extend(latencies);
        sent += n;
    }
    all.sort_unstable();
    Result_ {
        count: all.len() as u64,
        sent,
        elapsed: measure,
        latencies_us: all,
    }
}
