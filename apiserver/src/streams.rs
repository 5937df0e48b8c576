//! `pods/log` and `pods/exec` for HTTP clients. A log is a plain chunked `text/plain`
//! response, written as the kubelet's lines arrive. An exec is a WebSocket speaking kube's
//! remote-command protocol `v5.channel.k8s.io` (`v4` also): every binary message starts
//! with its channel (0 stdin, 1 stdout, 2 stderr, 3 the final status as a
//! `metav1.Status`, 4 terminal resizes as `{"Width":..,"Height":..}`), and v5's close
//! signal `[255, channel]` ends a channel (stdin's end). At the end the server writes the
//! status on channel 3 and closes normally, as kube-apiserver does. The shell decides
//! nothing: the gateway authorizes and relays, the ports keep the windows.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kactor_actors::gateway::streams::{
    ExecOptions, StreamKind, StreamRequest, StreamStatus, CHANNEL_ERROR, CHANNEL_RESIZE,
    CHANNEL_STDERR, CHANNEL_STDIN, CHANNEL_STDOUT, STREAM_DATA_BYTES_MAX,
};
use kactor_actors::gateway::{ApiError, Requester};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, Instrument as _};

use super::{status_response, Body, Shared};
use kactor_transport::streams::{StreamEvent, StreamPort};

/// The remote-command subprotocols served, in order of preference. kubectl offers v5
/// only over WebSockets; v4 is the same without the close signal.
pub const EXEC_SUBPROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
/// Bytes of one WebSocket message or frame from the client: kubectl sends at most 32 KiB
/// and a channel byte; this leaves room for other clients, and bounds what one message
/// may make us hold (it goes on as `STREAM_DATA_BYTES_MAX` chunks).
pub const WS_MESSAGE_BYTES_MAX: usize = 1024 * 1024;
/// How long the server waits, after writing the status and its close frame, for the
/// client to close (it reads everything first); then it hangs up.
pub const EXEC_FINISH_MS_MAX: u64 = 60_000;
/// Log chunks queued for a slow HTTP client: past it, the stream stops acknowledging,
/// and the kubelet stops sending.
pub const LOG_CHUNKS_QUEUED_MAX: usize = 4;
/// v5's close signal: `[CLOSE_SIGNAL, channel]`.
const CLOSE_SIGNAL: u8 = 255;

pub(super) async fn serve(
    shared: &Shared,
    user: Requester,
    stream: StreamRequest,
    request: Request<Incoming>,
) -> Response<Body> {
    let kind = stream.kind.name();
    let span =
        tracing::info_span!("stream", kind, pod = %stream.pod, container = %stream.container);
    async move {
        match stream.kind {
            StreamKind::Log(_) => serve_log(shared, user, stream).await,
            StreamKind::Exec(_) => serve_exec(shared, user, stream, request).await,
        }
    }
    .instrument(span)
    .await
}

