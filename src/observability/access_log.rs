//! One access line per request, written when the response body is finished
//! or dropped, so a long stream is logged with its real duration, its byte
//! count, and whether it ended cleanly.
//!
//! The line carries the route name, never the raw path or query (a query may
//! hold an injected key or a user's data).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::proxy::body::BoxError;

/// What is known about a request by the time its response starts.
#[derive(Debug)]
pub struct AccessRecord {
    /// The request method.
    pub method: Method,
    /// The matched route's name, if any.
    pub route: Option<Arc<str>>,
    /// The request id.
    pub request_id: HeaderValue,
    /// When handling started.
    pub started: Instant,
    /// Time until the upstream's response headers, when it was called.
    pub upstream: Option<Duration>,
    /// The response status.
    pub status: StatusCode,
    /// The gateway's error code, when the gateway answered itself.
    pub error: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
enum End {
    Complete,
    Failed,
    Dropped,
}

pin_project! {
    /// A response body that writes the access line when it is done.
    pub struct LoggedBody<B> {
        #[pin]
        inner: B,
        record: AccessRecord,
        bytes: u64,
        end: End,
    }

    impl<B> PinnedDrop for LoggedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            log(this.record, *this.bytes, *this.end);
        }
    }
}

impl<B: http_body::Body> LoggedBody<B> {
    /// Wraps `inner`, logging `record` when the body ends.
    pub fn new(inner: B, record: AccessRecord) -> Self {
        let end = if inner.is_end_stream() {
            End::Complete
        } else {
            End::Dropped
        };
        Self {
            inner,
            record,
            bytes: 0,
            end,
        }
    }
}

impl<B> http_body::Body for LoggedBody<B>
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
        let polled = this.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.bytes += data.len() as u64;
                }
                // hyper stops polling a body that says it has ended.
                if this.inner.is_end_stream() {
                    *this.end = End::Complete;
                }
            }
            Poll::Ready(Some(Err(_))) => *this.end = End::Failed,
            Poll::Ready(None) => *this.end = End::Complete,
            Poll::Pending => {}
        }
        polled.map(|frame| frame.map(|f| f.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn log(record: &AccessRecord, bytes: u64, end: End) {
    let duration = record.started.elapsed();
    super::metrics::request_finished(
        record.route.as_ref(),
        &record.method,
        record.status,
        duration,
        record.upstream,
    );
    let end = match end {
        End::Complete => "complete",
        End::Failed => "upstream_failed",
        // Dropped before its end: the client went away mid-response.
        End::Dropped => "client_gone",
    };
    tracing::info!(
        target: "portcullis::access",
        route = record.route.as_deref().unwrap_or("-"),
        method = %record.method,
        status = record.status.as_u16(),
        duration_ms = duration.as_secs_f64() * 1e3,
        upstream_ms = record.upstream.map(|d| d.as_secs_f64() * 1e3),
        bytes,
        end,
        error = record.error,
        request_id = record.request_id.to_str().unwrap_or("-"),
        "request"
    );
}
