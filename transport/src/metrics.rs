//! The process's Prometheus metrics, in the text format Prometheus scrapes
//! (`text/plain; version=0.0.4`), under Kubernetes' and etcd's names where they have one,
//! so an operator's dashboards and alerts for those work unchanged.
//!
//! One registry per process, as kube's `legacyregistry` and etcd's: the API serves it at
//! `/metrics` (behind RBAC), and `kactor server --metrics-listen` on plain HTTP as etcd's
//! `--listen-metrics-urls` does (both in `kactor-apiserver`). Every label set is bounded: verbs and codes are few,
//! resources come from the registry (anything else is `other`), peers are never labels.
//!
//! Figures that live in an actor's state (the store's leader, its keyspace size) are
//! copied out by the host after each input; the actors themselves stay free of IO.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Samplers run at each scrape (the mesh's queue depths); past this many, the oldest dead
/// ones are dropped first and then new ones are refused: a process has a handful.
pub const SAMPLERS_MAX: usize = 64;

/// kube-apiserver's buckets for `apiserver_request_duration_seconds`.
const REQUEST_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];
/// etcd's buckets for `etcd_disk_wal_fsync_duration_seconds`: 1 ms doubling, 14 of them.
const FSYNC_DURATION_BUCKETS: &[f64] = &[
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192,
];

/// Why the mesh dropped a frame (the `reason` label of `kactor_mesh_frames_dropped_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The peer's queue was full.
    QueueFull,
    /// The frame was over `FRAME_BYTES_MAX`.
    TooLarge,
    /// A cut link (fault injection).
    Blocked,
    /// An inbound frame did not decode; its connection was closed.
    Malformed,
    /// The host's mailbox was full.
    MailboxFull,
}

impl DropReason {
    const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::TooLarge,
        DropReason::Blocked,
        DropReason::Malformed,
        DropReason::MailboxFull,
    ];

    fn label(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::TooLarge => "too_large",
            DropReason::Blocked => "blocked",
            DropReason::Malformed => "malformed",
            DropReason::MailboxFull => "mailbox_full",
        }
    }
}

type Sampler = Box<dyn Fn(&Metrics) -> bool + Send + Sync>;

/// Every metric the process exports.
pub struct Metrics {
    registry: Registry,
    samplers: Mutex<Vec<Sampler>>,
    pub apiserver_request_total: IntCounterVec,
    pub apiserver_request_duration_seconds: HistogramVec,
    pub apiserver_watch_events_total: IntCounterVec,
    pub etcd_server_has_leader: IntGauge,
    pub etcd_server_is_leader: IntGauge,
    pub etcd_server_leader_changes_seen_total: IntCounter,
    pub etcd_server_proposals_committed_total: IntCounter,
    pub etcd_server_proposals_applied_total: IntCounter,
    pub etcd_disk_wal_fsync_duration_seconds: Histogram,
    pub etcd_mvcc_db_total_size_in_bytes: IntGauge,
    pub kactor_mesh_connections: IntGaugeVec,
    pub kactor_mesh_queued_frames: IntGauge,
    pub kactor_mesh_frames_sent_total: IntCounter,
    pub kactor_mesh_frames_received_total: IntCounter,
    pub kactor_mesh_frames_dropped_total: IntCounterVec,
    pub kactor_mesh_connections_refused_total: IntCounter,
    pub kactor_host_held_sends: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("a valid counter");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("a valid gauge");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    let metric = Histogram::with_opts(opts).expect("a valid histogram");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

impl Metrics {
    /// A registry with every family, the labelled ones with their fixed label values at 0
    /// (a family with no series would not be printed at all).
    fn new() -> Metrics {
        let metrics = Metrics::unset();
        for reason in DropReason::ALL {
            metrics
                .kactor_mesh_frames_dropped_total
                .with_label_values(&[reason.label()]);
        }
        for direction in ["in", "out"] {
            metrics
                .kactor_mesh_connections
                .with_label_values(&[direction]);
        }
        metrics
    }

