//! `kactor verify gateway`: the gateways under faults, Jepsen-style. Three real members
//! (each a store member with its gateway and HTTPS API) on loopback, the same nemesis as
//! `verify store` (kill, pause, partition), and clients through different members'
//! gateways, over the mesh and over HTTPS (the real kubectl):
//!
//! - read-modify-write of a few ConfigMaps with resourceVersion preconditions: each
//!   update appends its own token to the object's `data.log`, so the final object is its
//!   own history. No lost update: every acknowledged token is in the final log, and none
//!   twice.
//! - creates and deletes under a ResourceQuota: no list ever shows more objects than the
//!   quota allows, and no acknowledged create (not deleted since) is lost.
//! - a watcher per gateway, resuming from the last resourceVersion it got (relisting on
//!   410), checked for etcd's watch guarantees: ordered (resourceVersions only grow),
//!   unique, no gaps (each MODIFIED event adds exactly one token to what the watcher had),
//!   and caught up with the final objects at the end.
//! - consistent lists through the gateways' caches: no list is older than a write
//!   acknowledged before it started.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kactor_actors::gateway::{ApiError, ApiRequest, ResourcePath, Verb, WatchEventType};
use kactor_actors::watcher::{WatchEnding, Watcher, WatcherAction, WatcherInput, WatcherLimits};
use kactor_transport::gateway_client::{GatewayClient, WatchMessage, WatchStream};
use serde_json::{json, Value};

use crate::cluster::{gateway_client, LocalCluster};
use crate::kubectl::Kubectl;
use crate::store_verify::{nemesis, Choices, Fault};

/// The namespace of the read-modify-write objects.
const LEDGER_NAMESPACE: &str = "verify";
/// The namespace under the quota.
const QUOTA_NAMESPACE: &str = "verify-quota";
/// ConfigMaps the quota allows in `QUOTA_NAMESPACE`.
const QUOTA_CONFIGMAPS: usize = 5;
/// A call unanswered this long has an unknown outcome (the client's own bound is a
/// minute; a fault lasts two seconds).
const CALL_MS_MAX: u64 = 5_000;
/// Pause between one client's operations.
const CLIENT_PAUSE_MS: u64 = 10;
/// Pause after a failed call before the client reconnects and goes on.
const RETRY_PAUSE_MS: u64 = 300;
/// Pause between consistent lists.
const LIST_PAUSE_MS: u64 = 100;
/// A watch this silent while writes go on is taken for dead (its gateway restarted, or
/// its connection went) and resumed, as a client's connection timeout would.
const WATCH_SILENCE_MS_MAX: u64 = 5_000;
/// How long setup, the final reads and the watchers' catch-up may take.
const SETTLE_MS_MAX: u64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterMutation {
    /// The broken writer of the checker's own test: its updates carry no
    /// resourceVersion, so they overwrite whatever is there.
    SkipPrecondition,
}

#[derive(Clone, Debug)]
pub struct GatewayVerifyConfig {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub duration: Duration,
    pub faults: Vec<Fault>,
    /// Writers over the mesh, spread over the members' gateways (one more writes over
    /// HTTPS with kubectl).
    pub writers: usize,
    /// ConfigMaps they read, modify and write.
    pub objects: usize,
    pub seed: u64,
    /// None in `kactor verify gateway`; the checker's own test breaks the writers.
    pub mutation: Option<WriterMutation>,
}

#[derive(Debug, Default)]
pub struct GatewayVerifyReport {
    pub faults: Vec<String>,
    pub updates_acknowledged: usize,
    pub updates_over_https: usize,
    pub conflicts: usize,
    pub outcomes_unknown: usize,
    pub creates_acknowledged: usize,
    pub quota_refusals: usize,
    pub lists: usize,
    pub watch_events: usize,
    pub watch_resumes: usize,
    pub watch_relists: usize,
    pub lost_updates: Vec<String>,
    pub quota_problems: Vec<String>,
    pub watch_problems: Vec<String>,
    pub stale_lists: Vec<String>,
}

