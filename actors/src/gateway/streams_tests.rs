//! Log and exec streams through the gateway, sans IO: what it refuses (RBAC, missing
//! pods, unscheduled pods, wrong containers, no kubelet, too many streams), and how it
//! relays (both directions, inside the window, ended by either side or by silence).

use serde_json::json;

use super::streams::*;
use super::tests::{create, pod, with_default_namespace, Harness, CLIENT};
use super::*;
use crate::kernel::NodeId;

const KUBELET: NodeId = 200;
const OTHER_KUBELET: NodeId = 201;

fn node_user(node: &str) -> User {
    User::new(&format!("system:node:{node}"), &["system:nodes"])
}

fn exec(pod: &str, command: &[&str]) -> StreamRequest {
    StreamRequest {
        namespace: "default".into(),
        pod: pod.into(),
        container: String::new(),
        kind: StreamKind::Exec(ExecOptions {
            command: command.iter().map(|c| c.to_string()).collect(),
            stdin: true,
            stdout: true,
            stderr: true,
            tty: false,
        }),
    }
}

fn log(pod: &str, options: LogOptions) -> StreamRequest {
    StreamRequest {
        namespace: "default".into(),
        pod: pod.into(),
        container: String::new(),
        kind: StreamKind::Log(options),
    }
}

/// A harness with pod `p1` on node n1, whose kubelet (`KUBELET`) said hello.
fn with_kubelet() -> Harness {
    let mut h = with_default_namespace();
    let mut bound = pod("p1");
    bound["spec"]["nodeName"] = json!("n1");
    h.call(create("pods", Some("default"), bound)).unwrap();
    hello(&mut h, KUBELET, "n1");
    h.tick(1);
    let welcome = StreamMsg::Welcome { node: "n1".into() };
    assert_eq!(to_kubelets(&mut h), vec![(KUBELET, welcome)]);
    h
}

fn hello(h: &mut Harness, from: NodeId, node: &str) {
    let user = node_user(node);
    h.deliver(from, GatewayMsg::Stream(StreamMsg::Hello { user }));
}

fn open_as(h: &mut Harness, id: StreamId, user: User, request: StreamRequest) {
    let msg = StreamMsg::Open {
        id,
        user: user.into(),
        request,
        dry_run: false,
    };
    h.deliver(CLIENT, GatewayMsg::Stream(msg));
}

fn open(h: &mut Harness, id: StreamId, request: StreamRequest) {
    open_as(h, id, tests::admin(), request);
}

/// The stream messages the caller received, taken out of its inbox.
fn to_caller(h: &mut Harness) -> Vec<StreamMsg> {
    let mut taken = Vec::new();
    h.inbox.retain(|m| match m {
        GatewayMsg::Stream(msg) => {
            taken.push(msg.clone());
            false
        }
        _ => true,
    });
    taken
}

fn to_kubelets(h: &mut Harness) -> Vec<(NodeId, StreamMsg)> {
    std::mem::take(&mut h.kubelet_inbox)
        .into_iter()
        .filter_map(|(to, msg)| match msg {
            GatewayMsg::Stream(msg) => Some((to, msg)),
            _ => None,
        })
        .collect()
}

/// The error a refused (or broken) stream ended with; relayed acks aside.
fn refusal(h: &mut Harness, id: StreamId) -> ApiError {
    let mut messages = to_caller(h);
    messages.retain(|m| {
        !matches!(
            m,
            StreamMsg::Caller {
                frame: StreamFrame::Ack { .. },
                ..
            }
        )
    });
    match messages.as_slice() {
        [StreamMsg::Caller {
            id: got,
            frame:
                StreamFrame::End {
                    status: StreamStatus::Failed(error),
                },
        }] if *got == id => error.clone(),
        other => panic!("expected a refusal of {id}, got {other:?}"),
    }
}

/// Opens an exec on p1 and lets the kubelet start it; returns the kubelet leg's id.
fn started(h: &mut Harness, id: StreamId) -> StreamId {
    open(h, id, exec("p1", &["cat"]));
    let kubelet_id = match to_kubelets(h).as_slice() {
        [(KUBELET, StreamMsg::Start { id, start })] => {
            assert_eq!((start.pod.as_str(), start.container.as_str()), ("p1", "c"));
            assert!(!start.pod_uid.is_empty());
            *id
        }
        other => panic!("expected a start, got {other:?}"),
    };
    assert!(
        to_caller(h).is_empty(),
        "opened only once the kubelet started"
    );
    let started = StreamMsg::Started { id: kubelet_id };
    h.deliver(KUBELET, GatewayMsg::Stream(started));
    assert_eq!(to_caller(h), vec![StreamMsg::Opened { id }]);
    kubelet_id
}

