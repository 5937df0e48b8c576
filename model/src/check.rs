//! Runs a model under a time budget and reports, per property, whether it held.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

use serde::Serialize;
use stateright::{Checker, CheckerBuilder, Expectation, Model};

/// How to explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Breadth first: shortest counterexamples, shallow coverage.
    Bfs,
    /// Depth first: deep paths with bounded memory.
    Dfs,
    /// Random walks from a seed: reaches far deeper than exhaustive search.
    Simulation { seed: u64 },
}

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub strategy: Strategy,
    pub budget: Duration,
    pub threads: usize,
    /// Stop once this many unique states were seen (`None`: only the budget stops it).
    pub target_states: Option<usize>,
    /// Explore no deeper than this.
    pub depth_max: Option<usize>,
    /// Print progress to stderr every few seconds.
    pub progress: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Bfs,
            budget: Duration::from_secs(60),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            target_states: None,
            depth_max: None,
            progress: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// An `Always` property with no counterexample in what was explored.
    Held,
    /// An `Always` property with a counterexample (the trace is attached).
    Violated,
    /// A `Sometimes` property with an example found.
    Reached,
    /// A `Sometimes` property never seen: the model may be vacuous.
    NotReached,
}

#[derive(Clone, Debug, Serialize)]
pub struct PropertyReport {
    pub name: &'static str,
    pub verdict: Verdict,
    /// The counterexample (or example), one action per line.
    pub trace: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub model: String,
    pub strategy: Strategy,
    pub states: usize,
    pub unique_states: usize,
    pub depth_reached: usize,
    pub seconds: f64,
    /// Whether the whole (bounded) state space was explored.
    pub complete: bool,
    pub properties: Vec<PropertyReport>,
}

impl CheckReport {
    pub fn property(&self, name: &str) -> &PropertyReport {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no property named {name:?}"))
    }

    /// True when every `Always` held and every `Sometimes` was reached.
    pub fn passed(&self) -> bool {
        self.properties
            .iter()
            .all(|p| matches!(p.verdict, Verdict::Held | Verdict::Reached))
    }

    pub fn print_table(&self) {
        println!(
            "model {}: {:?}, {} states, {} unique, depth {}, {:.1} s{}",
            self.model,
            self.strategy,
            self.states,
            self.unique_states,
            self.depth_reached,
            self.seconds,
            if self.complete { ", state space exhausted" } else { "" }
        );
        for p in &self.properties {
            println!("  {:<36} {:?}", p.name, p.verdict);
        }
        for p in &self.properties {
            if let (Verdict::Violated, Some(trace)) = (&p.verdict, &p.trace) {
                println!("\ncounterexample for {:?}:\n{trace}", p.name);
            }
        }
    }
}

/// Checks `model` under `options`, printing progress to stderr.
pub fn run<M>(name: &str, model: M, options: &CheckOptions) -> CheckReport
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    let expectations: BTreeMap<&'static str, Expectation> = model
        .properties()
        .iter()
        .map(|p| (p.name, p.expectation.clone()))
        .collect();
    let mut builder: CheckerBuilder<M> = model.checker().threads(options.threads.max(1));
    builder = builder.timeout(options.budget);
    if let Some(target) = options.target_states {
        builder = builder.target_state_count(target);
    }
    if let Some(depth) = options.depth_max {
        builder = builder.target_max_depth(depth);
    }
    let started = Instant::now();
    let checker: Box<dyn Checker<M>> = match options.strategy {
        Strategy::Bfs => Box::new(builder.spawn_bfs()),
        Strategy::Dfs => Box::new(builder.spawn_dfs()),
        Strategy::Simulation { seed } => {
            Box::new(builder.spawn_simulation(seed, stateright::UniformChooser))
        }
    };
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(200));
        if options.progress && started.elapsed().as_millis() % 5000 < 200 {
            eprintln!(
                "  [{name}] {:>5.0} s: {} states, {} unique, depth {}",
                started.elapsed().as_secs_f64(),
                checker.state_count(),
                checker.unique_state_count(),
                checker.max_depth()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
    let complete = seconds < options.budget.as_secs_f64()
        && options.target_states.is_none_or(|t| checker.unique_state_count() < t)
        && !matches!(options.strategy, Strategy::Simulation { .. })
        && !expectations.keys().all(|n| discoveries.contains_key(n));
    let properties = expectations
        .iter()
        .map(|(name, expectation)| {
            let found = discoveries.get(name);
            let verdict = match (expectation, found.is_some()) {
                (Expectation::Sometimes, true) => Verdict::Reached,
                (Expectation::Sometimes, false) => Verdict::NotReached,
                (_, true) => Verdict::Violated,
                (_, false) => Verdict::Held,
            };
            let trace = found.map(|path| {
                path.clone()
                    .into_actions()
                    .iter()
                    .enumerate()
                    .map(|(step, action)| format!("  {:>3}. {action:?}", step + 1))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            PropertyReport {
                name,
                verdict,
                trace,
            }
        })
        .collect();
    CheckReport {
        model: name.to_string(),
        strategy: options.strategy,
        states: checker.state_count(),
        unique_states: checker.unique_state_count(),
        depth_reached: checker.max_depth(),
        seconds,
        complete,
        properties,
    }
}
