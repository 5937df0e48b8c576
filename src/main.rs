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

/// jemalloc, not glibc's malloc: the gateway builds and drops many small JSON values per
/// request, and glibc's free lists took half the server's CPU listing pods. Measured in
/// docs/benchmarks.md ("The allocator").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: freed pages go back to the OS after 30 s, not
/// 10 s, and from a background thread, so a list of 10,000 pods every few seconds reuses
/// its pages instead of faulting them in afresh (its p99 was 1.3x glibc's with the
/// defaults). `_RJEM_MALLOC_CONF` in the environment still overrides these.
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_CONF: Option<&'static std::ffi::c_char> = Some(unsafe {
    // SAFETY: a NUL-terminated literal lives for the whole program.
    &*c"background_thread:true,dirty_decay_ms:30000,muzzy_decay_ms:30000".as_ptr()
});

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
