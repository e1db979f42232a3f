//! Bodies stream both ways: SSE event by event, uploads without buffering,
//! body limits enforced while streaming, cancellation and truncation passed on.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use futures_util::StreamExt;

#[tokio::test]
async fn sse_events_arrive_one_by_one() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let started = Instant::now();
    let response = client().get(gw.url("/api/up/sse")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        // Record one arrival per complete event received so far.
        while arrivals.len() < text.matches("\n\n").count() {
            arrivals.push(started.elapsed());
        }
    }
    assert_eq!(arrivals.len(), 5, "{text}");
    // The upstream sends an event every 200 ms. Buffering would deliver all
    // five together at the end (~800 ms).
    println!("arrivals: {arrivals:?}");
    assert!(arrivals[0] < Duration::from_millis(400), "{arrivals:?}");
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(100),
            "{arrivals:?}"
        );
    }
}

#[tokio::test]
async fn long_stream_is_not_cut_by_the_timeout() {
    // Route timeout 1 s; the stream lasts ~1.05 s with 150 ms gaps.
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client()
        .get(gw.url("/api/up/long-sse"))
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(body.matches("data: event").count(), 8);
}

#[tokio::test]
async fn upload_streams_before_the_client_finishes() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "max_body = \"64MiB\"\ntimeout = \"10s\"")).await;
    let state = up.state.clone();
    // The second half of the body is only produced after the upstream has
    // received the first: a buffering gateway would deadlock here.
    let body = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 1 << 20]))
    })
    .chain(futures_util::stream::once(async move {
        tokio::time::timeout(Duration::from_secs(5), state.first_chunk.notified())
            .await
            .expect("upstream saw no bytes before the upload finished");
        Ok(Bytes::from(vec![b'b'; 8 << 20]))
    }));
    let response = client()
        .post(gw.url("/api/up/upload"))
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), (9 << 20).to_string());
}

#[tokio::test]
async fn declared_oversized_body_is_413_without_calling_upstream() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "max_body = \"1KiB\"")).await;
    let response = client()
        .post(gw.url("/api/up/upload"))
        .body(vec![0u8; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn chunked_oversized_body_is_413_while_streaming() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "max_body = \"1MiB\"")).await;
    let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024])));
    let response = client()
        .post(gw.url("/api/up/upload"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    // The upstream may have started reading, but never got the whole body.
    for seen in up.state.seen.lock().unwrap().iter() {
        assert!(
            seen.body.len() <= 1 << 20,
            "upstream got {} bytes",
            seen.body.len()
        );
    }
}

#[tokio::test]
async fn body_at_the_limit_passes() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "max_body = \"1KiB\"")).await;
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 256])));
    let response = client()
        .post(gw.url("/api/up/upload"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "1024");
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_stream() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client().get(gw.url("/api/up/sse")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: event 0"));
    drop(stream);
    // The upstream's body stream is dropped well before its 800 ms end.
    let dropped = up.state.stream_dropped_notify.notified();
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        if !up.state.stream_dropped.load(Ordering::SeqCst) {
            dropped.await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "upstream stream still running after the client left"
    );
}

#[tokio::test]
async fn upstream_reset_mid_stream_truncates_the_response() {
    let up = upstream().await;
    let gw = gateway(&one_route(&up, "")).await;
    let response = client().get(gw.url("/api/up/reset")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the stream ended cleanly after an upstream reset");
    assert_eq!(received, b"partial;");
}