impl GatewayVerifyReport {
    pub fn passed(&self) -> bool {
        self.lost_updates.is_empty()
            && self.quota_problems.is_empty()
            && self.watch_problems.is_empty()
            && self.stale_lists.is_empty()
    }

    pub fn print(&self) {
        let verdict = |problems: &[String]| {
            if problems.is_empty() {
                "held"
            } else {
                "VIOLATED"
            }
        };
        println!("| what | figure |");
        println!("|---|---:|");
        println!("| faults injected | {} |", self.faults.len());
        println!("| updates acknowledged | {} |", self.updates_acknowledged);
        println!(
            "| ... of which over HTTPS (kubectl) | {} |",
            self.updates_over_https
        );
        println!(
            "| updates refused as conflicts (409) | {} |",
            self.conflicts
        );
        println!(
            "| outcomes unknown (timeouts, failures) | {} |",
            self.outcomes_unknown
        );
        println!(
            "| creates acknowledged under the quota | {} |",
            self.creates_acknowledged
        );
        println!("| creates refused by the quota | {} |", self.quota_refusals);
        println!("| consistent lists | {} |", self.lists);
        println!("| watch events | {} |", self.watch_events);
        println!(
            "| watch resumes / relists | {} / {} |",
            self.watch_resumes, self.watch_relists
        );
        println!("| no lost update | {} |", verdict(&self.lost_updates));
        println!(
            "| quota never exceeded, no create lost | {} |",
            verdict(&self.quota_problems)
        );
        println!(
            "| watches ordered, unique, gapless, caught up | {} |",
            verdict(&self.watch_problems)
        );
        println!(
            "| no list older than an acknowledged write | {} |",
            verdict(&self.stale_lists)
        );
        let problems = self
            .lost_updates
            .iter()
            .chain(&self.quota_problems)
            .chain(&self.watch_problems)
            .chain(&self.stale_lists);
        for problem in problems.take(20) {
            println!("  {problem}");
        }
        let outcome = if self.passed() { "passed" } else { "FAILED" };
        println!("verify gateway: {outcome}");
    }
}

fn object_name(object: usize) -> String {
    format!("ledger-{object}")
}

fn configmaps(namespace: &str, name: Option<&str>) -> ResourcePath {
    ResourcePath {
        group: String::new(),
        plural: "configmaps".into(),
        namespace: Some(namespace.into()),
        name: name.map(str::to_string),
        subresource: None,
    }
}

fn with_body(verb: Verb, path: ResourcePath, body: &Value) -> ApiRequest {
    let mut request = ApiRequest::new(verb, path);
    request.body = body.to_string().into_bytes();
    request
}

