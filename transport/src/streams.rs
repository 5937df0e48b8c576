//! One end of a log or exec stream through the gateway (see
//! `kactor_actors::gateway::streams` for the protocol): the HTTPS front holds the
//! caller's end, a kubelet the other. A [`StreamPort`] numbers what it sends, waits for
//! credit when the window is full, checks that what it receives arrives in order,
//! acknowledges what its user consumed, and keeps its leg alive with those acks. It
//! holds at most a window of the peer's data (the peer cannot send more unacknowledged),
//! so nothing here grows with what flows through.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use kactor_actors::gateway::streams::{
    Flow, StreamFrame, StreamId, StreamMsg, StreamStatus, STREAM_DATA_BYTES_MAX,
    STREAM_WINDOW_MESSAGES,
};
use kactor_actors::gateway::{ApiError, GatewayMsg};
use kactor_actors::kernel::NodeId;
use tokio::sync::mpsc;
use tracing::debug;

use crate::gateway_client::Link;
use crate::sync::{lock, Mutex};

/// How often an end acknowledges even when nothing flows: the gateway ends a leg silent
/// for `GatewayConfig::stream_silence_ticks_max` (30 s), so a few may be lost.
pub const STREAM_KEEPALIVE_MS: u64 = 5_000;
/// Frames queued toward one port: a window of data, an ack for each message of our own
/// window, and room for control frames. The gateway enforces the window, so only a
/// peer flooding control frames (resizes) fills it, and then the stream breaks.
pub const PORT_QUEUE_FRAMES_MAX: usize = 4 * STREAM_WINDOW_MESSAGES as usize + 16;
/// Events a port holds back while its user waits for credit: the peer's window, and a
/// few control frames.
pub const PORT_PENDING_EVENTS_MAX: usize = STREAM_WINDOW_MESSAGES as usize + 16;

/// Which leg a port is on: how its frames are wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leg {
    Caller,
    Kubelet,
}

/// What a port's user sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    Data {
        channel: u8,
        bytes: Vec<u8>,
    },
    /// The peer will send no more on this channel (stdin's end).
    Close {
        channel: u8,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// The stream is over; nothing follows.
    End(StreamStatus),
    /// Only from [`StreamPort::next_or_credit`]: more data may be sent now.
    Credit,
}

/// The ports a process holds, by (the gateway's node, the leg's id), for routing.
pub(crate) type Ports = Arc<Mutex<std::collections::HashMap<(NodeId, StreamId), PortQueue>>>;
pub(crate) type PortQueue = mpsc::Sender<StreamFrame>;

/// Hands a received frame to its port. A full or gone port is dropped from the table:
/// its user then sees the stream end.
pub(crate) fn route_frame(ports: &Ports, key: (NodeId, StreamId), frame: StreamFrame) -> bool {
    let mut ports = lock(ports);
    let Some(queue) = ports.get(&key) else {
        return false;
    };
    if queue.try_send(frame).is_err() {
        debug!(?key, "a stream port fell behind; dropped");
        ports.remove(&key);
    }
    true
}

/// One end of one stream.
pub struct StreamPort {
    id: StreamId,
    leg: Leg,
    link: Link,
    /// The gateway this leg runs through, and the table this port is in.
    key: (NodeId, StreamId),
    ports: Ports,
    frames: mpsc::Receiver<StreamFrame>,
    /// Our data, as the window sees it.
    out: Flow,
    /// The peer's data messages taken in so far.
    received: u64,
    /// The last acknowledgement we sent.
    acked: u64,
    /// Events taken in while waiting for credit, with the data's sequence number.
    pending: VecDeque<(u64, StreamEvent)>,
    keepalive: tokio::time::Interval,
    /// Data may flow (the caller saw `Opened`; the kubelet accepted).
    open: bool,
    ended: bool,
}

/// A registered port queue, before the port exists (the caller registers before it
/// sends its `Open`, so nothing that follows the answer is lost).
pub(crate) struct Registration {
    pub key: (NodeId, StreamId),
    pub frames: mpsc::Receiver<StreamFrame>,
}

pub(crate) fn register(ports: &Ports, key: (NodeId, StreamId)) -> Registration {
    let (queue, frames) = mpsc::channel(PORT_QUEUE_FRAMES_MAX);
    lock(ports).insert(key, queue);
    Registration { key, frames }
}

impl StreamPort {
    pub(crate) fn new(
        leg: Leg,
        link: Link,
        registration: Registration,
        ports: Ports,
        open: bool,
    ) -> StreamPort {
        let period = Duration::from_millis(STREAM_KEEPALIVE_MS);
        // The first keepalive one period in: an ack of nothing at once says nothing.
        let first = tokio::time::Instant::now() + period;
        let mut keepalive = tokio::time::interval_at(first, period);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        StreamPort {
            id: registration.key.1,
            leg,
            link,
            key: registration.key,
            ports,
            frames: registration.frames,
            out: Flow::default(),
            received: 0,
            acked: 0,
            pending: VecDeque::new(),
            keepalive,
            open,
            ended: false,
        }
    }

