//! Streams through the gateway: `pods/log` and `pods/exec`. A caller (the HTTPS front in
//! the gateway's process, or a component over the mesh) opens a stream; the gateway
//! authorizes it, finds the pod in its cache and the kubelet of the pod's node among the
//! mesh peers that said hello as `system:node:<name>`, and from then on relays frames
//! between the two legs. It keeps no payload: every frame is forwarded as it arrives.
//!
//! A stream has two legs with their own ids: the caller's leg uses the id the caller
//! chose (unique per caller, like an `ApiRequestId`), the kubelet's leg an id the gateway
//! assigns. Both ends number their data messages (`seq` 1, 2, ...) and acknowledge what
//! they consumed, cumulatively; a sender never has more than [`STREAM_WINDOW_MESSAGES`]
//! unacknowledged. The gateway checks both rules as it relays, so what any queue on the
//! way holds is bounded, and a lost message (a gap in `seq`) ends the stream instead of
//! silently corrupting it. Acks double as keepalives: a leg silent for longer than
//! `GatewayConfig::stream_silence_ticks_max` is gone, and the stream ends.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::actor::{Gateway, GatewayMsg};
use super::api::*;
use super::authn::Requester;
use super::object;
use super::rbac;
use crate::kernel::{NodeId, Outbox};
use kactor_kube::registry::by_plural;
use kactor_kube::status::Cause;

/// A stream's id on one of its legs.
pub type StreamId = u64;

/// Bytes of payload in one data message: what kubectl writes at once (Go's `io.Copy`
/// buffer), far inside a mesh frame.
pub const STREAM_DATA_BYTES_MAX: usize = 32 * 1024;
/// Data messages a sender may have unacknowledged, per direction of a stream: small
/// enough that `GatewayConfig::streams_max` full windows fit the queue between the
/// gateway and its in-process callers (see `gateway_host`), large enough (256 KiB in
/// flight per direction) to keep a loopback or LAN link busy.
pub const STREAM_WINDOW_MESSAGES: u64 = 8;
/// Bytes of an exec command line (all arguments): kube's URLs carry it, and no real
/// command is near this.
pub const EXEC_COMMAND_BYTES_MAX: usize = 64 * 1024;

/// The remote-command channels (kube's `remotecommand` stream ids).
pub const CHANNEL_STDIN: u8 = 0;
pub const CHANNEL_STDOUT: u8 = 1;
pub const CHANNEL_STDERR: u8 = 2;
/// Where the final status goes, as a `metav1.Status` JSON.
pub const CHANNEL_ERROR: u8 = 3;
pub const CHANNEL_RESIZE: u8 = 4;

/// `PodLogOptions`, as kube's `pods/log` takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
    pub since_seconds: Option<i64>,
    /// RFC 3339, as given.
    pub since_time: Option<String>,
}

/// `PodExecOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExecOptions {
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamKind {
    Log(LogOptions),
    Exec(ExecOptions),
}

impl StreamKind {
    /// The subresource, and the RBAC verb kube checks for it (`create` on `pods/exec`,
    /// as kube-apiserver asks for a SPDY POST and, from 1.35, for WebSockets too).
    fn subresource_and_verb(&self) -> (&'static str, &'static str) {
        match self {
            StreamKind::Log(_) => ("log", "get"),
            StreamKind::Exec(_) => ("exec", "create"),
        }
    }

    pub fn name(&self) -> &'static str {
        self.subresource_and_verb().0
    }
}

/// What a caller asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamRequest {
    pub namespace: String,
    pub pod: String,
    /// "" when the caller named none: the pod's only container then.
    pub container: String,
    pub kind: StreamKind,
}

/// What the kubelet is asked to serve: the request, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamStart {
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub container: String,
    pub kind: StreamKind,
    /// Who asked, for the kubelet's own records.
    pub user: User,
}

/// How a stream ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamStatus {
    /// The command exited 0, or the log is complete.
    Success,
    /// The command exited with this code (not 0).
    ExitCode(i32),
    /// The stream failed: what to tell the caller.
    Failed(ApiError),
    /// The other end went away or gave up.
    Cancelled,
}