fn tokens(object: &Value) -> Vec<String> {
    object["data"]["log"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// What the clients were told, with when, to check the lists and the end against.
#[derive(Default)]
struct Observed {
    /// Acknowledged updates: object, token, and when the acknowledgement arrived.
    acknowledged: Vec<(usize, String, Instant)>,
    over_https: usize,
    conflicts: usize,
    unknown: usize,
    /// Creates acknowledged and not deleted since (a delete of unknown outcome removes
    /// the name too: it may be gone).
    live_creates: BTreeSet<String>,
    creates: usize,
    quota_refusals: usize,
    lists: usize,
    stale_lists: Vec<String>,
    quota_problems: Vec<String>,
}

type Shared = Arc<Mutex<Observed>>;

fn observe<T>(shared: &Shared, f: impl FnOnce(&mut Observed) -> T) -> T {
    f(&mut shared.lock().expect("observations lock"))
}

/// One call with the verifier's own time bound; a timeout is an unknown outcome (503).
async fn call(client: &GatewayClient, request: ApiRequest) -> Result<Value, ApiError> {
    let answer = tokio::time::timeout(Duration::from_millis(CALL_MS_MAX), client.call(request));
    match answer.await {
        Ok(Ok((_, body))) => Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError::unavailable(format!(
            "no answer within {CALL_MS_MAX} ms"
        ))),
    }
}

/// A client of member `n`'s gateway, reconnected after failures (a restarted member's
/// gateway listens on a new port).
struct MemberClient {
    root: PathBuf,
    member: usize,
    client: Option<GatewayClient>,
}

impl MemberClient {
    fn new(root: &Path, member: usize) -> MemberClient {
        MemberClient {
            root: root.to_path_buf(),
            member,
            client: None,
        }
    }

    async fn call(&mut self, request: ApiRequest) -> Result<Value, ApiError> {
        if self.client.is_none() {
            let connected = tokio::time::timeout(
                Duration::from_millis(CALL_MS_MAX),
                gateway_client(&self.root, self.member),
            )
            .await;
            match connected {
                Ok(Ok(client)) => self.client = Some(client),
                _ => {
                    return Err(ApiError::unavailable(format!(
                        "n{} unreachable",
                        self.member
                    )))
                }
            }
        }
        let client = self.client.as_ref().expect("connected");
        let answer = call(client, request).await;
        if matches!(&answer, Err(error) if error.code >= 500) {
            self.client = None;
            tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
        }
        answer
    }
}

pub async fn run(cfg: &GatewayVerifyConfig) -> anyhow::Result<GatewayVerifyReport> {
    let root = tempfile::Builder::new()
        .prefix("kactor-verify-gateway-")
        .tempdir_in(&cfg.data_dir)
        .context("verify dir")?;
    let mut cluster = LocalCluster::start(&cfg.binary, 3, root.path())?;
    let mut admin = MemberClient::new(root.path(), 1);
    set_up(&mut admin, cfg.objects).await?;
    eprintln!(
        "verify: 3 members up; {} writers over the mesh and 1 over HTTPS on {} objects, quota of {QUOTA_CONFIGMAPS}, for {:?}",
        cfg.writers, cfg.objects, cfg.duration
    );
    let shared: Shared = Arc::default();
    let deadline = Instant::now() + cfg.duration;
    let mut tasks = Vec::new();
    for c in 0..cfg.writers {
        let (root, shared, cfg) = (root.path().to_path_buf(), shared.clone(), cfg.clone());
        tasks.push(tokio::spawn(async move {
            mesh_writer(c, &root, &cfg, deadline, &shared).await
        }));
    }
    for c in 0..2 {
        let (root, shared, seed) = (root.path().to_path_buf(), shared.clone(), cfg.seed);
        tasks.push(tokio::spawn(async move {
            quota_client(c, &root, seed, deadline, &shared).await
        }));
    }
    {
        let (root, shared) = (root.path().to_path_buf(), shared.clone());
        tasks.push(tokio::spawn(async move {
            lister(&root, deadline, &shared).await
        }));
    }
    let https = {
        let (root, shared, cfg) = (root.path().to_path_buf(), shared.clone(), cfg.clone());
        tokio::task::spawn_blocking(move || https_writer(&root, &cfg, deadline, &shared))
    };
    let watched: Vec<Arc<Mutex<Watched>>> = (0..3).map(|_| Arc::default()).collect();
    let watchers: Vec<_> = watched
        .iter()
        .enumerate()
        .map(|(index, seen)| {
            let (root, seen) = (root.path().to_path_buf(), seen.clone());
            tokio::spawn(async move { watcher(&root, index + 1, &seen).await })
        })
        .collect();
    let faults = nemesis(&mut cluster, &cfg.faults, cfg.seed, deadline).await?;
    for task in tasks {
        task.await?;
    }
    https.await?;

    // Healed: the final objects, then the watchers catch up with them.
    let mut finals: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for object in 0..cfg.objects {
        let name = object_name(object);
        let get = ApiRequest::new(Verb::Get, configmaps(LEDGER_NAMESPACE, Some(&name)));
        finals.insert(name, tokens(&call_until_ok(&mut admin, get).await?));
    }
    let quota_list = ApiRequest::new(Verb::List, configmaps(QUOTA_NAMESPACE, None));
    let quota_final = call_until_ok(&mut admin, quota_list).await?;
    let caught_up = Instant::now() + Duration::from_millis(SETTLE_MS_MAX);
    let watched_all = |watched: &[Arc<Mutex<Watched>>]| {
        watched.iter().all(|seen| {
            let seen = seen.lock().expect("watch lock");
            finals
                .iter()
                .all(|(name, log)| seen.latest.get(name).map(|(_, seen)| seen) == Some(log))
        })
    };
    while !watched_all(&watched) && Instant::now() < caught_up {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for watcher in watchers {
        watcher.abort();
    }
    let mut report = GatewayVerifyReport {
        faults,
        ..GatewayVerifyReport::default()
    };
    for (index, seen) in watched.iter().enumerate() {
        let seen = seen.lock().expect("watch lock");
        check_watch(index + 1, &seen, &finals, &mut report);
    }
    let observed = std::mem::take(&mut *shared.lock().expect("observations lock"));
    check(&observed, &finals, &quota_final, &mut report);
    if !report.passed() {
        eprintln!("{}", cluster.log_tails());
    }
    Ok(report)
}

/// The namespaces, the quota and the objects, created through member 1 (idempotent).
async fn set_up(admin: &mut MemberClient, objects: usize) -> anyhow::Result<()> {
    let namespaces = ResourcePath {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: None,
        name: None,
        subresource: None,
    };
    for name in [LEDGER_NAMESPACE, QUOTA_NAMESPACE] {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        create_until_done(admin, with_body(Verb::Create, namespaces.clone(), &body)).await?;
    }
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "verify", "namespace": QUOTA_NAMESPACE},
        "spec": {"hard": {"count/configmaps": QUOTA_CONFIGMAPS.to_string()}}});
    let mut quotas = configmaps(QUOTA_NAMESPACE, None);
    quotas.plural = "resourcequotas".into();
    create_until_done(admin, with_body(Verb::Create, quotas, &quota)).await?;
    for object in 0..objects {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": object_name(object), "namespace": LEDGER_NAMESPACE},
            "data": {"log": ""}});
        let request = with_body(Verb::Create, configmaps(LEDGER_NAMESPACE, None), &body);
        create_until_done(admin, request).await?;
    }
    Ok(())
}