    pub fn id(&self) -> StreamId {
        self.id
    }

    fn transmit(&self, frame: StreamFrame) {
        let kind = frame.kind();
        let _span =
            tracing::debug_span!("stream_send", id = self.id, leg = ?self.leg, kind).entered();
        let msg = match self.leg {
            Leg::Caller => StreamMsg::Caller { id: self.id, frame },
            Leg::Kubelet => StreamMsg::Kubelet { id: self.id, frame },
        };
        // Best effort: a lost frame shows as a gap or a silence, and ends the stream.
        if let Err(e) = self.link.transmit(GatewayMsg::Stream(msg)) {
            debug!(id = self.id, error = %e, "stream frame not sent");
        }
    }

    /// The kubelet's side: takes the stream (the caller's `Opened` follows).
    pub fn accept(&mut self) {
        assert_eq!(self.leg, Leg::Kubelet, "only a kubelet accepts");
        if !self.open {
            self.open = true;
            let msg = StreamMsg::Started { id: self.id };
            if let Err(e) = self.link.transmit(GatewayMsg::Stream(msg)) {
                debug!(id = self.id, error = %e, "stream start not sent");
            }
        }
    }

    /// Data messages that may be sent now.
    pub fn credit(&self) -> u64 {
        self.out.credit()
    }

    /// Sends one chunk (at most `STREAM_DATA_BYTES_MAX` bytes); needs credit.
    pub fn send_chunk(&mut self, channel: u8, chunk: Vec<u8>) {
        assert!(self.open, "data before the stream opened");
        assert!(
            chunk.len() <= STREAM_DATA_BYTES_MAX,
            "a chunk over the limit"
        );
        let seq = self.out.next_seq();
        self.transmit(StreamFrame::Data {
            channel,
            seq,
            bytes: chunk,
        });
    }

    /// Sends `bytes` on `channel`, in chunks, waiting for credit as needed. Fails once
    /// the stream has ended (what ended it is then the next event).
    pub async fn write(&mut self, channel: u8, bytes: &[u8]) -> Result<(), StreamStatus> {
        for chunk in bytes.chunks(STREAM_DATA_BYTES_MAX) {
            while self.credit() == 0 {
                self.wait_for_credit().await?;
            }
            self.send_chunk(channel, chunk.to_vec());
        }
        Ok(())
    }