impl StreamStatus {
    /// The `metav1.Status` an exec's error channel carries at the end, as the kubelet
    /// writes it (`remotecommand.ServeExec`).
    pub fn to_exec_status(&self, command: &[String]) -> Value {
        match self {
            StreamStatus::Success => json!({"metadata": {}, "status": "Success"}),
            StreamStatus::ExitCode(code) => json!({
                "metadata": {},
                "status": "Failure",
                "message": format!(
                    "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                    command.join(" ")
                ),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            }),
            StreamStatus::Failed(error) => error.to_status(),
            StreamStatus::Cancelled => {
                ApiError::internal("the stream was cancelled".into()).to_status()
            }
        }
    }
}

/// One frame on a leg of a stream, in either direction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamFrame {
    /// Payload on a channel (stdin toward the kubelet; stdout, stderr or the log toward
    /// the caller). `seq` counts the sender's data messages from 1.
    Data {
        channel: u8,
        seq: u64,
        bytes: Vec<u8>,
    },
    /// Every data message up to `seq` was consumed. Sent again as a keepalive.
    Ack { seq: u64 },
    /// No more data on this channel (stdin's end: v5's close signal).
    Close { channel: u8 },
    /// The terminal's new size (tty only).
    Resize { width: u16, height: u16 },
    /// The stream is over.
    End { status: StreamStatus },
}

impl StreamFrame {
    pub fn kind(&self) -> &'static str {
        match self {
            StreamFrame::Data { .. } => "data",
            StreamFrame::Ack { .. } => "ack",
            StreamFrame::Close { .. } => "close",
            StreamFrame::Resize { .. } => "resize",
            StreamFrame::End { .. } => "end",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamMsg {
    /// Caller to gateway: open a stream. `user` is set by the host that received it (or
    /// by the in-process front that authenticated it). With `dry_run`, the gateway only
    /// says whether it would open (`End` with `Success`, or the error), and starts
    /// nothing on the kubelet.
    Open {
        id: StreamId,
        user: Requester,
        request: StreamRequest,
        dry_run: bool,
    },
    /// Gateway to caller: the kubelet took the stream; frames may flow.
    Opened { id: StreamId },
    /// Gateway to kubelet: serve this stream (`id` is the kubelet leg's).
    Start { id: StreamId, start: StreamStart },
    /// Kubelet to gateway: serving.
    Started { id: StreamId },
    /// A frame on the caller's leg; `id` is the caller's.
    Caller { id: StreamId, frame: StreamFrame },
    /// A frame on the kubelet's leg; `id` is the gateway's.
    Kubelet { id: StreamId, frame: StreamFrame },
    /// Kubelet to gateway, every few seconds: "I serve my node's streams". `user` is set
    /// by the host from the kubelet's certificate (`system:node:<name>`).
    Hello { user: User },
    /// Gateway to kubelet: registered for `node`.
    Welcome { node: String },
}

impl StreamMsg {
    pub fn kind(&self) -> &'static str {
        match self {
            StreamMsg::Open { .. } => "stream_open",
            StreamMsg::Opened { .. } => "stream_opened",
            StreamMsg::Start { .. } => "stream_start",
            StreamMsg::Started { .. } => "stream_started",
            StreamMsg::Caller { .. } => "stream_caller_frame",
            StreamMsg::Kubelet { .. } => "stream_kubelet_frame",
            StreamMsg::Hello { .. } => "kubelet_hello",
            StreamMsg::Welcome { .. } => "kubelet_welcome",
        }
    }
}

/// One direction of a stream's data, as its sender (or the gateway relaying it) counts
/// it: messages sent, and the receiver's cumulative acknowledgement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flow {
    pub sent: u64,
    pub acked: u64,
}

impl Flow {
    /// Data messages that may go now.
    pub fn credit(&self) -> u64 {
        assert!(self.acked <= self.sent, "acknowledged more than was sent");
        STREAM_WINDOW_MESSAGES.saturating_sub(self.sent - self.acked)
    }

    /// Takes the next sequence number; the caller must have credit.
    pub fn next_seq(&mut self) -> u64 {
        assert!(self.credit() > 0, "a data message without credit");
        self.sent += 1;
        self.sent
    }

    /// Whether a data message numbered `seq` may pass: the next in order, inside the
    /// window.
    pub fn admit(&mut self, seq: u64) -> Result<(), &'static str> {
        if seq != self.sent + 1 {
            return Err("stream data was lost or repeated on the way");
        }
        if self.credit() == 0 {
            return Err("the sender overran the stream's window");
        }
        self.sent = seq;
        Ok(())
    }

    /// A cumulative acknowledgement; one for more than was sent is ignored.
    pub fn ack(&mut self, seq: u64) {
        if seq <= self.sent {
            self.acked = self.acked.max(seq);
        }
        assert!(self.acked <= self.sent);
    }
}

