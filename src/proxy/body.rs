//! Body wrappers that keep both directions streaming.
//!
//! - [`limit_request`] counts request bytes as they pass and fails the stream
//!   past `max_body`; the outcome is recorded so the caller answers 413
//!   rather than 502.
//! - [`IdleTimeout`] fails a response body whose upstream goes quiet for
//!   longer than the route's timeout; the total length of a stream is never
//!   bounded (an SSE stream may run for minutes).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

/// A boxed error, as bodies carry them.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Every frame was sent.
    Complete,
    /// The upstream broke off (or went quiet past the timeout).
    Failed,
    /// Dropped before its end: the client went away.
    Dropped,
}

/// What happened to a request body on its way upstream.
#[derive(Debug, Default)]
pub(crate) struct BodyOutcome(AtomicU8);

const TOO_LARGE: u8 = 1;
const CLIENT_FAILED: u8 = 2;

impl BodyOutcome {
    /// The body went past `max_body`.
    pub(crate) fn too_large(&self) -> bool {
        self.0.load(Ordering::Acquire) == TOO_LARGE
    }

    /// The client's body stream failed (disconnect, bad chunk encoding).
    pub(crate) fn client_failed(&self) -> bool {
        self.0.load(Ordering::Acquire) == CLIENT_FAILED
    }
}

/// The request body failed on the client's side.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeds max_body")]
struct TooLarge;

/// Wraps the client's body as a streaming upstream body capped at `max` bytes.
pub(crate) fn limit_request(body: Body, max: u64, outcome: Arc<BodyOutcome>) -> reqwest::Body {
    let mut seen: u64 = 0;
    let stream = body
        .into_data_stream()
        .map(move |chunk| -> Result<Bytes, BoxError> {
            let chunk = chunk.map_err(|e| {
                outcome.0.store(CLIENT_FAILED, Ordering::Release);
                BoxError::from(e)
            })?;
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > max {
                outcome.0.store(TOO_LARGE, Ordering::Release);
                return Err(TooLarge.into());
            }
            Ok(chunk)
        });
    reqwest::Body::wrap_stream(stream)
}

/// The upstream went quiet for longer than the route's timeout.
#[derive(Debug, thiserror::Error)]
#[error("upstream idle for longer than the route timeout")]
pub(crate) struct IdleTimeoutError;

pin_project! {
    /// A response body that fails when no frame arrives within `idle`.
    pub struct IdleTimeout<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        idle: Duration,
    }
}

impl<B> IdleTimeout<B> {
    /// Wraps `inner`; the first gap is measured from now.
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(idle),
            idle,
        }
    }
}

impl<B> http_body::Body for IdleTimeout<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            let idle = *this.idle;
            this.sleep.as_mut().reset(Instant::now() + idle);
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        ready!(this.sleep.poll(cx));
        Poll::Ready(Some(Err(IdleTimeoutError.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