    async fn wait_for_credit(&mut self) -> Result<(), StreamStatus> {
        let frame = tokio::select! {
            frame = self.frames.recv() => frame,
            _ = self.keepalive.tick() => {
                self.transmit(StreamFrame::Ack { seq: self.acked });
                return Ok(());
            }
        };
        match self.take(frame) {
            Some(_) if self.pending.len() >= PORT_PENDING_EVENTS_MAX => {
                Err(self.broken("the peer sent more than its window while we waited"))
            }
            Some((seq, StreamEvent::End(status))) => {
                self.pending
                    .push_back((seq, StreamEvent::End(status.clone())));
                Err(status)
            }
            Some(taken) => {
                self.pending.push_back(taken);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The next event; acknowledges data as it hands it out.
    pub async fn next(&mut self) -> StreamEvent {
        self.next_inner(false).await
    }

    /// `next`, or [`StreamEvent::Credit`] when an acknowledgement opened the window.
    pub async fn next_or_credit(&mut self) -> StreamEvent {
        self.next_inner(true).await
    }

    async fn next_inner(&mut self, report_credit: bool) -> StreamEvent {
        loop {
            if let Some((seq, event)) = self.pending.pop_front() {
                return self.consumed(seq, event);
            }
            if self.ended {
                return StreamEvent::End(StreamStatus::Cancelled);
            }
            let before = self.credit();
            let frame = tokio::select! {
                frame = self.frames.recv() => frame,
                _ = self.keepalive.tick() => {
                    self.transmit(StreamFrame::Ack { seq: self.acked });
                    continue;
                }
            };
            match self.take(frame) {
                Some((seq, event)) => return self.consumed(seq, event),
                None if report_credit && self.credit() > before => return StreamEvent::Credit,
                None => {}
            }
        }
    }

    fn consumed(&mut self, seq: u64, event: StreamEvent) -> StreamEvent {
        if seq > self.acked {
            self.acked = seq;
            self.transmit(StreamFrame::Ack { seq });
        }
        event
    }

    /// Takes one frame in: an event for the user (with the data's sequence number, 0
    /// otherwise), or nothing (an ack).
    fn take(&mut self, frame: Option<StreamFrame>) -> Option<(u64, StreamEvent)> {
        let Some(frame) = frame else {
            let status = self.broken("the link to the gateway closed or fell behind");
            return Some((0, StreamEvent::End(status)));
        };
        match frame {
            StreamFrame::Ack { seq } => {
                self.out.ack(seq);
                None
            }
            StreamFrame::Data {
                channel,
                seq,
                bytes,
            } => {
                if seq != self.received + 1 || bytes.len() > STREAM_DATA_BYTES_MAX {
                    let status = self.broken("stream data was lost on the way");
                    return Some((0, StreamEvent::End(status)));
                }
                self.received = seq;
                Some((seq, StreamEvent::Data { channel, bytes }))
            }
            StreamFrame::Close { channel } => Some((0, StreamEvent::Close { channel })),
            StreamFrame::Resize { width, height } => {
                Some((0, StreamEvent::Resize { width, height }))
            }
            StreamFrame::End { status } => {
                self.ended = true;
                Some((0, StreamEvent::End(status)))
            }
        }
    }

    /// Ends the stream from this side because it cannot go on; tells the peer.
    fn broken(&mut self, reason: &str) -> StreamStatus {
        debug!(id = self.id, reason, "stream broken");
        self.end(StreamStatus::Cancelled);
        StreamStatus::Failed(ApiError::new(502, "BadGateway", reason.to_string()))
    }

    /// The stream is over without a word to the peer (it knows: it ended it).
    pub(crate) fn mark_ended(&mut self) {
        self.ended = true;
    }

    /// No more data on `channel` from this side.
    pub fn close(&mut self, channel: u8) {
        self.transmit(StreamFrame::Close { channel });
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.transmit(StreamFrame::Resize { width, height });
    }

    /// Ends the stream: the kubelet with the command's status, the caller with
    /// `Cancelled`. Dropping a port that has not ended ends it with `Cancelled`.
    pub fn end(&mut self, status: StreamStatus) {
        if !self.ended {
            self.ended = true;
            self.transmit(StreamFrame::End { status });
        }
    }
}

impl Drop for StreamPort {
    fn drop(&mut self) {
        self.end(StreamStatus::Cancelled);
        lock(&self.ports).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A caller's port on a local link: what it sends comes out of `sent`; `queue` is
    /// what the gateway would deliver to it.
    fn port() -> (StreamPort, PortQueue, mpsc::Receiver<GatewayMsg>) {
        let (requests, sent) = mpsc::channel(1024);
        let ports: Ports = Arc::default();
        let registration = register(&ports, (0, 7));
        let queue = lock(&ports).get(&(0, 7)).unwrap().clone();
        let port = StreamPort::new(
            Leg::Caller,
            Link::Local(requests),
            registration,
            ports,
            true,
        );
        (port, queue, sent)
    }

    fn frames(sent: &mut mpsc::Receiver<GatewayMsg>) -> Vec<StreamFrame> {
        let mut frames = Vec::new();
        while let Ok(GatewayMsg::Stream(StreamMsg::Caller { id: 7, frame })) = sent.try_recv() {
            frames.push(frame);
        }
        frames
    }

    #[tokio::test]
    async fn a_port_waits_for_credit_and_acknowledges_what_it_hands_out() {
        let (mut port, queue, mut sent) = port();
        let window = STREAM_WINDOW_MESSAGES as usize;
        let bytes = vec![1u8; STREAM_DATA_BYTES_MAX * (window + 1)];
        // A full window goes at once; the last chunk waits for an ack, and the peer's
        // data that arrives meanwhile is kept for `next`.
        let data = StreamFrame::Data {
            channel: 1,
            seq: 1,
            bytes: b"out".to_vec(),
        };
        queue.send(data).await.unwrap();
        queue.send(StreamFrame::Ack { seq: 1 }).await.unwrap();
        port.write(0, &bytes).await.unwrap();
        let seqs: Vec<u64> = frames(&mut sent)
            .iter()
            .filter_map(|f| match f {
                StreamFrame::Data { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, (1..=window as u64 + 1).collect::<Vec<_>>());
        assert_eq!(port.credit(), 0);
        let event = port.next().await;
        assert_eq!(
            event,
            StreamEvent::Data {
                channel: 1,
                bytes: b"out".to_vec()
            }
        );
        assert_eq!(frames(&mut sent), [StreamFrame::Ack { seq: 1 }]);
        // A gap in the peer's data breaks the stream, and the peer hears of it.
        let gap = StreamFrame::Data {
            channel: 1,
            seq: 3,
            bytes: vec![],
        };
        queue.send(gap).await.unwrap();
        assert!(matches!(
            port.next().await,
            StreamEvent::End(StreamStatus::Failed(_))
        ));
        let cancel = StreamFrame::End {
            status: StreamStatus::Cancelled,
        };
        assert_eq!(frames(&mut sent), [cancel]);
        drop(port);
        assert!(frames(&mut sent).is_empty(), "ended once");
    }
}