async fn create_until_done(admin: &mut MemberClient, request: ApiRequest) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(SETTLE_MS_MAX);
    loop {
        match admin.call(request.clone()).await {
            Ok(_) => return Ok(()),
            Err(error) if error.code == 409 => return Ok(()), // an earlier attempt landed
            Err(error) if Instant::now() > deadline => bail!("setup failed: {error:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await,
        }
    }
}

async fn call_until_ok(admin: &mut MemberClient, request: ApiRequest) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_millis(SETTLE_MS_MAX);
    loop {
        match admin.call(request.clone()).await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() > deadline => bail!("no answer after healing: {error:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await,
        }
    }
}

/// The next object, with `token` appended to its log (and no resourceVersion when the
/// writer is broken).
fn appended(mut object: Value, token: &str, mutation: Option<WriterMutation>) -> Value {
    let log = object["data"]["log"].as_str().unwrap_or("").to_string();
    object["data"]["log"] = Value::String(format!("{log} {token}"));
    if mutation == Some(WriterMutation::SkipPrecondition) {
        if let Some(metadata) = object["metadata"].as_object_mut() {
            metadata.remove("resourceVersion");
        }
    }
    object
}

async fn mesh_writer(
    c: usize,
    root: &Path,
    cfg: &GatewayVerifyConfig,
    deadline: Instant,
    shared: &Shared,
) {
    let mut choices = Choices(cfg.seed ^ (c as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut client = MemberClient::new(root, c % 3 + 1);
    let mut sequence = 0;
    while Instant::now() < deadline {
        let object = choices.next(cfg.objects as u64) as usize;
        let name = object_name(object);
        let path = configmaps(LEDGER_NAMESPACE, Some(&name));
        let Ok(current) = client.call(ApiRequest::new(Verb::Get, path.clone())).await else {
            continue;
        };
        sequence += 1;
        let token = format!("m{c}-{sequence}");
        let next = appended(current, &token, cfg.mutation);
        let answer = client.call(with_body(Verb::Update, path, &next)).await;
        observe(shared, |o| match answer {
            Ok(_) => o.acknowledged.push((object, token, Instant::now())),
            Err(error) if error.code == 409 => o.conflicts += 1,
            Err(_) => o.unknown += 1,
        });
        tokio::time::sleep(Duration::from_millis(CLIENT_PAUSE_MS)).await;
    }
}

/// The same read-modify-write, over HTTPS with the real kubectl, through each member's
/// API in turn.
fn https_writer(root: &Path, cfg: &GatewayVerifyConfig, deadline: Instant, shared: &Shared) {
    let mut choices = Choices(cfg.seed ^ 0x4854_5450_5321);
    let cache = root.join("kubectl-cache");
    let body_file = root.join("https-update.json");
    let mut sequence = 0;
    while Instant::now() < deadline {
        sequence += 1;
        let member = sequence % 3 + 1;
        let kubectl = Kubectl {
            kubeconfig: root.join(format!("n{member}")).join("admin.kubeconfig"),
            cache: cache.clone(),
        };
        let object = choices.next(cfg.objects as u64) as usize;
        let name = object_name(object);
        let timeout = format!("--request-timeout={}ms", CALL_MS_MAX);
        let args = [
            "get",
            "configmap",
            &name,
            "-n",
            LEDGER_NAMESPACE,
            "-o",
            "json",
            &timeout,
        ];
        let current = match kubectl.run(&args) {
            Ok(output) if output.status.success() => output.stdout,
            _ => {
                std::thread::sleep(Duration::from_millis(RETRY_PAUSE_MS));
                continue;
            }
        };
        let Ok(current) = serde_json::from_slice::<Value>(&current) else {
            continue;
        };
        let token = format!("h-{sequence}");
        let next = appended(current, &token, cfg.mutation);
        if std::fs::write(&body_file, next.to_string()).is_err() {
            continue;
        }
        let file = body_file.to_string_lossy();
        let replaced = kubectl.run(&["replace", "-f", &file, &timeout]);
        observe(shared, |o| match replaced {
            Ok(output) if output.status.success() => {
                o.acknowledged.push((object, token, Instant::now()));
                o.over_https += 1;
            }
            Ok(output) if String::from_utf8_lossy(&output.stderr).contains("Conflict") => {
                o.conflicts += 1
            }
            _ => o.unknown += 1,
        });
    }
}

/// Creates ConfigMaps under the quota and deletes one of its own now and then, so
/// creates keep racing for the last places.
async fn quota_client(c: usize, root: &Path, seed: u64, deadline: Instant, shared: &Shared) {
    let mut choices = Choices(seed ^ (c as u64 + 7).wrapping_mul(0x9E37_79B9));
    let mut client = MemberClient::new(root, c % 3 + 2);
    let mut mine: Vec<String> = Vec::new();
    let mut sequence = 0;
    while Instant::now() < deadline {
        sequence += 1;
        if !mine.is_empty() && choices.next(3) == 0 {
            let name = mine.remove(choices.next(mine.len() as u64) as usize);
            let path = configmaps(QUOTA_NAMESPACE, Some(&name));
            let answer = client.call(ApiRequest::new(Verb::Delete, path)).await;
            observe(shared, |o| {
                o.live_creates.remove(&name);
                if answer.is_err() {
                    o.unknown += 1;
                }
            });
            continue;
        }
        let name = format!("q{c}-{sequence}");
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": QUOTA_NAMESPACE}});
        let request = with_body(Verb::Create, configmaps(QUOTA_NAMESPACE, None), &body);
        let answer = client.call(request).await;
        let refused = matches!(&answer, Err(error) if error.code == 403);
        observe(shared, |o| match answer {
            Ok(_) => {
                o.creates += 1;
                o.live_creates.insert(name.clone());
            }
            Err(error) if error.code == 403 => o.quota_refusals += 1,
            Err(_) => o.unknown += 1,
        });
        if !refused {
            mine.push(name); // acknowledged, or of unknown outcome: it may exist
        }
        tokio::time::sleep(Duration::from_millis(CLIENT_PAUSE_MS)).await;
    }
}

/// Consistent lists through the members' gateways in turn: each must hold every update
/// acknowledged before it started, and no more ConfigMaps than the quota allows.
async fn lister(root: &Path, deadline: Instant, shared: &Shared) {
    let mut clients: Vec<MemberClient> = (1..=3).map(|n| MemberClient::new(root, n)).collect();
    let mut turn = 0;
    while Instant::now() < deadline {
        turn += 1;
        let client = &mut clients[turn % 3];
        let started = Instant::now();
        let acknowledged: Vec<(usize, String)> = observe(shared, |o| {
            o.acknowledged
                .iter()
                .filter(|(_, _, at)| *at < started)
                .map(|(object, token, _)| (*object, token.clone()))
                .collect()
        });
        let list = ApiRequest::new(Verb::List, configmaps(LEDGER_NAMESPACE, None));
        if let Ok(listed) = client.call(list).await {
            let mut logs: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for item in listed["items"].as_array().into_iter().flatten() {
                let name = item["metadata"]["name"].as_str().unwrap_or("").to_string();
                logs.insert(name, tokens(item));
            }
            let revision = listed["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            observe(shared, |o| {
                o.lists += 1;
                for (object, token) in &acknowledged {
                    let name = object_name(*object);
                    let holds = logs.get(&name).is_some_and(|log| log.contains(token));
                    if !holds && o.stale_lists.len() < 20 {
                        o.stale_lists.push(format!(
                            "a list through n{} at resourceVersion {revision} lacks {token} of {name}, acknowledged before the list began",
                            turn % 3 + 1
                        ));
                    }
                }
            });
        }
        let quota_list = ApiRequest::new(Verb::List, configmaps(QUOTA_NAMESPACE, None));
        if let Ok(listed) = client.call(quota_list).await {
            let count = listed["items"].as_array().map_or(0, Vec::len);
            if count > QUOTA_CONFIGMAPS {
                observe(shared, |o| {
                    o.quota_problems.push(format!(
                        "a list shows {count} ConfigMaps under a quota of {QUOTA_CONFIGMAPS}"
                    ))
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(LIST_PAUSE_MS)).await;
    }
}

/// What one watcher saw: per object, the last resourceVersion and log it was shown, its
/// counters and the problems found as it went.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    pub latest: BTreeMap<String, (u64, Vec<String>)>,
    pub events: usize,
    pub resumes: usize,
    pub relists: usize,
    pub problems: Vec<String>,
}

/// The verifier's watchers resume forever; a short pause, since faults last seconds.
const WATCHER_LIMITS: WatcherLimits = WatcherLimits {
    resumes_max: u32::MAX,
    pause_ms_min: 100,
    pause_ms_max: 2_000,
    can_list: true,
};

/// Follows the ledger objects through member `member`'s gateway into `seen`, with the
/// shared [`Watcher`] deciding when to list, resume or relist, until aborted.
async fn watcher(root: &Path, member: usize, seen: &Mutex<Watched>) {
    let (mut watcher, mut action) = Watcher::start(WATCHER_LIMITS, None);
    let mut client = None;
    loop {
        if client.is_none() {
            client = gateway_client(root, member).await.ok();
        }
        let Some(connected) = &client else {
            tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
            continue;
        };
        action = match action {
            WatcherAction::List => {
                let list = ApiRequest::new(Verb::List, configmaps(LEDGER_NAMESPACE, None));
                match call(connected, list).await {
                    Ok(listed) => {
                        let at = listed["metadata"]["resourceVersion"]
                            .as_str()
                            .and_then(|r| r.parse().ok());
                        let mut seen = seen.lock().expect("watch lock");
                        seen.relists += 1;
                        for item in listed["items"].as_array().into_iter().flatten() {
                            let name = item["metadata"]["name"].as_str().unwrap_or("").to_string();
                            let rv = item["metadata"]["resourceVersion"]
                                .as_str()
                                .and_then(|r| r.parse().ok())
                                .unwrap_or(0);
                            seen.observe(name, rv, tokens(item), true);
                        }
                        match at {
                            Some(revision) => watcher.step(WatcherInput::Listed { revision }),
                            None => watcher.step(WatcherInput::Failed),
                        }
                    }
                    Err(_) => watcher.step(WatcherInput::Failed),
                }
            }
            WatcherAction::Watch { after } => {
                let mut request = ApiRequest::new(Verb::Watch, configmaps(LEDGER_NAMESPACE, None));
                request.list.resource_version = after.unwrap_or(0).to_string();
                request.list.allow_watch_bookmarks = true;
                let opened = tokio::time::timeout(
                    Duration::from_millis(CALL_MS_MAX),
                    connected.watch(request),
                );
                match opened.await {
                    Ok(Ok(mut stream)) => follow(&mut watcher, &mut stream, seen).await,
                    Ok(Err(error)) if error.code == 410 => {
                        watcher.step(WatcherInput::Ended(WatchEnding::Expired))
                    }
                    _ => watcher.step(WatcherInput::Failed),
                }
            }
            WatcherAction::Pause { ms } => {
                seen.lock().expect("watch lock").resumes += 1;
                client = None; // its gateway may have restarted on another port
                tokio::time::sleep(Duration::from_millis(ms)).await;
                watcher.step(WatcherInput::PauseOver)
            }
            WatcherAction::End { .. } | WatcherAction::Accept | WatcherAction::Skip => {
                unreachable!("this watcher never gives up, and follow handles deliveries")
            }
        };
    }
}

/// Follows one watch, recording what the watcher accepts, until it decides otherwise.
async fn follow(
    watcher: &mut Watcher,
    stream: &mut WatchStream,
    seen: &Mutex<Watched>,
) -> WatcherAction {
    loop {
        let message =
            tokio::time::timeout(Duration::from_millis(WATCH_SILENCE_MS_MAX), stream.recv());
        let input = match message.await {
            Err(_) => WatcherInput::Silent,
            Ok(Some(WatchMessage::Events {
                from_revision,
                revision,
                events,
            })) => {
                match watcher.step(WatcherInput::Span {
                    first: from_revision,
                    last: revision,
                }) {
                    WatcherAction::Accept => {}
                    WatcherAction::Skip => continue,
                    next => return next,
                }
                let mut seen = seen.lock().expect("watch lock");
                for event in events {
                    if event.kind == WatchEventType::Bookmark {
                        continue;
                    }
                    let object: Value =
                        serde_json::from_slice(&event.object).unwrap_or(Value::Null);
                    let name = object["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    if event.kind == WatchEventType::Modified {
                        seen.events += 1;
                        seen.check_one_more(&name, event.revision, &tokens(&object));
                    }
                    seen.observe(name, event.revision, tokens(&object), false);
                }
                continue;
            }
            Ok(Some(WatchMessage::Ended(Some(error)))) if error.code == 410 => {
                WatcherInput::Ended(WatchEnding::Expired)
            }
            Ok(Some(WatchMessage::Ended(None))) => WatcherInput::Ended(WatchEnding::Resumable),
            Ok(Some(WatchMessage::Ended(Some(_)))) | Ok(None) => WatcherInput::Failed,
        };
        return watcher.step(input);
    }
}

impl Watched {
    /// Ordered and unique: an object's resourceVersions only grow; its log only grows.
    fn observe(&mut self, name: String, revision: u64, log: Vec<String>, relisted: bool) {
        if let Some((last_revision, last_log)) = self.latest.get(&name) {
            let ordered = revision > *last_revision || (relisted && revision == *last_revision);
            if !ordered && self.problems.len() < 20 {
                self.problems.push(format!(
                    "{name} at resourceVersion {revision} after {last_revision}"
                ));
            }
            if !log.starts_with(last_log) && self.problems.len() < 20 {
                self.problems.push(format!(
                    "{name}'s log went back at resourceVersion {revision}: {last_log:?} then {log:?}"
                ));
            }
        }
        self.latest.insert(name, (revision, log));
    }

    /// No gap: a MODIFIED event adds exactly one token to what the watcher had.
    fn check_one_more(&mut self, name: &str, revision: u64, log: &[String]) {
        let Some((_, before)) = self.latest.get(name) else {
            return;
        };
        if log.len() != before.len() + 1 && self.problems.len() < 20 {
            self.problems.push(format!(
                "{name} at resourceVersion {revision} has {} tokens after {}: an update was skipped or repeated",
                log.len(),
                before.len()
            ));
        }
    }
}

fn check_watch(
    member: usize,
    seen: &Watched,
    finals: &BTreeMap<String, Vec<String>>,
    report: &mut GatewayVerifyReport,
) {
    report.watch_events += seen.events;
    report.watch_resumes += seen.resumes;
    report.watch_relists += seen.relists;
    for problem in &seen.problems {
        report
            .watch_problems
            .push(format!("watch through n{member}: {problem}"));
    }
    for (name, log) in finals {
        let had = seen.latest.get(name).map(|(_, seen)| seen);
        if had != Some(log) {
            let had = had.map_or(0, Vec::len);
            report.watch_problems.push(format!(
                "watch through n{member} never caught up with {name}: {had} of {} tokens",
                log.len()
            ));
        }
    }
}

fn check(
    observed: &Observed,
    finals: &BTreeMap<String, Vec<String>>,
    quota_final: &Value,
    report: &mut GatewayVerifyReport,
) {
    report.updates_acknowledged = observed.acknowledged.len();
    report.updates_over_https = observed.over_https;
    report.conflicts = observed.conflicts;
    report.outcomes_unknown = observed.unknown;
    report.creates_acknowledged = observed.creates;
    report.quota_refusals = observed.quota_refusals;
    report.lists = observed.lists;
    report.stale_lists = observed.stale_lists.clone();
    report.quota_problems = observed.quota_problems.clone();
    for (object, token, _) in &observed.acknowledged {
        let name = object_name(*object);
        let log = finals.get(&name).map(Vec::as_slice).unwrap_or(&[]);
        if !log.contains(token) {
            report.lost_updates.push(format!(
                "{token} was acknowledged but is not in {name}'s history"
            ));
        }
    }
    for (name, log) in finals {
        let distinct: BTreeSet<&String> = log.iter().collect();
        if distinct.len() != log.len() {
            report
                .lost_updates
                .push(format!("{name}'s history holds an update twice"));
        }
    }
    let names: BTreeSet<&str> = quota_final["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["metadata"]["name"].as_str())
        .collect();
    if names.len() > QUOTA_CONFIGMAPS {
        report.quota_problems.push(format!(
            "{} ConfigMaps at the end under a quota of {QUOTA_CONFIGMAPS}",
            names.len()
        ));
    }
    for name in &observed.live_creates {
        if !names.contains(name.as_str()) {
            report
                .quota_problems
                .push(format!("the acknowledged create of {name} was lost"));
        }
    }
    if report.updates_acknowledged == 0 {
        report
            .lost_updates
            .push("no update was acknowledged: the run checked nothing".into());
    }
}
