//! Runs a model under a time budget and reports, per property, whether it held.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::readable::readable;
use stateright::{Checker, CheckerBuilder, Expectation, HasDiscoveries, Model};

/// How to explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Breadth first: shortest counterexamples, shallow coverage.
    Bfs,
    /// Depth first: deep paths with bounded memory.
    Dfs,
    /// Random walks from a seed (see [`walk`]): reaches far deeper than exhaustive search.
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
    /// Stop early once these discoveries are made (`None`: run to the budget).
    pub finish_when: Option<HasDiscoveries>,
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
            finish_when: None,
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
            if self.complete {
                ", state space exhausted"
            } else {
                ""
            }
        );
        let width = self.properties.iter().map(|p| p.name.len()).max();
        let width = width.unwrap_or_default();
        for p in &self.properties {
            println!("  {:<width$} {:?}", p.name, p.verdict);
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
    run_weighted(name, model, options, |_| 1)
}

/// Like [`run`]; random walks pick actions with probability proportional to `weight`.
pub fn run_weighted<M>(
    name: &str,
    model: M,
    options: &CheckOptions,
    weight: fn(&M::Action) -> u32,
) -> CheckReport
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
    M::Action: Clone + Debug + PartialEq + Send + Sync,
{
    if let Strategy::Simulation { seed } = options.strategy {
        return walk::run(name, model, options, seed, weight);
    }
    run_exhaustive(name, model, options)
}

