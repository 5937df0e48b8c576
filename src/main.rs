//! `kactor`: the one binary. Subcommands are thin: they parse flags and hand over to the
//! library crates (`kactor-transport` hosts actors, `kactor-model` checks them).

mod api;
mod bench_cmd;
mod check_cmd;
mod gateway;
mod server;
mod store_cmd;
mod verify_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kactor",
    version,
    about = "A Kubernetes-style orchestrator of model-checked actors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server: the replicated store (and, later, the control plane).
    Server(server::ServerArgs),
    /// Operate the store of a running server.
    Store(store_cmd::StoreArgs),
    /// Model-check the actors.
    Check(check_cmd::CheckArgs),
    /// Measure a real cluster.
    Bench(bench_cmd::BenchArgs),
    /// Check a real cluster's history under faults.
    Verify(verify_cmd::VerifyArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Model checks run the actors millions of times, down paths where warnings are the
    // point (a store that does not answer): their events would drown the report and slow
    // the search, so the actors are silent there unless KACTOR_LOG asks.
    let default_level = match cli.command {
        Command::Check(_) => "warn,kactor_actors=off",
        Command::Verify(_) => "warn",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KACTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Server(args) => server::run(args),
        Command::Store(args) => store_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
