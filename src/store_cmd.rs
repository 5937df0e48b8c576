//! `kactor store`: operator commands against the store of a running server, in the
//! spirit of etcdctl.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use kactor_actors::raft::{ClientReply, ClientRequest, MembershipChange, Role};
use kactor_actors::store::{
    Compare, CompareResult, CompareTarget, DeleteRequest, EventKind, KeySpan, KeyValue, LeaseId,
    LocalReply, LocalRequest, Mvcc, PutRequest, RangeRequest, RangeResponse,
    StoreCommand as Command, StoreOutput, StoreQuery, TxnOp, TxnOpResponse, TxnRequest,
};
use kactor_transport::pki::{node_id_from_name, ClusterCa, NodeIdentity};
use kactor_transport::store_client::{StoreClient, WatchItem};
use serde::{Deserialize, Serialize};

use crate::server::{admin_dir, info_path, ServerInfo};

#[derive(clap::Args)]
pub struct StoreArgs {
    /// The data dir of a local server (for its address and admin certificate).
    #[arg(long)]
    data_dir: PathBuf,
    /// Talk to this member address instead of the data dir's server.
    #[arg(long)]
    endpoint: Option<SocketAddr>,
    #[command(subcommand)]
    command: StoreCommand,
}

/// Which keys a command names: `KEY`, or with `--prefix` every key starting with it, or
/// with `--from-key` every key from it on.
#[derive(clap::Args)]
struct Keys {
    key: String,
    #[arg(long, conflicts_with = "from_key")]
    prefix: bool,
    #[arg(long)]
    from_key: bool,
}

impl Keys {
    fn span(&self) -> KeySpan {
        let key = self.key.as_bytes().to_vec();
        match (self.prefix, self.from_key) {
            (true, _) => KeySpan::Prefix(key),
            (_, true) => KeySpan::From(key),
            _ => KeySpan::Key(key),
        }
    }
    fn single(&self) -> bool {
        !self.prefix && !self.from_key
    }
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Members, leader, term and commit index, as each member sees them.
    Status,
    Put {
        key: String,
        value: String,
        /// Attach the key to this lease (hex id, as `lease grant` prints it).
        #[arg(long, value_parser = parse_lease)]
        lease: Option<LeaseId>,
        /// Print the value the put replaced.
        #[arg(long)]
        prev_kv: bool,
    },
    /// Prints the value of KEY, or `key=value` lines for a prefix or interval.
    Get {
        #[command(flatten)]
        keys: Keys,
        /// Read as of this revision.
        #[arg(long, default_value_t = 0)]
        rev: u64,
        #[arg(long, default_value_t = 0)]
        limit: u64,
        #[arg(long)]
        keys_only: bool,
        #[arg(long)]
        count_only: bool,
        /// Read the contacted member's state without a Raft round (may be stale).
        #[arg(long)]
        serializable: bool,
    },
    Del {
        #[command(flatten)]
        keys: Keys,
        #[arg(long)]
        prev_kv: bool,
    },
    /// Prints events as they happen: `PUT key value` or `DELETE key`, with revisions.
    Watch {
        #[command(flatten)]
        keys: Keys,
        /// Start from this revision (default: changes from now on).
        #[arg(long, default_value_t = 0)]
        rev: u64,
        #[arg(long)]
        prev_kv: bool,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// A transaction: if every `--if` holds, run the `--then` operations, else the
    /// `--else` ones. Comparisons: `value(K) = V`, `version(K) > N`, `create(K) = N`,
    /// `mod(K) < N`, `lease(K) != ID` with `=`, `!=`, `>`, `<`. Operations: `put K V`,
    /// `get K`, `del K`.
    Txn {
        #[arg(long = "if")]
        compare: Vec<String>,
        #[arg(long = "then")]
        success: Vec<String>,
        #[arg(long = "else")]
        failure: Vec<String>,
    },
    /// Forget the history before a revision.
    Compact { revision: u64 },
    Lease {
        #[command(subcommand)]
        command: LeaseCommand,
    },
    /// Save a member's applied keyspace to a file, or describe a saved one.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
    /// List members, or add or remove one voter.
    Members {
        #[command(subcommand)]
        change: Option<MembersCommand>,
    },
    /// Hand leadership to another member.
    TransferLeader { name: String },
}

#[derive(Subcommand)]
enum LeaseCommand {
    Grant {
        ttl_s: u64,
    },
    Revoke {
        #[arg(value_parser = parse_lease)]
        id: LeaseId,
    },
    /// Keep a lease alive (until interrupted, or once).
    KeepAlive {
        #[arg(value_parser = parse_lease)]
        id: LeaseId,
        #[arg(long)]
        once: bool,
    },
    /// The lease's granted and remaining TTL.
    Ttl {
        #[arg(value_parser = parse_lease)]
        id: LeaseId,
    },
    List,
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Writes the contacted member's keyspace (every kept version, leases) to FILE,
    /// durably (written beside it, fsynced, then renamed).
    Save { file: PathBuf },
    /// Revision, keys and size of a saved snapshot.
    Status { file: PathBuf },
}

/// What `snapshot save` writes: bincode through the one codec.
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    /// Bumped when the layout changes.
    format: u32,
    applied: u64,
    keyspace: Mvcc,
}