/// A stream the gateway relays.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Relay {
    pub caller: Caller,
    pub kubelet: NodeId,
    pub node: String,
    pub kind: &'static str,
    /// The kubelet said `Started`.
    pub started: bool,
    /// Toward the caller (stdout, stderr, the log) and toward the kubelet (stdin).
    pub down: Flow,
    pub up: Flow,
    pub caller_silent_ticks: u32,
    pub kubelet_silent_ticks: u32,
}

/// A kubelet that said hello.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Kubelet {
    pub peer: NodeId,
    pub silent_ticks: u32,
}

/// The stream table: who relays to whom.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Streams {
    pub relays: std::collections::BTreeMap<StreamId, Relay>,
    pub by_caller: std::collections::BTreeMap<Caller, StreamId>,
    pub kubelets: std::collections::BTreeMap<String, Kubelet>,
    pub next_id: StreamId,
}

/// A container of the pod, by name: kube's `validateContainer`.
fn resolve_container(pod: &Value, name: &str, asked: &str) -> Result<String, ApiError> {
    let spec = &pod["spec"];
    let names = |field: &str| -> Vec<String> {
        spec[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let containers = names("containers");
    let mut all = names("initContainers");
    all.extend(containers.iter().cloned());
    all.extend(names("ephemeralContainers"));
    if !asked.is_empty() {
        return match all.iter().any(|c| c == asked) {
            true => Ok(asked.to_string()),
            false => Err(ApiError::bad_request(format!(
                "container {asked} is not valid for pod {name}"
            ))),
        };
    }
    match containers.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// kube's `ValidatePodLogOptions`, and what the kubelet refuses of an exec.
fn validate_kind(kind: &mut StreamKind, pod: &str) -> Result<(), ApiError> {
    match kind {
        StreamKind::Log(options) => {
            let mut causes = Vec::new();
            if let Some(tail) = options.tail_lines.filter(|t| *t < 0) {
                causes.push(Cause::invalid(
                    "tailLines",
                    &tail.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
            if let Some(limit) = options.limit_bytes.filter(|l| *l < 1) {
                causes.push(Cause::invalid(
                    "limitBytes",
                    &limit.to_string(),
                    "must be greater than 0",
                ));
            }
            match (options.since_seconds, &options.since_time) {
                (Some(_), Some(_)) => causes.push(Cause::forbidden(
                    "",
                    "at most one of `sinceTime` or `sinceSeconds` may be specified",
                )),
                (Some(since), None) if since < 1 => causes.push(Cause::invalid(
                    "sinceSeconds",
                    &since.to_string(),
                    "must be greater than 0",
                )),
                _ => {}
            }
            match causes.is_empty() {
                true => Ok(()),
                false => Err(ApiError::invalid("", "PodLogOptions", pod, causes)),
            }
        }
        StreamKind::Exec(options) => {
            // The kubelet drops stderr under a tty (the terminal merges them).
            options.stderr &= !options.tty;
            if options.command.is_empty() {
                return Err(ApiError::bad_request(
                    "you must specify at least 1 command".into(),
                ));
            }
            let bytes: usize = options.command.iter().map(String::len).sum();
            if bytes > EXEC_COMMAND_BYTES_MAX {
                return Err(ApiError::bad_request(format!(
                    "the command is over {EXEC_COMMAND_BYTES_MAX} bytes"
                )));
            }
            if !options.stdin && !options.stdout && !options.stderr {
                return Err(ApiError::bad_request(
                    "you must specify at least 1 of stdin, stdout, stderr".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Where an opened stream goes: to the kubelet of a node (its name, its peer id, what
/// to start), or nowhere (None: the log of a pod not scheduled yet is empty, kube
/// answers 200 with no lines).
type Route = Option<(String, NodeId, StreamStart)>;

impl Gateway {
    pub(crate) fn on_stream(&mut self, from: NodeId, msg: StreamMsg, out: &mut Outbox<Self>) {
        match msg {
            StreamMsg::Open {
                id,
                user,
                request,
                dry_run,
            } => self.open_stream((from, id), user, request, dry_run, out),
            StreamMsg::Started { id } => self.on_started(from, id, out),
            StreamMsg::Caller { id, frame } => self.on_caller_frame((from, id), frame, out),
            StreamMsg::Kubelet { id, frame } => self.on_kubelet_frame(from, id, frame, out),
            StreamMsg::Hello { user } => self.on_hello(from, &user, out),
            // Sent by the gateway, never to it.
            StreamMsg::Opened { .. } | StreamMsg::Start { .. } | StreamMsg::Welcome { .. } => {}
        }
        assert!(self.streams.relays.len() <= self.config.streams_max);
        assert_eq!(self.streams.relays.len(), self.streams.by_caller.len());
    }

    fn send_caller(&self, caller: Caller, frame: StreamFrame, out: &mut Outbox<Self>) {
        let msg = StreamMsg::Caller {
            id: caller.1,
            frame,
        };
        out.send(caller.0, GatewayMsg::Stream(msg));
    }

    fn send_kubelet(&self, peer: NodeId, id: StreamId, frame: StreamFrame, out: &mut Outbox<Self>) {
        out.send(peer, GatewayMsg::Stream(StreamMsg::Kubelet { id, frame }));
    }

    fn refuse_stream(&self, caller: Caller, error: ApiError, out: &mut Outbox<Self>) {
        tracing::debug!(code = error.code, message = %error.message, "stream refused");
        let status = StreamStatus::Failed(error);
        self.send_caller(caller, StreamFrame::End { status }, out);
    }

    fn open_stream(
        &mut self,
        caller: Caller,
        requester: Requester,
        mut request: StreamRequest,
        dry_run: bool,
        out: &mut Outbox<Self>,
    ) {
        let kind = request.kind.name();
        let _span = tracing::debug_span!("stream_open", kind, pod = %request.pod).entered();
        if self.streams.by_caller.contains_key(&caller) {
            return; // a repeated open: the first one answers
        }
        let user = match self.requester_user(requester, None) {
            Ok(user) => user,
            Err(error) => return self.refuse_stream(caller, error, out),
        };
        if self.streams.relays.len() >= self.config.streams_max {
            let error = ApiError::too_many_requests("too many streams in progress".into());
            return self.refuse_stream(caller, error, out);
        }
        let route = match self.route_stream(&user, &mut request) {
            Ok(route) => route,
            Err(error) => return self.refuse_stream(caller, error, out),
        };
        let end = StreamFrame::End {
            status: StreamStatus::Success,
        };
        let (node, peer, start) = match route {
            _ if dry_run => return self.send_caller(caller, end, out),
            None => {
                out.send(
                    caller.0,
                    GatewayMsg::Stream(StreamMsg::Opened { id: caller.1 }),
                );
                return self.send_caller(caller, end, out);
            }
            Some(route) => route,
        };
        self.streams.next_id += 1;
        let id = self.streams.next_id;
        let relay = Relay {
            caller,
            kubelet: peer,
            node,
            kind,
            started: false,
            down: Flow::default(),
            up: Flow::default(),
            caller_silent_ticks: 0,
            kubelet_silent_ticks: 0,
        };
        tracing::debug!(id, kubelet = peer, "stream starts");
        self.streams.relays.insert(id, relay);
        self.streams.by_caller.insert(caller, id);
        out.send(peer, GatewayMsg::Stream(StreamMsg::Start { id, start }));
    }

    /// Authorizes and resolves a stream: the pod, its container, its node's kubelet.
    fn route_stream(&self, user: &User, request: &mut StreamRequest) -> Result<Route, ApiError> {
        let (subresource, verb) = request.kind.subresource_and_verb();
        if self.config.authorize {
            rbac::authorize_subresource(
                self,
                user,
                verb,
                subresource,
                &request.namespace,
                &request.pod,
            )?;
        }
        validate_kind(&mut request.kind, &request.pod)?;
        let pods = by_plural("", "pods").expect("pods are served");
        let cache = self
            .cache("Pod")
            .ok_or_else(|| ApiError::unavailable("the pod cache is not loaded yet".into()))?;
        let key = object::object_key(pods, Some(&request.namespace), &request.pod);
        let cached = cache
            .get(&key)
            .ok_or_else(|| ApiError::not_found("", "pods", &request.pod))?;
        let pod: Value = serde_json::from_slice(&cached.json)
            .map_err(|e| ApiError::internal(format!("a cached pod is not JSON: {e}")))?;
        let container = resolve_container(&pod, &request.pod, &request.container)?;
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("").to_string();
        if node.is_empty() {
            return match request.kind {
                StreamKind::Log(_) => Ok(None),
                StreamKind::Exec(_) => Err(ApiError::bad_request(format!(
                    "pod {} does not have a host assigned",
                    request.pod
                ))),
            };
        }
        let Some(kubelet) = self.streams.kubelets.get(&node) else {
            return Err(ApiError::unavailable(format!(
                "no kubelet is connected for node \"{node}\""
            )));
        };
        let start = StreamStart {
            namespace: request.namespace.clone(),
            pod: request.pod.clone(),
            pod_uid: object::meta_str(&pod, "uid").unwrap_or("").to_string(),
            container,
            kind: request.kind.clone(),
            user: user.clone(),
        };
        Ok(Some((node, kubelet.peer, start)))
    }

    fn on_started(&mut self, from: NodeId, id: StreamId, out: &mut Outbox<Self>) {
        let Some(relay) = self.streams.relays.get_mut(&id) else {
            return self.send_kubelet(from, id, cancelled(), out);
        };
        if relay.kubelet != from || relay.started {
            return;
        }
        relay.started = true;
        relay.kubelet_silent_ticks = 0;
        let caller = relay.caller;
        tracing::debug!(id, "stream opened");
        out.send(
            caller.0,
            GatewayMsg::Stream(StreamMsg::Opened { id: caller.1 }),
        );
    }

    fn on_caller_frame(&mut self, caller: Caller, frame: StreamFrame, out: &mut Outbox<Self>) {
        let Some(&id) = self.streams.by_caller.get(&caller) else {
            if !matches!(frame, StreamFrame::End { .. }) {
                self.send_caller(caller, cancelled(), out);
            }
            return;
        };
        let _span = tracing::debug_span!("stream_relay", id, from = "caller", frame = frame.kind())
            .entered();
        let relay = self.streams.relays.get_mut(&id).expect("indexed");
        relay.caller_silent_ticks = 0;
        let peer = relay.kubelet;
        if matches!(frame, StreamFrame::End { .. }) {
            self.remove_stream(id);
            return self.send_kubelet(peer, id, cancelled(), out);
        }
        let early = "data before the stream opened";
        match check_frame(&frame, relay.started, early, &mut relay.up, &mut relay.down) {
            Ok(()) => self.send_kubelet(peer, id, frame, out),
            Err(reason) => self.fail_stream(id, broken(reason), out),
        }
    }

    fn on_kubelet_frame(
        &mut self,
        from: NodeId,
        id: StreamId,
        frame: StreamFrame,
        out: &mut Outbox<Self>,
    ) {
        let known = self
            .streams
            .relays
            .get(&id)
            .is_some_and(|r| r.kubelet == from);
        if !known {
            if !matches!(frame, StreamFrame::End { .. }) {
                self.send_kubelet(from, id, cancelled(), out);
            }
            return;
        }
        let _span =
            tracing::debug_span!("stream_relay", id, from = "kubelet", frame = frame.kind())
                .entered();
        let relay = self.streams.relays.get_mut(&id).expect("known");
        relay.kubelet_silent_ticks = 0;
        let caller = relay.caller;
        if matches!(frame, StreamFrame::End { .. }) {
            tracing::debug!(id, "the kubelet ended the stream");
            self.remove_stream(id);
            return self.send_caller(caller, frame, out);
        }
        let early = "data before the stream started";
        match check_frame(&frame, relay.started, early, &mut relay.down, &mut relay.up) {
            Ok(()) => self.send_caller(caller, frame, out),
            Err(reason) => self.fail_stream(id, broken(reason), out),
        }
    }

    fn remove_stream(&mut self, id: StreamId) -> Option<Relay> {
        let relay = self.streams.relays.remove(&id)?;
        self.streams.by_caller.remove(&relay.caller);
        Some(relay)
    }

    /// Ends a stream from the gateway's side: the caller hears why, the kubelet stops.
    fn fail_stream(&mut self, id: StreamId, error: ApiError, out: &mut Outbox<Self>) {
        let Some(relay) = self.remove_stream(id) else {
            return;
        };
        let reason = &error.message;
        tracing::info!(id, kind = relay.kind, node = %relay.node, %reason, "stream ended by the gateway");
        let status = StreamStatus::Failed(error);
        self.send_caller(relay.caller, StreamFrame::End { status }, out);
        self.send_kubelet(relay.kubelet, id, cancelled(), out);
    }

    fn on_hello(&mut self, from: NodeId, user: &User, out: &mut Outbox<Self>) {
        let Some(node) = user.node_name() else {
            tracing::warn!(peer = from, user = %user.name, "a hello from a peer that is no kubelet");
            return;
        };
        let known = self.streams.kubelets.get(node).map(|k| k.peer);
        if known.is_none() && self.streams.kubelets.len() >= self.config.kubelets_max {
            tracing::warn!(node, "too many kubelets; hello ignored");
            return;
        }
        if known.is_some_and(|peer| peer != from) {
            // The node's kubelet came back under another identity: the old one's
            // streams are gone with it.
            self.forget_kubelet(node.to_string(), "the node's kubelet reconnected", out);
        }
        if known != Some(from) {
            tracing::info!(node, peer = from, "kubelet registered for streams");
        }
        let kubelet = Kubelet {
            peer: from,
            silent_ticks: 0,
        };
        self.streams.kubelets.insert(node.to_string(), kubelet);
        let welcome = StreamMsg::Welcome {
            node: node.to_string(),
        };
        out.send(from, GatewayMsg::Stream(welcome));
    }

    fn forget_kubelet(&mut self, node: String, reason: &str, out: &mut Outbox<Self>) {
        let Some(kubelet) = self.streams.kubelets.remove(&node) else {
            return;
        };
        let ids: Vec<StreamId> = self
            .streams
            .relays
            .iter()
            .filter(|(_, r)| r.kubelet == kubelet.peer && r.node == node)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let relay = self.remove_stream(id).expect("listed");
            let error = ApiError::unavailable(format!("{reason} (node \"{node}\")"));
            let status = StreamStatus::Failed(error);
            self.send_caller(relay.caller, StreamFrame::End { status }, out);
        }
    }

    /// Liveness: kubelets that stopped saying hello, legs that stopped acknowledging,
    /// kubelets that never started a stream.
    pub(crate) fn tick_streams(&mut self, out: &mut Outbox<Self>) {
        let silent: Vec<String> = self
            .streams
            .kubelets
            .iter_mut()
            .filter_map(|(node, kubelet)| {
                kubelet.silent_ticks += 1;
                (kubelet.silent_ticks > self.config.kubelet_silence_ticks_max).then(|| node.clone())
            })
            .collect();
        for node in silent {
            tracing::info!(node, "kubelet silent; forgotten");
            self.forget_kubelet(node, "the node's kubelet stopped answering", out);
        }
        let (silence_max, start_max) = (
            self.config.stream_silence_ticks_max,
            self.config.stream_start_ticks_max,
        );
        let mut ended = Vec::new();
        for (id, relay) in self.streams.relays.iter_mut() {
            relay.caller_silent_ticks += 1;
            relay.kubelet_silent_ticks += 1;
            let message = if !relay.started && relay.kubelet_silent_ticks > start_max {
                "the kubelet did not start the stream in time"
            } else if relay.caller_silent_ticks > silence_max {
                "the caller stopped answering"
            } else if relay.kubelet_silent_ticks > silence_max {
                "the kubelet stopped answering"
            } else {
                continue;
            };
            ended.push((*id, ApiError::new(504, "Timeout", message.into())));
        }
        for (id, reason) in ended {
            self.fail_stream(id, reason, out);
        }
    }
}

/// A relay that cannot go on: kube-apiserver's answer when its backend breaks.
fn broken(reason: &str) -> ApiError {
    ApiError::new(502, "BadGateway", format!("the stream broke: {reason}"))
}

fn cancelled() -> StreamFrame {
    StreamFrame::End {
        status: StreamStatus::Cancelled,
    }
}

/// Checks a frame one leg sends (not its End): its data against the flow it feeds
/// (`incoming`), its acks against the flow coming back to it (`outgoing`). `early` says
/// what data before the stream started is, from that leg's side.
fn check_frame(
    frame: &StreamFrame,
    started: bool,
    early: &'static str,
    incoming: &mut Flow,
    outgoing: &mut Flow,
) -> Result<(), &'static str> {
    match frame {
        StreamFrame::Data { .. } if !started => Err(early),
        StreamFrame::Data { bytes, .. } if bytes.len() > STREAM_DATA_BYTES_MAX => {
            Err("a data message over the size limit")
        }
        StreamFrame::Data { seq, .. } => incoming.admit(*seq),
        StreamFrame::Ack { seq } => {
            outgoing.ack(*seq);
            Ok(())
        }
        StreamFrame::End { .. } | StreamFrame::Close { .. } | StreamFrame::Resize { .. } => Ok(()),
    }
}