fn run_exhaustive<M>(name: &str, model: M, options: &CheckOptions) -> CheckReport
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
    if let Some(finish_when) = options.finish_when.clone() {
        builder = builder.finish_when(finish_when);
    }
    if let Some(depth) = options.depth_max {
        builder = builder.target_max_depth(depth);
    }
    let started = Instant::now();
    let checker: Box<dyn Checker<M>> = match options.strategy {
        Strategy::Bfs => Box::new(builder.spawn_bfs()),
        Strategy::Dfs => Box::new(builder.spawn_dfs()),
        Strategy::Simulation { .. } => unreachable!("random walks run in `walk`"),
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
        && options
            .target_states
            .is_none_or(|t| checker.unique_state_count() < t)
        && !matches!(options.strategy, Strategy::Simulation { .. })
        && !expectations.keys().all(|n| discoveries.contains_key(n));
    let properties = expectations
        .iter()
        .map(|(name, expectation)| {
            let found = discoveries.get(name);
            let verdict = verdict(expectation, found.is_some());
            let trace = found.map(|path| format_trace(&path.clone().into_actions()));
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

/// One action per line, numbered; byte strings (keys, bodies) as text.
pub fn format_trace<A: Debug>(actions: &[A]) -> String {
    actions
        .iter()
        .enumerate()
        .map(|(step, action)| format!("  {:>3}. {}", step + 1, readable(&format!("{action:?}"))))
        .collect::<Vec<_>>()
        .join("\n")
}

fn verdict(expectation: &Expectation, found: bool) -> Verdict {
    match (expectation, found) {
        (Expectation::Sometimes, true) => Verdict::Reached,
        (Expectation::Sometimes, false) => Verdict::NotReached,
        (_, true) => Verdict::Violated,
        (_, false) => Verdict::Held,
    }
}

/// Seeded random walks over a stateright [`Model`].
///
/// stateright 0.31's own simulation checker records a path as action indices and counts
/// ignored (no-op) actions among them, so it cannot rebuild the trace of a discovery in an
/// actor model (it panics in `Path::from_action_indices`). These walks record the actions
/// themselves, weight them (so that, say, deliveries are likelier than crashes), and replay
/// exactly from the seed.
pub mod walk {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// Steps per walk when no depth bound is given: deep enough for several elections,
    /// commits and crashes, short enough that walks restart often.
    pub const WALK_STEPS_MAX: usize = 400;

    struct Shared<A> {
        states: AtomicUsize,
        depth: AtomicUsize,
        stop: AtomicBool,
        found: Mutex<BTreeMap<&'static str, Vec<A>>>,
    }

    pub fn run<M>(
        name: &str,
        model: M,
        options: &CheckOptions,
        seed: u64,
        weight: fn(&M::Action) -> u32,
    ) -> CheckReport
    where
        M: Model + Send + Sync + 'static,
        M::State: Clone + Debug + Hash + PartialEq + Send + Sync,
        M::Action: Clone + Debug + PartialEq + Send + Sync,
    {
        let model = Arc::new(model);
        let shared = Arc::new(Shared {
            states: AtomicUsize::new(0),
            depth: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            found: Mutex::new(BTreeMap::new()),
        });
        let started = Instant::now();
        let steps_max = options.depth_max.unwrap_or(WALK_STEPS_MAX);
        let handles: Vec<_> = (0..options.threads.max(1) as u64)
            .map(|thread| {
                let (model, shared) = (model.clone(), shared.clone());
                let finish_when = options.finish_when.clone();
                let mut rng = kactor_actors::sim::SimRng::new(seed.wrapping_add(thread));
                std::thread::spawn(move || {
                    while !shared.stop.load(Ordering::Relaxed) {
                        one_walk(&*model, &shared, &mut rng, steps_max, weight);
                        if should_finish(&*model, &shared, finish_when.as_ref()) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        while !shared.stop.load(Ordering::Relaxed) && started.elapsed() < options.budget {
            std::thread::sleep(Duration::from_millis(100));
            if options.progress && started.elapsed().as_millis() % 5000 < 100 {
                eprintln!(
                    "  [{name}] {:>5.0} s: {} states walked, depth {}",
                    started.elapsed().as_secs_f64(),
                    shared.states.load(Ordering::Relaxed),
                    shared.depth.load(Ordering::Relaxed)
                );
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        for handle in handles {
            handle.join().expect("walker thread");
        }
        let found = shared.found.lock().expect("not poisoned");
        let properties = model
            .properties()
            .iter()
            .map(|p| PropertyReport {
                name: p.name,
                verdict: verdict(&p.expectation, found.contains_key(p.name)),
                trace: found.get(p.name).map(|actions| format_trace(actions)),
            })
            .collect();
        let states = shared.states.load(Ordering::Relaxed);
        CheckReport {
            model: name.to_string(),
            strategy: options.strategy,
            states,
            unique_states: states,
            depth_reached: shared.depth.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
            complete: false,
            properties,
        }
    }

    fn should_finish<M: Model>(
        model: &M,
        shared: &Shared<M::Action>,
        finish_when: Option<&HasDiscoveries>,
    ) -> bool {
        let found = shared.found.lock().expect("not poisoned");
        let names = || model.properties().into_iter().map(|p| p.name);
        match finish_when {
            Some(HasDiscoveries::AnyOf(wanted)) => wanted.iter().any(|n| found.contains_key(n)),
            Some(HasDiscoveries::AllOf(wanted)) => wanted.iter().all(|n| found.contains_key(n)),
            Some(HasDiscoveries::Any) => !found.is_empty(),
            Some(HasDiscoveries::AnyFailures) => model
                .properties()
                .iter()
                .any(|p| p.expectation != Expectation::Sometimes && found.contains_key(p.name)),
            _ => names().all(|n| found.contains_key(n)),
        }
    }

    fn one_walk<M: Model>(
        model: &M,
        shared: &Shared<M::Action>,
        rng: &mut kactor_actors::sim::SimRng,
        steps_max: usize,
        weight: fn(&M::Action) -> u32,
    ) where
        M::Action: Clone,
    {
        let properties = model.properties();
        let Some(mut state) = model.init_states().into_iter().next() else {
            return;
        };
        let mut path: Vec<M::Action> = Vec::new();
        let mut actions = Vec::new();
        for _ in 0..steps_max {
            shared.states.fetch_add(1, Ordering::Relaxed);
            shared.depth.fetch_max(path.len(), Ordering::Relaxed);
            for p in &properties {
                let holds = (p.condition)(model, &state);
                let discovered = match p.expectation {
                    Expectation::Always => !holds,
                    Expectation::Sometimes => holds,
                    Expectation::Eventually => false,
                };
                if discovered {
                    let mut found = shared.found.lock().expect("not poisoned");
                    let known = found.entry(p.name).or_insert_with(|| path.clone());
                    if known.len() > path.len() {
                        *known = path.clone(); // keep the shortest trace
                    }
                }
            }
            if !model.within_boundary(&state) {
                return;
            }
            actions.clear();
            model.actions(&state, &mut actions);
            loop {
                let total: u64 = actions.iter().map(|a| u64::from(weight(a))).sum();
                if total == 0 || shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                let mut pick = rng.range(0, total - 1);
                let index = actions
                    .iter()
                    .position(|a| {
                        let w = u64::from(weight(a));
                        if pick < w {
                            return true;
                        }
                        pick -= w;
                        false
                    })
                    .expect("pick is below the total");
                let action = actions.swap_remove(index);
                if let Some(next) = model.next_state(&state, action.clone()) {
                    path.push(action);
                    state = next;
                    break;
                }
            }
        }
    }
}