fn from_kubelet(h: &mut Harness, id: StreamId, frame: StreamFrame) {
    h.deliver(
        KUBELET,
        GatewayMsg::Stream(StreamMsg::Kubelet { id, frame }),
    );
}

fn from_caller(h: &mut Harness, id: StreamId, frame: StreamFrame) {
    h.deliver(CLIENT, GatewayMsg::Stream(StreamMsg::Caller { id, frame }));
}

fn data(channel: u8, seq: u64, bytes: &[u8]) -> StreamFrame {
    StreamFrame::Data {
        channel,
        seq,
        bytes: bytes.to_vec(),
    }
}

#[test]
fn streams_need_rights_on_the_subresource() {
    let mut h = with_kubelet();
    let alice = User::new("alice", &["system:authenticated"]);
    open_as(&mut h, 1, alice.clone(), exec("p1", &["ls"]));
    let error = refusal(&mut h, 1);
    assert_eq!(error.code, 403);
    assert_eq!(
        error.message,
        "pods \"p1\" is forbidden: User \"alice\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\""
    );
    // A role that grants logs only.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "logs"},
        "rules": [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-logs"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "logs"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]});
    for (plural, body) in [("roles", role), ("rolebindings", binding)] {
        let mut request = create(plural, Some("default"), body);
        request.path.group = "rbac.authorization.k8s.io".into();
        h.call(request).unwrap();
    }
    h.tick(1);
    open_as(&mut h, 2, alice.clone(), log("p1", LogOptions::default()));
    assert!(to_caller(&mut h).is_empty(), "waits for the kubelet");
    assert!(matches!(
        to_kubelets(&mut h).as_slice(),
        [(KUBELET, StreamMsg::Start { .. })]
    ));
    open_as(&mut h, 3, alice, exec("p1", &["ls"]));
    assert_eq!(refusal(&mut h, 3).code, 403);
    // Kubelets may do neither (the Node authorizer grants no connect subresource).
    open_as(&mut h, 4, node_user("n1"), log("p1", LogOptions::default()));
    assert_eq!(refusal(&mut h, 4).code, 403);
}

#[test]
fn missing_and_unscheduled_pods_and_wrong_containers_are_refused_as_kube_does() {
    let mut h = with_kubelet();
    open(&mut h, 1, exec("nope", &["ls"]));
    let missing = refusal(&mut h, 1);
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (404, "pods \"nope\" not found")
    );
    h.call(create("pods", Some("default"), pod("pending")))
        .unwrap();
    let mut two = pod("web");
    two["spec"]["nodeName"] = json!("n1");
    two["spec"]["containers"] =
        json!([{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]);
    h.call(create("pods", Some("default"), two)).unwrap();
    h.tick(1);
    open(&mut h, 2, exec("pending", &["ls"]));
    let unscheduled = refusal(&mut h, 2);
    assert_eq!(
        (unscheduled.code, unscheduled.message.as_str()),
        (400, "pod pending does not have a host assigned")
    );
    // The log of a pod no node runs yet is empty, as kube answers.
    open(&mut h, 3, log("pending", LogOptions::default()));
    let end = StreamFrame::End {
        status: StreamStatus::Success,
    };
    assert_eq!(
        to_caller(&mut h),
        vec![
            StreamMsg::Opened { id: 3 },
            StreamMsg::Caller { id: 3, frame: end }
        ]
    );
    open(&mut h, 4, exec("web", &["ls"]));
    assert_eq!(
        refusal(&mut h, 4).message,
        "a container name must be specified for pod web, choose one of: [a b]"
    );
    let mut wrong = exec("p1", &["ls"]);
    wrong.container = "x".into();
    open(&mut h, 5, wrong);
    assert_eq!(
        refusal(&mut h, 5).message,
        "container x is not valid for pod p1"
    );
    let tail = LogOptions {
        tail_lines: Some(-1),
        ..LogOptions::default()
    };
    open(&mut h, 6, log("p1", tail));
    let invalid = refusal(&mut h, 6);
    assert_eq!(invalid.code, 422);
    assert_eq!(
        invalid.message,
        "PodLogOptions \"p1\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
    );
    open(&mut h, 7, exec("p1", &[]));
    assert_eq!(refusal(&mut h, 7).code, 400);
    assert!(
        to_kubelets(&mut h).is_empty(),
        "no kubelet heard of any of them"
    );
}

#[test]
fn a_node_without_a_kubelet_is_unavailable_until_its_kubelet_says_hello() {
    let mut h = with_kubelet();
    let mut elsewhere = pod("p2");
    elsewhere["spec"]["nodeName"] = json!("n2");
    h.call(create("pods", Some("default"), elsewhere)).unwrap();
    h.tick(1);
    open(&mut h, 1, exec("p2", &["ls"]));
    let error = refusal(&mut h, 1);
    assert_eq!(error.code, 503);
    assert!(error
        .message
        .contains("no kubelet is connected for node \"n2\""));
    // A peer that is no kubelet cannot register.
    let admin = GatewayMsg::Stream(StreamMsg::Hello {
        user: tests::admin(),
    });
    h.deliver(OTHER_KUBELET, admin);
    assert!(to_kubelets(&mut h).is_empty());
    hello(&mut h, OTHER_KUBELET, "n2");
    let welcome = StreamMsg::Welcome { node: "n2".into() };
    assert_eq!(to_kubelets(&mut h), vec![(OTHER_KUBELET, welcome)]);
    // A dry run checks everything and starts nothing.
    let dry = StreamMsg::Open {
        id: 2,
        user: tests::admin().into(),
        request: exec("p2", &["ls"]),
        dry_run: true,
    };
    h.deliver(CLIENT, GatewayMsg::Stream(dry));
    let success = StreamFrame::End {
        status: StreamStatus::Success,
    };
    assert_eq!(
        to_caller(&mut h),
        vec![StreamMsg::Caller {
            id: 2,
            frame: success
        }]
    );
    assert!(to_kubelets(&mut h).is_empty());
    open(&mut h, 3, exec("p2", &["ls"]));
    assert!(matches!(
        to_kubelets(&mut h).as_slice(),
        [(OTHER_KUBELET, StreamMsg::Start { .. })]
    ));
}

#[test]
fn frames_are_relayed_both_ways_until_the_kubelet_ends_the_stream() {
    let mut h = with_kubelet();
    let k = started(&mut h, 7);
    from_kubelet(&mut h, k, data(CHANNEL_STDOUT, 1, b"hello\n"));
    let relayed = StreamMsg::Caller {
        id: 7,
        frame: data(CHANNEL_STDOUT, 1, b"hello\n"),
    };
    assert_eq!(to_caller(&mut h), vec![relayed]);
    from_caller(&mut h, 7, StreamFrame::Ack { seq: 1 });
    from_caller(&mut h, 7, data(CHANNEL_STDIN, 1, b"typed"));
    from_caller(
        &mut h,
        7,
        StreamFrame::Close {
            channel: CHANNEL_STDIN,
        },
    );
    from_caller(
        &mut h,
        7,
        StreamFrame::Resize {
            width: 80,
            height: 24,
        },
    );
    let frames: Vec<StreamFrame> = to_kubelets(&mut h)
        .into_iter()
        .map(|(to, msg)| match msg {
            StreamMsg::Kubelet { id, frame } if to == KUBELET && id == k => frame,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        frames,
        vec![
            StreamFrame::Ack { seq: 1 },
            data(CHANNEL_STDIN, 1, b"typed"),
            StreamFrame::Close {
                channel: CHANNEL_STDIN
            },
            StreamFrame::Resize {
                width: 80,
                height: 24
            },
        ]
    );
    let exit = StreamFrame::End {
        status: StreamStatus::ExitCode(3),
    };
    from_kubelet(&mut h, k, exit.clone());
    assert_eq!(
        to_caller(&mut h),
        vec![StreamMsg::Caller { id: 7, frame: exit }]
    );
    assert!(h.gateway.streams.relays.is_empty());
    // A frame for the finished stream is answered with its end.
    from_kubelet(&mut h, k, data(CHANNEL_STDOUT, 2, b"late"));
    assert!(matches!(
        to_kubelets(&mut h).as_slice(),
        [(
            KUBELET,
            StreamMsg::Kubelet {
                frame: StreamFrame::End { .. },
                ..
            }
        )]
    ));
}

#[test]
fn a_sender_past_its_window_or_with_a_gap_breaks_the_stream() {
    let mut h = with_kubelet();
    let k = started(&mut h, 1);
    for seq in 1..=STREAM_WINDOW_MESSAGES {
        from_kubelet(&mut h, k, data(CHANNEL_STDOUT, seq, b"x"));
    }
    assert_eq!(to_caller(&mut h).len(), STREAM_WINDOW_MESSAGES as usize);
    from_kubelet(
        &mut h,
        k,
        data(CHANNEL_STDOUT, STREAM_WINDOW_MESSAGES + 1, b"x"),
    );
    let error = refusal(&mut h, 1);
    assert_eq!(error.code, 502, "{error:?}");
    assert!(error.message.contains("window"), "{error:?}");
    let cancel = StreamFrame::End {
        status: StreamStatus::Cancelled,
    };
    assert_eq!(
        to_kubelets(&mut h),
        vec![(
            KUBELET,
            StreamMsg::Kubelet {
                id: k,
                frame: cancel
            }
        )]
    );
    // A lost message shows as a gap.
    let k = started(&mut h, 2);
    from_kubelet(&mut h, k, data(CHANNEL_STDOUT, 2, b"x"));
    assert!(refusal(&mut h, 2).message.contains("lost"));
    to_kubelets(&mut h);
    // With acknowledgements, any amount flows.
    let k = started(&mut h, 3);
    for seq in 1..=3 * STREAM_WINDOW_MESSAGES {
        from_kubelet(&mut h, k, data(CHANNEL_STDOUT, seq, b"x"));
        from_caller(&mut h, 3, StreamFrame::Ack { seq });
    }
    assert_eq!(to_caller(&mut h).len(), 3 * STREAM_WINDOW_MESSAGES as usize);
}

#[test]
fn streams_at_once_are_bounded() {
    let mut h = with_kubelet();
    h.gateway.config.streams_max = 2;
    started(&mut h, 1);
    started(&mut h, 2);
    open(&mut h, 3, exec("p1", &["ls"]));
    let error = refusal(&mut h, 3);
    assert_eq!(
        (error.code, error.reason.as_str()),
        (429, "TooManyRequests")
    );
    // A caller that gives up frees its slot, and the kubelet hears of it.
    from_caller(
        &mut h,
        1,
        StreamFrame::End {
            status: StreamStatus::Cancelled,
        },
    );
    assert!(matches!(
        to_kubelets(&mut h).as_slice(),
        [(
            KUBELET,
            StreamMsg::Kubelet {
                frame: StreamFrame::End {
                    status: StreamStatus::Cancelled
                },
                ..
            }
        )]
    ));
    started(&mut h, 3);
}

#[test]
fn silent_kubelets_and_silent_legs_end_their_streams() {
    let mut h = with_kubelet();
    started(&mut h, 1);
    let silence = h.gateway.config.kubelet_silence_ticks_max;
    // The caller keeps acknowledging; the kubelet says nothing at all.
    for _ in 0..=silence {
        from_caller(&mut h, 1, StreamFrame::Ack { seq: 0 });
        h.tick(1);
        if h.gateway.streams.relays.is_empty() {
            break;
        }
    }
    let error = refusal(&mut h, 1);
    assert_eq!(error.code, 503, "{error:?}");
    assert!(h.gateway.streams.kubelets.is_empty());
    to_kubelets(&mut h);
    open(&mut h, 2, exec("p1", &["ls"]));
    assert_eq!(refusal(&mut h, 2).code, 503);
    // A caller that vanishes: its kubelet keeps saying hello, the stream times out.
    hello(&mut h, KUBELET, "n1");
    to_kubelets(&mut h);
    let k = started(&mut h, 3);
    let silence = h.gateway.config.stream_silence_ticks_max;
    for _ in 0..=silence {
        hello(&mut h, KUBELET, "n1");
        from_kubelet(&mut h, k, StreamFrame::Ack { seq: 0 });
        h.tick(1);
        if h.gateway.streams.relays.is_empty() {
            break;
        }
    }
    let error = refusal(&mut h, 3);
    assert_eq!(error.code, 504, "{error:?}");
    assert!(error.message.contains("caller"), "{error:?}");
}

#[test]
fn the_exec_status_is_the_kubelets() {
    let command = vec!["sh".to_string(), "-c".to_string(), "exit 3".to_string()];
    assert_eq!(
        StreamStatus::Success.to_exec_status(&command),
        json!({"metadata": {}, "status": "Success"})
    );
    let failure = StreamStatus::ExitCode(3).to_exec_status(&command);
    assert_eq!(failure["reason"], "NonZeroExitCode");
    assert_eq!(
        failure["details"]["causes"],
        json!([{"reason": "ExitCode", "message": "3"}])
    );
    let mut flow = Flow::default();
    for _ in 0..STREAM_WINDOW_MESSAGES {
        flow.next_seq();
    }
    assert_eq!(flow.credit(), 0);
    flow.ack(STREAM_WINDOW_MESSAGES + 5);
    assert_eq!(flow.credit(), 0, "an ack past what was sent is ignored");
    flow.ack(2);
    assert_eq!(flow.credit(), 2);
}