async fn serve_log(shared: &Shared, user: Requester, stream: StreamRequest) -> Response<Body> {
    let port = match shared.client.open_stream(user, stream).await {
        Ok(port) => port,
        Err(error) => return status_response(&error),
    };
    let (chunks, queued) = mpsc::channel(LOG_CHUNKS_QUEUED_MAX);
    tokio::spawn(pump_log(port, chunks).in_current_span());
    let body = BodyExt::boxed(StreamBody::new(ReceiverStream::new(queued)));
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Passes a log's data to the response body until the log or the client ends.
async fn pump_log(mut port: StreamPort, chunks: mpsc::Sender<Result<Frame<Bytes>, Infallible>>) {
    loop {
        let event = tokio::select! {
            event = port.next() => event,
            // The client went away: dropping the port cancels the stream.
            _ = chunks.closed() => return,
        };
        let bytes = match event {
            StreamEvent::Data { bytes, .. } => bytes,
            StreamEvent::End(StreamStatus::Failed(error)) => {
                return debug!(?error, "log stream failed");
            }
            StreamEvent::End(_) => return,
            _ => continue,
        };
        if chunks
            .send(Ok(Frame::data(Bytes::from(bytes))))
            .await
            .is_err()
        {
            return;
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The WebSocket handshake's key and the chosen subprotocol, if the request is a
/// WebSocket upgrade.
fn websocket_upgrade(headers: &HeaderMap) -> Option<Result<(String, &'static str), ApiError>> {
    let upgrade = header(headers, UPGRADE.as_str());
    if !upgrade
        .split(',')
        .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
    {
        return None;
    }
    let key = header(headers, "sec-websocket-key");
    if key.is_empty() || header(headers, "sec-websocket-version") != "13" {
        let message = "a WebSocket upgrade needs Sec-WebSocket-Key and version 13".into();
        return Some(Err(ApiError::bad_request(message)));
    }
    let offered: Vec<&str> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let Some(protocol) = EXEC_SUBPROTOCOLS.into_iter().find(|p| offered.contains(p)) else {
        return Some(Err(ApiError::bad_request(format!(
            "none of the offered subprotocols {offered:?} is served; offer one of {EXEC_SUBPROTOCOLS:?}"
        ))));
    };
    Some(Ok((derive_accept_key(key.as_bytes()), protocol)))
}

async fn serve_exec(
    shared: &Shared,
    user: Requester,
    stream: StreamRequest,
    mut request: Request<Incoming>,
) -> Response<Body> {
    let StreamKind::Exec(options) = stream.kind.clone() else {
        unreachable!("an exec stream");
    };
    let (accept, protocol) = match websocket_upgrade(request.headers()) {
        Some(Ok(upgrade)) => upgrade,
        Some(Err(error)) => return status_response(&error),
        None => {
            // SPDY (kubectl's fallback when its WebSocket upgrade was refused) or a
            // plain request: the same checks first, so a refusal reads the same.
            if let Err(error) = shared.client.check_stream(user, stream).await {
                return status_response(&error);
            }
            return status_response(&ApiError::bad_request(format!(
                "pods/exec is served over WebSockets only (subprotocol {})",
                EXEC_SUBPROTOCOLS[0]
            )));
        }
    };
    let port = match shared.client.open_stream(user, stream).await {
        Ok(port) => port,
        Err(error) => return status_response(&error),
    };
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(
        async move {
            let upgraded = match upgrading.await {
                Ok(upgraded) => upgraded,
                Err(e) => return debug!(error = %e, "the WebSocket upgrade failed"),
            };
            let config = WebSocketConfig::default()
                .max_message_size(Some(WS_MESSAGE_BYTES_MAX))
                .max_frame_size(Some(WS_MESSAGE_BYTES_MAX));
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            ExecSession::new(socket, port, options).run().await;
        }
        .in_current_span(),
    );
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert("sec-websocket-accept", accept);
    }
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// One exec over a WebSocket: client messages into the stream, stream events out.
struct ExecSession {
    socket: Socket,
    port: StreamPort,
    options: ExecOptions,
    /// Stdin chunks of the last client message, waiting for credit. The socket is not
    /// read until they are gone, so this holds one message at most.
    stdin: std::collections::VecDeque<Vec<u8>>,
    /// The client closed stdin: passed on once the chunks before it are.
    stdin_closing: bool,
}

/// What the session does next.
enum Next {
    Continue,
    /// The client is gone: drop everything (the port cancels the stream).
    Hangup,
    /// The command is done: report its status and close.
    Finish(StreamStatus),
}

impl ExecSession {
    fn new(socket: Socket, port: StreamPort, options: ExecOptions) -> ExecSession {
        ExecSession {
            socket,
            port,
            options,
            stdin: std::collections::VecDeque::new(),
            stdin_closing: false,
        }
    }

    async fn run(mut self) {
        // kube-apiserver's "connection established": an empty message on the lowest
        // channel the client reads.
        let first = match (self.options.stdout, self.options.stderr) {
            (true, _) => CHANNEL_STDOUT,
            (false, true) => CHANNEL_STDERR,
            (false, false) => CHANNEL_ERROR,
        };
        if self.send(vec![first]).await.is_err() {
            return;
        }
        loop {
            self.flush_stdin();
            let reading = self.stdin.is_empty();
            let next = tokio::select! {
                event = self.port.next_or_credit() => self.on_event(event).await,
                message = self.socket.next(), if reading => self.on_message(message),
            };
            match next {
                Next::Continue => {}
                Next::Hangup => return debug!("the exec client went away"),
                Next::Finish(status) => return self.finish(status).await,
            }
        }
    }

    async fn send(&mut self, message: Vec<u8>) -> Result<(), ()> {
        let sent = self
            .socket
            .send(Message::Binary(Bytes::from(message)))
            .await;
        sent.map_err(|e| debug!(error = %e, "writing to the exec client failed"))
    }

    /// Passes on the client's stdin as far as the window allows.
    fn flush_stdin(&mut self) {
        while self.port.credit() > 0 {
            let Some(chunk) = self.stdin.pop_front() else {
                break;
            };
            self.port.send_chunk(CHANNEL_STDIN, chunk);
        }
        if self.stdin.is_empty() && std::mem::take(&mut self.stdin_closing) {
            self.port.close(CHANNEL_STDIN);
        }
    }

    async fn on_event(&mut self, event: StreamEvent) -> Next {
        match event {
            StreamEvent::Data { channel, bytes } => {
                let mut message = Vec::with_capacity(bytes.len() + 1);
                message.push(channel);
                message.extend_from_slice(&bytes);
                match self.send(message).await {
                    Ok(()) => Next::Continue,
                    Err(()) => Next::Hangup,
                }
            }
            StreamEvent::End(status) => Next::Finish(status),
            // client-go reads no close signal from the server: its channels end with
            // the connection.
            StreamEvent::Close { .. } | StreamEvent::Resize { .. } | StreamEvent::Credit => {
                Next::Continue
            }
        }
    }

    fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Next {
        let bytes = match message {
            Some(Ok(Message::Binary(bytes))) => bytes,
            // Pings are answered by the socket itself; text is not part of the protocol.
            Some(Ok(
                Message::Ping(_) | Message::Pong(_) | Message::Text(_) | Message::Frame(_),
            )) => return Next::Continue,
            Some(Ok(Message::Close(_))) | None => return Next::Hangup,
            Some(Err(e)) => {
                debug!(error = %e, "reading the exec client failed");
                return Next::Hangup;
            }
        };
        match bytes.split_first() {
            Some((&CHANNEL_STDIN, data)) if self.options.stdin && !data.is_empty() => {
                let chunks = data.chunks(STREAM_DATA_BYTES_MAX).map(<[u8]>::to_vec);
                self.stdin.extend(chunks);
            }
            Some((&CHANNEL_RESIZE, json)) => match parse_resize(json) {
                Some((width, height)) => self.port.resize(width, height),
                None => debug!("an unreadable resize; ignored"),
            },
            Some((&CLOSE_SIGNAL, [CHANNEL_STDIN])) => self.stdin_closing = true,
            _ => {}
        }
        Next::Continue
    }

    /// Reports the status on the error channel, closes normally (client-go then ends
    /// its readers cleanly), and waits a bounded time for the client to close too.
    async fn finish(mut self, status: StreamStatus) {
        let status = status.to_exec_status(&self.options.command);
        let mut message = vec![CHANNEL_ERROR];
        message.extend(serde_json::to_vec(&status).unwrap_or_default());
        if self.send(message).await.is_err() {
            return;
        }
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if self.socket.close(Some(normal)).await.is_err() {
            return;
        }
        let drain = async { while let Some(Ok(_)) = self.socket.next().await {} };
        let _ = tokio::time::timeout(Duration::from_millis(EXEC_FINISH_MS_MAX), drain).await;
    }
}

/// kube's `TerminalSize` JSON.
fn parse_resize(json: &[u8]) -> Option<(u16, u16)> {
    let size: serde_json::Value = serde_json::from_slice(json).ok()?;
    let dimension = |name: &str| u16::try_from(size[name].as_u64()?).ok();
    Some((dimension("Width")?, dimension("Height")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_pick_v5_and_answer_the_key() {
        let mut headers = HeaderMap::new();
        assert!(websocket_upgrade(&headers).is_none(), "not an upgrade");
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
        // RFC 6455's example key.
        headers.insert(
            "sec-websocket-key",
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("v4.channel.k8s.io, v5.channel.k8s.io"),
        );
        let (accept, protocol) = websocket_upgrade(&headers).unwrap().unwrap();
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(protocol, "v5.channel.k8s.io");
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("base64.channel.k8s.io"),
        );
        assert_eq!(websocket_upgrade(&headers).unwrap().unwrap_err().code, 400);
        assert_eq!(parse_resize(br#"{"Width":80,"Height":24}"#), Some((80, 24)));
        assert_eq!(parse_resize(b"{}"), None);
    }
}
