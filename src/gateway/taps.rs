//! Response body taps: observers that follow a response as it streams to
//! the client, frame by frame, without buffering it or delaying a frame.
//!
//! Every response is wrapped here, once. The access log (with the request
//! metrics) is the first tap and is always present; a phase adds others to
//! [`Exchange::taps`] (token metering reads usage out of a stream this way).
//! A tap sees each data frame as it passes and learns how the body ended:
//! complete, broken off by the upstream, or dropped because the client went
//! away; `end` is called exactly once, even for a body never polled.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

use super::Exchange;
use crate::count::Counted;
use crate::observability::access_log::{self, AccessRecord};
use crate::proxy::body::{BoxError, StreamEnd};

/// An observer of one response body.
pub(crate) trait Tap: Send + Sync + 'static {
    /// A data frame on its way to the client.
    fn data(&mut self, _chunk: &Bytes) {}
    /// The body is over: how it ended and how many bytes were sent.
    fn end(&mut self, end: StreamEnd, bytes: u64);
}

/// Wraps the response body in the exchange's taps; the access log comes first.
pub(super) fn attach(ex: Exchange, response: Response<Body>) -> Response<Body> {
    let record = AccessRecord {
        method: ex.request.method,
        route: ex.route.map(|r| r.name.clone()),
        request_id: ex.ctx.request_id,
        started: ex.ctx.started,
        upstream: ex.upstream_time,
        status: response.status(),
        error: ex.error,
    };
    let taps = ex.taps;
    let in_flight = ex.in_flight;
    response.map(|body| Body::new(TappedBody::new(body, record, taps, in_flight)))
}

pin_project! {
    /// A response body that shows each frame to its taps and tells them how it ended.
    pub struct TappedBody<B> {
        #[pin]
        inner: B,
        record: AccessRecord,
        taps: Vec<Box<dyn Tap>>,
        bytes: u64,
        end: StreamEnd,
        // Released when the body is done (a stream is in flight until it ends).
        in_flight: Option<Counted>,
    }

    impl<B> PinnedDrop for TappedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            for tap in this.taps.iter_mut() {
                tap.end(*this.end, *this.bytes);
            }
            access_log::log(this.record, *this.bytes, *this.end);
        }
    }
}

impl<B: http_body::Body> TappedBody<B> {
    fn new(
        inner: B,
        record: AccessRecord,
        taps: Vec<Box<dyn Tap>>,
        in_flight: Option<Counted>,
    ) -> Self {
        let end = if inner.is_end_stream() {
            StreamEnd::Complete
        } else {
            StreamEnd::Dropped
        };
        Self {
            inner,
            record,
            taps,
            bytes: 0,
            end,
            in_flight,
        }
    }
}

impl<B> http_body::Body for TappedBody<B>
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
                    for tap in this.taps.iter_mut() {
                        tap.data(data);
                    }
                }
                // hyper stops polling a body that says it has ended.
                if this.inner.is_end_stream() {
                    *this.end = StreamEnd::Complete;
                }
            }
            Poll::Ready(Some(Err(_))) => *this.end = StreamEnd::Failed,
            Poll::Ready(None) => *this.end = StreamEnd::Complete,
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
