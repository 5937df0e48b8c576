//! `kactor check`: run the model checks.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use kactor_actors::gateway::Gateway;
use kactor_actors::store::Store;
use kactor_model::check::{CheckOptions, CheckReport, Strategy, Verdict};
use kactor_model::gateway::{self as gateway_model, GatewayModelCfg, Scenario};
use kactor_model::raft::{self, CellRaft, RaftModelCfg};
use kactor_model::store::{self as store_model, StoreModelCfg};
use stateright::Model;

/// Every model `kactor check` knows.
pub const MODELS: &[&str] = &[
    "raft",
    "store",
    "gateway-lost-update",
    "gateway-quota",
    "gateway-fresh-list",
    "gateway-identity",
];

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Models to check (default: all).
    models: Vec<String>,
    #[arg(long)]
    all: bool,
    /// Print one JSON report per model instead of tables.
    #[arg(long)]
    json: bool,
    /// Seconds per model, split between exhaustive search and random walks.
    #[arg(long, default_value_t = 60)]
    budget: u64,
    /// Serve the stateright Explorer for the (first) model at this address instead.
    #[arg(long)]
    explore: Option<String>,
    /// Seed of the random walks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// bfs, dfs, sim, or both (dfs then sim).
    #[arg(long, default_value = "both")]
    strategy: String,
    /// Depth bound of exhaustive search.
    #[arg(long, default_value_t = 30)]
    depth: usize,
    /// Stop exhaustive search after this many unique states (BFS keeps its frontier in
    /// memory: about 10 GiB per few million states of the Raft model).
    #[arg(long)]
    states_max: Option<usize>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let models: Vec<String> = if args.all || args.models.is_empty() {
        MODELS.iter().map(|m| m.to_string()).collect()
    } else {
        // `gateway` names all of its scenarios.
        args.models
            .iter()
            .flat_map(|m| match m.as_str() {
                "gateway" => Scenario::ALL.iter().map(|s| s.name().to_string()).collect(),
                _ => vec![m.clone()],
            })
            .collect()
    };
    if let Some(address) = &args.explore {
        let name = models.first().map_or("raft", String::as_str);
        eprintln!("serving the stateright Explorer for {name} on http://{address}");
        let _checker = match name {
            "store" => {
                let model = StoreModelCfg::default().into_model::<Store>();
                let _keep = model.checker().threads(1).serve(address.as_str());
                loop {
                    std::thread::park();
                }
            }
            _ => RaftModelCfg::default()
                .into_model::<CellRaft>()
                .checker()
                .threads(1)
                .serve(address.as_str()),
        };
        // The Explorer serves from its own thread; this process only has to stay up.
        loop {
            std::thread::park();
        }
    }
    let mut passed = true;
    for name in &models {
        if !MODELS.contains(&name.as_str()) {
            bail!("unknown model {name:?}; known: {}", MODELS.join(", "));
        }
        let reports = check_model(name, &args)?;
        for report in &reports {
            match args.json {
                true => println!("{}", serde_json::to_string(report)?),
                false => report.print_table(),
            }
        }
        let verdict = combined_verdict(&reports);
        if !args.json {
            println!("{name}: {}", if verdict { "passed" } else { "FAILED" });
        }
        passed &= verdict;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A model passes when no search violated a safety property and every non-vacuity
/// property was reached by some search (exhaustive search to a depth bound may stop short
/// of a committed write that a random walk reaches).
fn combined_verdict(reports: &[CheckReport]) -> bool {
    let Some(first) = reports.first() else {
        return false;
    };
    first.properties.iter().all(|p| {
        let verdicts: Vec<&Verdict> = reports
            .iter()
            .map(|r| &r.property(p.name).verdict)
            .collect();
        let violated = verdicts.iter().any(|v| **v == Verdict::Violated);
        let unreached = verdicts.iter().all(|v| **v == Verdict::NotReached);
        !violated && !unreached
    })
}

fn check_model(name: &str, args: &CheckArgs) -> anyhow::Result<Vec<CheckReport>> {
    let strategies = match args.strategy.as_str() {
        "bfs" => vec![Strategy::Bfs],
        "dfs" => vec![Strategy::Dfs],
        "sim" => vec![Strategy::Simulation { seed: args.seed }],
        "both" => vec![Strategy::Dfs, Strategy::Simulation { seed: args.seed }],
        other => bail!("unknown strategy {other:?}"),
    };
    let share = Duration::from_secs(args.budget) / strategies.len() as u32;
    Ok(strategies
        .into_iter()
        .map(|strategy| {
            let options = CheckOptions {
                strategy,
                budget: share,
                depth_max: (strategy != Strategy::Simulation { seed: args.seed })
                    .then_some(args.depth),
                target_states: args.states_max,
                ..CheckOptions::default()
            };
            eprintln!("checking {name} ({strategy:?}, {} s)", share.as_secs());
            let scenario = Scenario::ALL.into_iter().find(|s| s.name() == name);
            match name {
                "store" => store_model::check::<Store>(StoreModelCfg::default(), &options),
                _ if scenario.is_some() => {
                    let scenario = scenario.expect("matched");
                    gateway_model::check::<Gateway>(GatewayModelCfg { scenario }, &options)
                }
                _ => raft::check::<CellRaft>(RaftModelCfg::default(), &options),
            }
        })
        .collect())
}