const SNAPSHOT_FORMAT: u32 = 1;

#[derive(Subcommand)]
enum MembersCommand {
    Add { name: String, address: SocketAddr },
    Remove { name: String },
}

fn parse_lease(text: &str) -> Result<LeaseId, String> {
    LeaseId::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|e| format!("a lease id is hexadecimal: {e}"))
}

pub fn run(args: StoreArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: StoreArgs) -> anyhow::Result<ExitCode> {
    let info: ServerInfo = serde_json::from_slice(
        &std::fs::read(info_path(&args.data_dir))
            .context("reading server.json (is a server using this data dir?)")?,
    )?;
    let identity = client_identity(&args.data_dir, &info)?;
    let address = args.endpoint.unwrap_or(info.listen);
    let client = StoreClient::connect(identity, info.id, address).await?;
    match args.command {
        StoreCommand::Status | StoreCommand::Members { change: None } => status(&client).await,
        StoreCommand::Put {
            key,
            value,
            lease,
            prev_kv,
        } => {
            let put = PutRequest {
                key: key.into_bytes(),
                value: value.into_bytes(),
                lease: lease.unwrap_or(0),
                prev_kv,
            };
            print_output(client.command(Command::Put(put)).await?)
        }
        StoreCommand::Get {
            keys,
            rev,
            limit,
            keys_only,
            count_only,
            serializable,
        } => {
            let range = RangeRequest {
                span: keys.span(),
                revision: rev,
                limit,
                count_only,
                keys_only,
            };
            let output = match serializable {
                true => match client.local(info.id, LocalRequest::Range(range)).await? {
                    LocalReply::Range(response) => StoreOutput::Range(response),
                    LocalReply::Error(error) => StoreOutput::Error(error),
                    other => bail!("unexpected reply: {other:?}"),
                },
                false => client.read(StoreQuery::Range(range)).await?,
            };
            match output {
                StoreOutput::Range(response) => print_range(&response, keys.single(), count_only),
                other => print_output(other),
            }
        }
        StoreCommand::Del { keys, prev_kv } => {
            let delete = DeleteRequest {
                span: keys.span(),
                prev_kv,
            };
            print_output(client.command(Command::Delete(delete)).await?)
        }
        StoreCommand::Watch {
            keys,
            rev,
            prev_kv,
            count,
        } => watch(&client, keys.span(), rev, prev_kv, count).await,
        StoreCommand::Txn {
            compare,
            success,
            failure,
        } => {
            let txn = TxnRequest {
                compare: compare
                    .iter()
                    .map(|c| parse_compare(c))
                    .collect::<Result<_, _>>()?,
                success: success
                    .iter()
                    .map(|o| parse_op(o))
                    .collect::<Result<_, _>>()?,
                failure: failure
                    .iter()
                    .map(|o| parse_op(o))
                    .collect::<Result<_, _>>()?,
            };
            print_output(client.command(Command::Txn(txn)).await?)
        }
        StoreCommand::Compact { revision } => {
            print_output(client.command(Command::Compact { revision }).await?)
        }
        StoreCommand::Lease { command } => lease(&client, command).await,
        StoreCommand::Snapshot {
            command: SnapshotCommand::Save { file },
        } => match client.local(info.id, LocalRequest::Snapshot).await? {
            LocalReply::Snapshot { applied, keyspace } => save_snapshot(&file, applied, *keyspace),
            other => bail!("unexpected reply: {other:?}"),
        },
        StoreCommand::Snapshot {
            command: SnapshotCommand::Status { file },
        } => snapshot_status(&file),
        StoreCommand::Members {
            change: Some(change),
        } => {
            let change = match change {
                MembersCommand::Add { name, address } => MembershipChange::AddVoter {
                    id: node_id_from_name(&name),
                    address: address.to_string(),
                },
                MembersCommand::Remove { name } => MembershipChange::RemoveVoter {
                    id: node_id_from_name(&name),
                },
            };
            let reply = client
                .raft()
                .request(ClientRequest::ChangeMembership(change));
            print_reply(reply.await?)
        }
        StoreCommand::TransferLeader { name } => {
            let target = node_id_from_name(&name);
            let reply = client
                .raft()
                .request(ClientRequest::TransferLeadership { target });
            print_reply(reply.await?)
        }
    }
}

