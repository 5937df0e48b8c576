//! `kactor verify`: checks of the running system under faults (Jepsen-style).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use kactor_verify::gateway_verify::{self, GatewayVerifyConfig};
use kactor_verify::store_verify::{self, Fault, VerifyConfig};

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// What to verify: `store` (linearizability and watch guarantees under faults), or
    /// `gateway` (no lost update, quotas, watches and lists through the gateways' caches,
    /// with clients over the mesh and over HTTPS).
    target: String,
    /// Seconds of load and faults.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Faults to inject, comma-separated: kill (SIGKILL, then restart), pause (SIGSTOP,
    /// then SIGCONT), partition (one member cut off from the others). Empty: none.
    #[arg(long, default_value = "kill,pause,partition")]
    nemesis: String,
    /// Concurrent clients (for `gateway`, the writers over the mesh).
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Keys (for `gateway`, the ConfigMaps read, modified and written).
    #[arg(long, default_value_t = 4)]
    keys: usize,
    /// Seed of the clients' and the nemesis's choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the members' data dirs live.
    #[arg(long, default_value = "/var/tmp")]
    data_dir: PathBuf,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let faults = args
        .nemesis
        .split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| match f.trim() {
            "kill" => Ok(Fault::Kill),
            "pause" => Ok(Fault::Pause),
            "partition" => Ok(Fault::Partition),
            other => bail!("unknown fault {other:?}; known: kill, pause, partition"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let passed = match args.target.as_str() {
        "store" => {
            let cfg = VerifyConfig {
                binary: std::env::current_exe()?,
                data_dir: args.data_dir,
                duration: Duration::from_secs(args.duration),
                faults,
                clients: args.clients.max(1),
                keys: args.keys.max(1),
                seed: args.seed,
            };
            let report = runtime.block_on(store_verify::run(&cfg))?;
            report.print();
            report.passed()
        }
        "gateway" => {
            let cfg = GatewayVerifyConfig {
                binary: std::env::current_exe()?,
                data_dir: args.data_dir,
                duration: Duration::from_secs(args.duration),
                faults,
                writers: args.clients.max(1),
                objects: args.keys.max(1),
                seed: args.seed,
                mutation: None,
            };
            let report = runtime.block_on(gateway_verify::run(&cfg))?;
            report.print();
            report.passed()
        }
        other => bail!("unknown verify target {other:?}; known: store, gateway"),
    };
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
