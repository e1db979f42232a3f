//! Test support: a real upstream (axum on 127.0.0.1:0) that records what it
//! receives, a real gateway on 127.0.0.1:0 built from TOML text, and a raw
//! socket client for requests no well-behaved client would send.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use portcullis::config::{self, SecretSource};
use portcullis::snapshot::{Gateway, Snapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub mod idp;
pub mod process;
pub mod redis;

/// Secret values the tests' configs may reference; fake, never the process env.
pub struct FakeSecrets(pub HashMap<String, String>);

impl FakeSecrets {
    pub fn standard() -> Self {
        let mut env = HashMap::new();
        env.insert("API_KEY".to_owned(), "sk-test-SECRET-1234567890".to_owned());
        env.insert("QUERY_KEY".to_owned(), "qk-SECRET-abc&=+ def".to_owned());
        Self(env)
    }
}

impl SecretSource for FakeSecrets {
    fn env(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
    fn file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

pub const API_KEY: &str = "sk-test-SECRET-1234567890";
pub const QUERY_KEY: &str = "qk-SECRET-abc&=+ def";

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Default)]
pub struct UpstreamState {
    pub seen: Mutex<Vec<Seen>>,
    pub calls: AtomicUsize,
    /// Set when a streaming response body is dropped before its end.
    pub stream_dropped: AtomicBool,
    pub stream_dropped_notify: Notify,
    /// Notified when the first chunk of a request body arrives.
    pub first_chunk: Notify,
    /// A second server's address, for redirect tests.
    pub redirect_to: Mutex<Option<SocketAddr>>,
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub state: Arc<UpstreamState>,
}

impl Upstream {
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }
    pub fn last(&self) -> Seen {
        self.state
            .seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the upstream was not called")
    }
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Starts the recording upstream. Behaviour is chosen by the last path segment:
/// `sse`, `slow`, `stall`, `reset`, `redirect`, `upload`, `long-sse`, `fail` (500); anything
/// else answers 200 `ok` with headers a third-party API must not set on our origin.
pub async fn upstream() -> Upstream {
    let state = Arc::new(UpstreamState::default());
    let app = Router::new()
        .fallback(upstream_handler)
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Upstream { addr, state }
}

struct DropFlag(Arc<UpstreamState>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.stream_dropped.store(true, Ordering::SeqCst);
        self.0.stream_dropped_notify.notify_waiters();
    }
}

async fn upstream_handler(State(state): State<Arc<UpstreamState>>, request: Request) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let (parts, mut body) = request.into_parts();
    let last = parts.uri.path().rsplit('/').next().unwrap_or("").to_owned();
    let mut bytes = Vec::new();
    let mut first = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    if first && last == "upload" {
                        state.first_chunk.notify_one();
                    }
                    first = false;
                    bytes.extend_from_slice(data);
                }
            }
            Err(_) => break,
        }
    }
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: bytes.clone(),
    });
    match last.as_str() {
        "sse" => events(state, 5, Duration::from_millis(200)),
        "long-sse" => events(state, 8, Duration::from_millis(150)),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Response::new(Body::from("late"))
        }
        "stall" => {
            let stream =
                futures_util::stream::once(async { Ok::<_, Infallible>(Bytes::from("first;")) })
                    .chain(futures_util::stream::once(async {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        Ok(Bytes::from("never"))
                    }));
            Response::new(Body::from_stream(stream))
        }
        "reset" => {
            let stream = futures_util::stream::once(async { Ok(Bytes::from("partial;")) }).chain(
                futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(std::io::Error::other("upstream died"))
                }),
            );
            Response::new(Body::from_stream(stream))
        }
        "redirect" => {
            let target = state.redirect_to.lock().unwrap().unwrap();
            Response::builder()
                .status(302)
                .header("location", format!("http://{target}/stolen"))
                .body(Body::empty())
                .unwrap()
        }
        "upload" => Response::new(Body::from(bytes.len().to_string())),
        "fail" => Response::builder()
            .status(500)
            .body(Body::from("upstream failed"))
            .unwrap(),
        _ => Response::builder()
            .header("content-type", "text/plain")
            .header("set-cookie", "tracker=1; Path=/")
            .header("access-control-allow-origin", "*")
            .header("access-control-allow-credentials", "true")
            .header("alt-svc", "h3=\":443\"")
            .header("keep-alive", "timeout=5")
            .header("connection", "x-upstream-hop")
            .header("x-upstream-hop", "secret-hop")
            .header("x-upstream-kept", "yes")
            .body(Body::from("ok"))
            .unwrap(),
    }
}

use futures_util::StreamExt;

fn events(state: Arc<UpstreamState>, n: usize, gap: Duration) -> Response {
    let guard = DropFlag(state);
    let stream = futures_util::stream::unfold((0usize, guard), move |(i, guard)| async move {
        if i >= n {
            // Reaching the end is not a drop: disarm the flag.
            std::mem::forget(guard);
            return None;
        }
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let event = Bytes::from(format!("data: event {i}\n\n"));
        Some((Ok::<_, Infallible>(event), (i + 1, guard)))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// A running gateway on 127.0.0.1:0.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub gateway: Gateway,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestGateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Builds a snapshot from TOML text with the standard fake secrets.
pub fn snapshot(toml: &str) -> Snapshot {
    let config = config::from_toml(toml).expect("test config parses");
    Snapshot::build(config, &FakeSecrets::standard()).expect("test config is valid")
}

/// Starts a gateway serving `toml`.
pub async fn gateway(toml: &str) -> TestGateway {
    gateway_from(snapshot(toml)).await
}

/// Starts a gateway serving `snapshot`.
pub async fn gateway_from(snapshot: Snapshot) -> TestGateway {
    let gateway = Gateway::new(snapshot);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = gateway.clone();
    tokio::spawn(async move {
        portcullis::server::serve(listener, serving, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestGateway {
        addr,
        gateway,
        shutdown: Some(tx),
    }
}

/// A route table with one public route `/api/up` to `upstream` + `/base`, plus `extra` TOML.
pub fn one_route(upstream: &Upstream, extra: &str) -> String {
    let timeout = if extra.contains("timeout =") {
        ""
    } else {
        "timeout = \"1s\""
    };
    format!(
        r#"
[[routes]]
name = "up"
path = "/api/up"
upstream = "http://{}/base"
auth = "none"
{timeout}
{extra}
"#,
        upstream.addr
    )
}

/// A plain client: no redirects, no proxy, no pooling surprises.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// The JSON error code of a gateway error response.
pub async fn error_code(response: reqwest::Response) -> String {
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

/// Sends raw bytes, returns the raw response (read until close or 5 s).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP/1.1 response.
pub fn raw_status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

/// Waits (bounded) until `cond` holds.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits (bounded) until every verifier of the gateway has its keys.
pub async fn wait_ready(gw: &TestGateway) {
    for _ in 0..100 {
        if gw.gateway.snapshot().not_ready().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gateway not ready: {:?}", gw.gateway.snapshot().not_ready());
}

/// A loopback address that was free a moment ago (for a child process's listener).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The Prometheus text of the admin listener at `admin`.
pub async fn metrics(admin: SocketAddr) -> String {
    client()
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The config error for `toml`: from loading (a bad value) or from building
/// (a bad combination); panics if the config is accepted.
pub fn config_error(toml: &str) -> String {
    match config::from_toml(toml) {
        Err(e) => e.to_string(),
        Ok(config) => match Snapshot::build(config, &FakeSecrets::standard()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted:\n{toml}"),
        },
    }
}