/// A certificate of this process's own: the mesh routes replies by certificate identity,
/// so two `kactor store` processes (a watch and a put, say) must not share one. Issued from
/// the cluster CA when this user can read it; otherwise the server's admin certificate.
fn client_identity(data_dir: &Path, info: &ServerInfo) -> anyhow::Result<NodeIdentity> {
    let ca = info.ca_dir.as_deref().map(ClusterCa::load);
    if let Some(Ok(ca)) = ca {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("admin@{}/{}-{nanos}", info.name, std::process::id());
        return crate::server::issue_admin(&ca, &name);
    }
    tracing::warn!("cannot read the cluster CA: using the shared admin certificate");
    NodeIdentity::load(&admin_dir(data_dir)).context("loading the admin certificate")
}

fn save_snapshot(file: &Path, applied: u64, keyspace: Mvcc) -> anyhow::Result<ExitCode> {
    let revision = keyspace.revision;
    let snapshot = SnapshotFile {
        format: SNAPSHOT_FORMAT,
        applied,
        keyspace,
    };
    let bytes = kactor_transport::codec::encode(&snapshot)?;
    let partial = file.with_extension("part");
    {
        let mut out = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        std::io::Write::write_all(&mut out, &bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&partial, file)?;
    println!(
        "Snapshot saved at {} (revision {revision}, Raft index {applied}, {} bytes)",
        file.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn snapshot_status(file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let snapshot: SnapshotFile =
        kactor_transport::codec::decode(&bytes).context("not a kactor snapshot")?;
    if snapshot.format != SNAPSHOT_FORMAT {
        bail!(
            "snapshot format {} is not {SNAPSHOT_FORMAT}",
            snapshot.format
        );
    }
    let mvcc = &snapshot.keyspace;
    let live = mvcc
        .histories
        .keys()
        .filter(|k| mvcc.get(k).is_some())
        .count();
    let versions: usize = mvcc.histories.values().map(Vec::len).sum();
    println!(
        "revision={} compact_revision={} raft_index={} keys={live} versions={versions} leases={} bytes={}",
        mvcc.revision,
        mvcc.compact_revision,
        snapshot.applied,
        mvcc.leases.len(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

async fn watch(
    client: &StoreClient,
    span: KeySpan,
    rev: u64,
    prev_kv: bool,
    count: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let mut items = client.watch(span, rev, prev_kv);
    let mut seen = 0u64;
    while let Some(item) = items.recv().await {
        match item {
            WatchItem::Events { events, .. } => {
                for event in events {
                    let key = String::from_utf8_lossy(&event.kv.key);
                    let revision = event.kv.mod_revision;
                    if let Some(prev) = &event.prev_kv {
                        println!("PREV {key} {}", String::from_utf8_lossy(&prev.value));
                    }
                    match event.kind {
                        EventKind::Put => {
                            let value = String::from_utf8_lossy(&event.kv.value);
                            println!("PUT {key} {value} revision={revision}")
                        }
                        EventKind::Delete => println!("DELETE {key} revision={revision}"),
                    }
                    seen += 1;
                    if count.is_some_and(|c| seen >= c) {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            }
            WatchItem::Progress { .. } => {}
            WatchItem::Ended(reason) => bail!("watch ended: {reason}"),
        }
    }
    bail!("watch ended")
}

async fn lease(client: &StoreClient, command: LeaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        LeaseCommand::Grant { ttl_s } => {
            print_output(client.command(Command::LeaseGrant { id: 0, ttl_s }).await?)
        }
        LeaseCommand::Revoke { id } => {
            print_output(client.command(Command::LeaseRevoke { id }).await?)
        }
        LeaseCommand::Ttl { id } => print_local(
            client
                .leader_local(LocalRequest::LeaseTimeToLive { id })
                .await?,
        ),
        LeaseCommand::List => print_output(client.read(StoreQuery::Leases).await?),
        LeaseCommand::KeepAlive { id, once } => loop {
            let reply = client
                .leader_local(LocalRequest::LeaseKeepAlive { id })
                .await?;
            let granted_ttl_s = match &reply {
                LocalReply::Lease { granted_ttl_s, .. } => *granted_ttl_s,
                _ => return print_local(reply),
            };
            println!("lease {id:x} keepalived with TTL({granted_ttl_s})");
            if once {
                return Ok(ExitCode::SUCCESS);
            }
            // etcd's clients renew at a third of the TTL.
            tokio::time::sleep(Duration::from_millis(granted_ttl_s * 1000 / 3)).await;
        },
    }
}

async fn status(client: &StoreClient) -> anyhow::Result<ExitCode> {
    println!(
        "{:<20} {:<22} {:<12} {:>6} {:>8} {:>8} {:>8} {:>8}  LEADER",
        "ID", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "LAST", "SNAPSHOT"
    );
    let mut reachable = 0;
    for (id, addr) in client.raft().servers() {
        match client.raft().status(id).await {
            Ok(s) => {
                reachable += 1;
                let role = match s.role {
                    Role::Leader => "leader",
                    Role::Follower => "follower",
                    Role::Candidate => "candidate",
                    Role::PreCandidate => "precandidate",
                };
                let leader = s.leader.map_or("-".to_string(), |l| l.to_string());
                println!(
                    "{:<20} {:<22} {:<12} {:>6} {:>8} {:>8} {:>8} {:>8}  {leader}",
                    id, addr, role, s.term, s.commit, s.applied, s.last.index, s.snapshot.index
                );
            }
            Err(e) => println!("{:<20} {:<22} unreachable: {e}", id, addr),
        }
    }
    if reachable == 0 {
        bail!("no member answered");
    }
    Ok(ExitCode::SUCCESS)
}

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn print_kv(kv: &KeyValue) {
    println!("{}={}", text(&kv.key), text(&kv.value));
}

fn print_range(
    response: &RangeResponse,
    single: bool,
    count_only: bool,
) -> anyhow::Result<ExitCode> {
    if count_only {
        println!("{}", response.count);
        return Ok(ExitCode::SUCCESS);
    }
    match (single, response.kvs.first()) {
        (true, Some(kv)) => println!("{}", text(&kv.value)),
        (true, None) => {
            eprintln!("not found");
            return Ok(ExitCode::from(1));
        }
        (false, _) => response.kvs.iter().for_each(print_kv),
    }
    if response.more {
        eprintln!("(more keys: {} in all)", response.count);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_output(output: StoreOutput) -> anyhow::Result<ExitCode> {
    match output {
        StoreOutput::Put { revision, prev_kv } => {
            prev_kv.iter().for_each(print_kv);
            println!("OK revision={revision}");
        }
        StoreOutput::Delete {
            revision,
            deleted,
            prev_kvs,
        } => {
            prev_kvs.iter().for_each(print_kv);
            println!("deleted={deleted} revision={revision}");
        }
        StoreOutput::Txn {
            revision,
            succeeded,
            responses,
        } => {
            println!(
                "{} revision={revision}",
                if succeeded { "SUCCESS" } else { "FAILURE" }
            );
            for response in responses {
                match response {
                    TxnOpResponse::Range(range) => range.kvs.iter().for_each(print_kv),
                    TxnOpResponse::Put { .. } => println!("OK"),
                    TxnOpResponse::Delete { deleted, .. } => println!("deleted={deleted}"),
                }
            }
        }
        StoreOutput::Range(range) => range.kvs.iter().for_each(print_kv),
        StoreOutput::Compacted { revision } => println!("compacted revision {revision}"),
        StoreOutput::LeaseGranted { id, ttl_s } => {
            println!("lease {id:x} granted with TTL({ttl_s}s)")
        }
        StoreOutput::LeaseRevoked { revision } => println!("lease revoked revision={revision}"),
        StoreOutput::Leases(leases) => {
            for lease in leases {
                println!("{:x} ttl={}s keys={}", lease.id, lease.ttl_s, lease.keys);
            }
        }
        StoreOutput::Header {
            revision,
            compact_revision,
        } => println!("revision={revision} compact_revision={compact_revision}"),
        StoreOutput::Error(error) => bail!("{error}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_local(reply: LocalReply) -> anyhow::Result<ExitCode> {
    match reply {
        LocalReply::Lease {
            id,
            granted_ttl_s,
            remaining_ttl_s,
            keys,
        } => println!(
            "lease {id:x} granted with TTL({granted_ttl_s}s), remaining({remaining_ttl_s}s), keys {keys}"
        ),
        LocalReply::Range(range) => range.kvs.iter().for_each(print_kv),
        LocalReply::Error(error) => bail!("{error}"),
        LocalReply::NotLeader { leader } => bail!("not the leader (leader: {leader:?})"),
        LocalReply::Snapshot { applied, .. } => println!("snapshot at raft index {applied}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_reply(reply: ClientReply<kactor_actors::store::Mvcc>) -> anyhow::Result<ExitCode> {
    match reply {
        ClientReply::Output(output) => return print_output(output),
        ClientReply::Done { index } => println!("OK index={index}"),
        ClientReply::Status(status) => println!("{status:?}"),
        ClientReply::Refused(refusal) => bail!("refused: {refusal:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `value(K) = V`, `version(K) > N`, `create(K) = N`, `mod(K) < N`, `lease(K) != ID`.
fn parse_compare(text: &str) -> anyhow::Result<Compare> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [target, op, operand] = parts.as_slice() else {
        bail!("comparison {text:?} is not `TARGET(KEY) OP OPERAND`");
    };
    let Some((kind, key)) = target.strip_suffix(')').and_then(|t| t.split_once('(')) else {
        bail!("comparison target {target:?} is not `KIND(KEY)`");
    };
    let result = match *op {
        "=" | "==" => CompareResult::Equal,
        "!=" => CompareResult::NotEqual,
        ">" => CompareResult::Greater,
        "<" => CompareResult::Less,
        other => bail!("comparison operator {other:?} is not one of = != > <"),
    };
    let number = || {
        operand
            .parse::<u64>()
            .with_context(|| format!("{operand:?} is not a number"))
    };
    let target = match kind {
        "value" => CompareTarget::Value(operand.trim_matches('"').as_bytes().to_vec()),
        "version" => CompareTarget::Version(number()?),
        "create" => CompareTarget::CreateRevision(number()?),
        "mod" => CompareTarget::ModRevision(number()?),
        "lease" => CompareTarget::Lease(parse_lease(operand).map_err(anyhow::Error::msg)?),
        other => bail!("comparison kind {other:?} is not value, version, create, mod or lease"),
    };
    Ok(Compare {
        key: key.as_bytes().to_vec(),
        result,
        target,
    })
}

/// `put K V`, `get K`, `del K`.
fn parse_op(text: &str) -> anyhow::Result<TxnOp> {
    let parts: Vec<&str> = text.splitn(3, ' ').collect();
    let key = |k: &str| k.as_bytes().to_vec();
    Ok(match parts.as_slice() {
        ["put", k, v] => TxnOp::Put(PutRequest {
            key: key(k),
            value: v.as_bytes().to_vec(),
            lease: 0,
            prev_kv: false,
        }),
        ["get", k] => TxnOp::Range(RangeRequest::latest(KeySpan::Key(key(k)))),
        ["del", k] => TxnOp::Delete(DeleteRequest {
            span: KeySpan::Key(key(k)),
            prev_kv: false,
        }),
        _ => bail!("operation {text:?} is not `put K V`, `get K` or `del K`"),
    })
}