    fn unset() -> Metrics {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        if let Err(e) = r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            tracing::warn!(error = %e, "process metrics unavailable");
        }
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb and resource.",
            )
            .buckets(REQUEST_DURATION_BUCKETS.to_vec()),
            &["verb", "resource", "subresource"],
        )
        .expect("a valid histogram");
        r.register(Box::new(duration.clone()))
            .expect("registered once");
        let connections = IntGaugeVec::new(
            Opts::new(
                "kactor_mesh_connections",
                "Open QUIC mesh connections, by direction.",
            ),
            &["direction"],
        )
        .expect("a valid gauge");
        r.register(Box::new(connections.clone()))
            .expect("registered once");
        Metrics {
            apiserver_request_total: counter_vec(
                &r,
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
                &["verb", "resource", "subresource", "code"],
            ),
            apiserver_request_duration_seconds: duration,
            apiserver_watch_events_total: counter_vec(
                &r,
                "apiserver_watch_events_total",
                "Number of events sent in watch clients.",
                &["group", "version", "kind"],
            ),
            etcd_server_has_leader: gauge(
                &r,
                "etcd_server_has_leader",
                "Whether or not a leader exists. 1 is existence, 0 is not.",
            ),
            etcd_server_is_leader: gauge(
                &r,
                "etcd_server_is_leader",
                "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            ),
            etcd_server_leader_changes_seen_total: counter(
                &r,
                "etcd_server_leader_changes_seen_total",
                "The number of leader changes seen.",
            ),
            etcd_server_proposals_committed_total: counter(
                &r,
                "etcd_server_proposals_committed_total",
                "The total number of consensus proposals committed.",
            ),
            etcd_server_proposals_applied_total: counter(
                &r,
                "etcd_server_proposals_applied_total",
                "The total number of consensus proposals applied.",
            ),
            etcd_disk_wal_fsync_duration_seconds: histogram(
                &r,
                "etcd_disk_wal_fsync_duration_seconds",
                "The latency distributions of fsync called by WAL.",
                FSYNC_DURATION_BUCKETS,
            ),
            etcd_mvcc_db_total_size_in_bytes: gauge(
                &r,
                "etcd_mvcc_db_total_size_in_bytes",
                "Total size of the keyspace in bytes, every kept version counted (what the quota limits).",
            ),
            kactor_mesh_connections: connections,
            kactor_mesh_queued_frames: gauge(
                &r,
                "kactor_mesh_queued_frames",
                "Frames waiting in the mesh's per-peer outbound queues.",
            ),
            kactor_mesh_frames_sent_total: counter(
                &r,
                "kactor_mesh_frames_sent_total",
                "Frames written to mesh connections.",
            ),
            kactor_mesh_frames_received_total: counter(
                &r,
                "kactor_mesh_frames_received_total",
                "Frames read from mesh connections.",
            ),
            kactor_mesh_frames_dropped_total: counter_vec(
                &r,
                "kactor_mesh_frames_dropped_total",
                "Frames dropped, by reason (queue_full, too_large, blocked, malformed, mailbox_full).",
                &["reason"],
            ),
            kactor_mesh_connections_refused_total: counter(
                &r,
                "kactor_mesh_connections_refused_total",
                "Incoming mesh connections refused (no certificate of the cluster CA, or too many).",
            ),
            kactor_host_held_sends: gauge(
                &r,
                "kactor_host_held_sends",
                "Messages held by the store's host until the WAL append they follow is durable.",
            ),
            samplers: Mutex::new(Vec::new()),
            registry: r,
        }
    }

    /// Counts a dropped frame.
    pub fn frame_dropped(&self, reason: DropReason) {
        self.kactor_mesh_frames_dropped_total
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// Counts an answered API request and its latency.
    pub fn api_request(
        &self,
        verb: &str,
        resource: &str,
        subresource: &str,
        code: u16,
        took: Duration,
    ) {
        let code = code.to_string();
        self.apiserver_request_total
            .with_label_values(&[verb, resource, subresource, &code])
            .inc();
        self.apiserver_request_duration_seconds
            .with_label_values(&[verb, resource, subresource])
            .observe(took.as_secs_f64());
    }

    /// Runs `sample` at every scrape until it returns false (its source is gone).
    pub fn add_sampler(&self, sample: impl Fn(&Metrics) -> bool + Send + Sync + 'static) {
        let mut samplers = self.samplers.lock().unwrap_or_else(|p| p.into_inner());
        if samplers.len() >= SAMPLERS_MAX {
            tracing::warn!(SAMPLERS_MAX, "too many metric samplers; one is not added");
            return;
        }
        samplers.push(Box::new(sample));
    }

    /// The whole registry in Prometheus' text format.
    pub fn render(&self) -> String {
        {
            let mut samplers = self.samplers.lock().unwrap_or_else(|p| p.into_inner());
            samplers.retain(|sample| sample(self));
        }
        let mut text = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::warn!(error = %e, "metrics did not encode");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

/// The text format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_family_with_help_and_type() {
        let m = metrics();
        m.api_request("get", "pods", "", 200, Duration::from_millis(3));
        m.frame_dropped(DropReason::QueueFull);
        m.etcd_disk_wal_fsync_duration_seconds.observe(0.002);
        let text = m.render();
        for name in [
            "apiserver_request_total",
            "apiserver_request_duration_seconds",
            "etcd_server_has_leader",
            "etcd_server_leader_changes_seen_total",
            "etcd_server_proposals_committed_total",
            "etcd_disk_wal_fsync_duration_seconds",
            "etcd_mvcc_db_total_size_in_bytes",
            "kactor_mesh_frames_dropped_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no help"
            );
        }
        assert!(text.contains(
            "apiserver_request_total{code=\"200\",resource=\"pods\",subresource=\"\",verb=\"get\"}"
        ));
        assert!(text.contains("kactor_mesh_frames_dropped_total{reason=\"queue_full\"}"));
    }

    #[test]
    fn a_sampler_that_reports_its_source_gone_is_dropped() {
        let m = Metrics::new();
        m.add_sampler(|m| {
            m.kactor_mesh_queued_frames.set(7);
            false
        });
        assert!(m.render().contains("kactor_mesh_queued_frames 7"));
        m.kactor_mesh_queued_frames.set(0);
        assert!(m.render().contains("kactor_mesh_queued_frames 0"));
    }
}
