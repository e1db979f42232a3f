//! Serving: takes an already-bound listener (tests hand it port 0) and a
//! shutdown signal, and serves until it fires and in-flight requests have
//! finished.
//!
//! The binary runs [`run_workers`]: one thread per worker, each with a
//! single-threaded runtime, its own accept loop on the shared listener and
//! its own upstream connection pool (thread-per-core, as nginx and Envoy
//! do). A request then stays on one thread from accept to upstream and back;
//! measured ~25% less CPU per proxied request than tokio's work-stealing
//! runtime, whose cross-thread wake-ups are costly (see benches/).

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::model::ServerConfig;
use crate::count::Count;
use crate::snapshot::Gateway;

/// Serves `gateway` on `listener` until `shutdown` resolves, then drains:
/// stops accepting, lets every connection finish its requests in flight
/// (HTTP/1 closes after the current response, HTTP/2 sends GOAWAY), and
/// returns when the last one is done.
///
/// Connection hygiene from `[server]` (read once; a change needs a restart):
/// a connection waiting for a request head (a new one, or an idle
/// keep-alive one) gets `header_read_timeout` to deliver the whole head,
/// so idle and slowloris connections are closed; at most `max_connections`
/// are open at once (more are closed on accept and counted); HTTP/2 allows
/// `http2_max_concurrent_streams` streams per connection.
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = gateway.snapshot().config.server.clone();
    let builder = connection_builder(&server);
    let max_connections = server.max_connections();
    let first_byte = server.header_read_timeout;
    let router = crate::app::app(gateway);
    let open = Count::default();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: keep serving the connections we have.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(guard) = open.try_take(max_connections) else {
            crate::observability::metrics::connection_rejected();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's header timer starts once it knows the protocol, i.e.
            // after the first byte: a connection that sends nothing at all
            // gets the same deadline here.
            let mut first = [0u8; 1];
            match tokio::time::timeout(first_byte, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return, // silent past the deadline, closed, or failed
            }
            let service = tower::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    Ok::<_, Infallible>(
                        router
                            .oneshot(request.map(Body::new))
                            .await
                            .unwrap_or_else(|never| match never {}),
                    )
                }
            });
            let connection = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(guard);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The HTTP/1 and HTTP/2 settings every connection of this server uses.
fn connection_builder(server: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's own limits are a backstop at twice the configured ones: the
    // admit phase answers within them with a JSON 431; beyond them hyper
    // answers a bare 431 before a request exists.
    let max_head = usize::try_from(server.max_header_size.as_u64()).unwrap_or(usize::MAX);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(server.header_read_timeout)
        .max_buf_size(max_head.saturating_mul(2).max(8192))
        .max_headers(server.max_headers.saturating_mul(2));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(server.http2_max_concurrent_streams)
        .enable_connect_protocol();
    builder
}

/// Serves on `workers` threads until `shutdown` becomes `true`, then drains
/// every worker and returns. Blocks the calling thread.
pub fn run_workers(
    listener: std::net::TcpListener,
    gateway: Gateway,
    workers: usize,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut threads = Vec::with_capacity(workers);
    for index in 0..workers.max(1) {
        let listener = listener.try_clone()?;
        let gateway = gateway.for_worker(index);
        let mut shutdown = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name(format!("portcullis-worker-{index}"))
            .spawn(move || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    let stop = async move {
                        let _ = shutdown.wait_for(|stop| *stop).await;
                    };
                    serve(listener, gateway, stop).await
                })
            })?;
        threads.push(thread);
    }
    // Only the workers hold the socket now: when they stop accepting, the
    // kernel refuses new connections.
    drop(listener);
    let mut result = Ok(());
    for thread in threads {
        let outcome = thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("a worker thread panicked")));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
