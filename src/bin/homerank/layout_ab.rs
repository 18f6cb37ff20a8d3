//! `homerank layout-ab`: two Home layouts on a simulated listener population (the demo's layout
//! lab, same numbers for the same seed).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use homerank::sim::{LabLayout, LayoutLab, Population};
use homerank::HomeRanker;

#[derive(Args)]
pub struct LayoutAbArgs {
    /// Layout A (the demo's exported layout JSON).
    #[arg(long)]
    a: PathBuf,
    /// Layout B.
    #[arg(long)]
    b: PathBuf,
    /// Population JSON (listeners, personas, sessions, playsPerSession, seed, viewport, browse,
    /// bootstrap); its defaults otherwise.
    #[arg(long)]
    population: Option<PathBuf>,
    /// Listeners (overrides the population file's).
    #[arg(long)]
    listeners: Option<usize>,
    /// Seed (overrides the population file's).
    #[arg(long)]
    seed: Option<u64>,
    /// The reranking model.
    #[arg(long, default_value = "models/homerank-s.gguf")]
    model: PathBuf,
    /// Write the whole report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a markdown report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the metrics as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn layout_ab(args: LayoutAbArgs) -> Result<()> {
    let read = |p: &PathBuf| std::fs::read_to_string(p).with_context(|| p.display().to_string());
    let a = LabLayout::from_json(&read(&args.a)?).with_context(|| args.a.display().to_string())?;
    let b = LabLayout::from_json(&read(&args.b)?).with_context(|| args.b.display().to_string())?;
    let mut population = match &args.population {
        Some(p) => Population::from_json(&read(p)?).with_context(|| p.display().to_string())?,
        None => Population::default(),
    };
    population.listeners = args.listeners.unwrap_or(population.listeners);
    population.seed = args.seed.unwrap_or(population.seed);
    let ranker = HomeRanker::from_path(&args.model).with_context(|| args.model.display().to_string())?;
    let mut lab = LayoutLab::new(a, b, population, ranker)?;
    let started = std::time::Instant::now();
    while lab.done() < lab.total() {
        lab.run(50);
        eprint!("\r{} / {} listeners", lab.done(), lab.total());
    }
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    let report = lab.report();
    let markdown = report.markdown();
    print!("{markdown}");
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report)? + "\n").with_context(|| p.display().to_string())?;
    }
    if let Some(p) = &args.report {
        std::fs::write(p, &markdown).with_context(|| p.display().to_string())?;
    }
    if let Some(p) = &args.csv {
        std::fs::write(p, report.csv()).with_context(|| p.display().to_string())?;
    }
    Ok(())
}
