//! `kactor store`: operator commands against the store of a running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::Subcommand;
use kactor_actors::kv::{KvCommand, KvMap, KvOutput, KvQuery};
use kactor_actors::raft::{ClientReply, ClientRequest, MembershipChange, Role};
use kactor_transport::client::RaftClient;
use kactor_transport::pki::{node_id_from_name, NodeIdentity};

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

#[derive(Subcommand)]
enum StoreCommand {
    /// Members, leader, term and commit index, as each member sees them.
    Status,
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
        /// Every key with this prefix.
        #[arg(long)]
        prefix: bool,
    },
    Del {
        key: String,
    },
    /// List members, or add or remove one voter.
    Members {
        #[command(subcommand)]
        change: Option<MembersCommand>,
    },
    /// Hand leadership to another member.
    TransferLeader {
        name: String,
    },
}

#[derive(Subcommand)]
enum MembersCommand {
    Add { name: String, address: SocketAddr },
    Remove { name: String },
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
    let identity =
        NodeIdentity::load(&admin_dir(&args.data_dir)).context("loading the admin certificate")?;
    let address = args.endpoint.unwrap_or(info.listen);
    let client = RaftClient::<KvMap>::connect(identity, info.id, address).await?;
    if let Ok(status) = client.status(info.id).await {
        client.remember(&status);
    }
    match args.command {
        StoreCommand::Status => status(&client).await,
        StoreCommand::Put { key, value } => {
            let command = KvCommand::Put {
                key,
                value: value.into_bytes(),
            };
            print_reply(client.request(ClientRequest::Command(command)).await?)
        }
        StoreCommand::Del { key } => print_reply(
            client
                .request(ClientRequest::Command(KvCommand::Delete { key }))
                .await?,
        ),
        StoreCommand::Get { key, prefix } => {
            let query = match prefix {
                true => KvQuery::Prefix {
                    prefix: key,
                    limit: u32::MAX,
                },
                false => KvQuery::Get { key },
            };
            print_reply(client.request(ClientRequest::Read(query)).await?)
        }
        StoreCommand::Members { change: None } => status(&client).await,
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
            print_reply(
                client
                    .request(ClientRequest::ChangeMembership(change))
                    .await?,
            )
        }
        StoreCommand::TransferLeader { name } => {
            let target = node_id_from_name(&name);
            print_reply(
                client
                    .request(ClientRequest::TransferLeadership { target })
                    .await?,
            )
        }
    }
}

async fn status(client: &RaftClient<KvMap>) -> anyhow::Result<ExitCode> {
    println!(
        "{:<20} {:<22} {:<12} {:>6} {:>8} {:>8} {:>8} {:>8}  LEADER",
        "ID", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "LAST", "SNAPSHOT"
    );
    let mut reachable = 0;
    for (id, addr) in client.servers() {
        match client.status(id).await {
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

fn print_reply(reply: ClientReply<KvMap>) -> anyhow::Result<ExitCode> {
    match reply {
        ClientReply::Output(KvOutput::Applied { revision, .. }) => {
            println!("OK revision={revision}")
        }
        ClientReply::Output(KvOutput::Value(Some(value))) => {
            println!("{}", String::from_utf8_lossy(&value))
        }
        ClientReply::Output(KvOutput::Value(None)) => {
            eprintln!("not found");
            return Ok(ExitCode::from(1));
        }
        ClientReply::Output(KvOutput::Entries(entries)) => {
            for (key, value) in entries {
                println!("{key}={}", String::from_utf8_lossy(&value));
            }
        }
        ClientReply::Done { index } => println!("OK index={index}"),
        ClientReply::Status(status) => println!("{status:?}"),
        ClientReply::Refused(refusal) => bail!("refused: {refusal:?}"),
    }
    Ok(ExitCode::SUCCESS)
}
