//! `GET /api/v1/tail?match=EXPR[&limit=N]`: a live tail over server-sent events.
//!
//! The matcher is compiled first (a 400 carries the offset of the problem). The tap
//! ([`heka_pipeline::tap`]) copies matching messages into a bounded channel and drops,
//! counting, when the reader is slow, so a browser never back-pressures the
//! pipeline. Each `message` event is the message in hekad's JSON form; a `dropped`
//! event says how many copies this tail lost so far. A tail ends after `limit`
//! messages or [`MAX_DURATION`], whichever comes first, so none is left open forever.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::sse::Event;
use futures_core::Stream;
use heka_pipeline::tap::Tap;

/// How long one tail may stay open.
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// How often an idle tail looks at its tap.
const POLL: Duration = Duration::from_millis(50);

/// The event stream of one tail.
pub struct TailStream {
    tap: Tap,
    limit: u64,
    sent: u64,
    dropped_reported: u64,
    opened: bool,
    tick: tokio::time::Interval,
    deadline: tokio::time::Instant,
}

impl TailStream {
    /// Streams what `tap` receives, at most `limit` messages.
    pub fn new(tap: Tap, limit: Option<u64>) -> TailStream {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        TailStream {
            tap,
            limit: limit.unwrap_or(u64::MAX),
            sent: 0,
            dropped_reported: 0,
            opened: false,
            tick,
            deadline: tokio::time::Instant::now() + MAX_DURATION,
        }
    }
}

impl Stream for TailStream {
    type Item = Result<Event, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.opened {
            // Tells the reader the tap is in place: what is routed from now on shows.
            this.opened = true;
            return Poll::Ready(Some(Ok(Event::default().event("open").data("{}"))));
        }
        loop {
            if this.sent >= this.limit || tokio::time::Instant::now() >= this.deadline {
                return Poll::Ready(None);
            }
            let dropped = this.tap.dropped();
            if dropped != this.dropped_reported {
                this.dropped_reported = dropped;
                let data = format!("{{\"dropped\":{dropped}}}");
                return Poll::Ready(Some(Ok(Event::default().event("dropped").data(data))));
            }
            if let Some(msg) = this.tap.try_recv() {
                this.sent += 1;
                let data = heka_message::message_to_json(&msg);
                return Poll::Ready(Some(Ok(Event::default().event("message").data(data))));
            }
            match this.tick.poll_tick(cx) {
                Poll::Ready(_) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
