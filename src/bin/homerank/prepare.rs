//! `homerank convert` and `homerank prepare`: Parquet logs and data preparation on DataFusion
//! or Ballista (the library's `prep` module; without the `prep` feature both say so).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use homerank::prep::{self, Engine};

#[derive(Args)]
pub struct ConvertArgs {
    /// Input log (MSSD, RecBole, DIGINETICA, JSONL, Spotify exports, Parquet) or `sim:USERS`.
    #[arg(long)]
    input: String,
    /// MSSD track-features file.
    #[arg(long)]
    features: Option<PathBuf>,
    /// Simulator seed (with `sim`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output Parquet log.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct PrepareArgs {
    /// Parquet log: a file, or a directory of `.parquet` files.
    #[arg(long)]
    log: PathBuf,
    /// Output directory (tables and prep.json).
    #[arg(long)]
    out: PathBuf,
    /// `local` (DataFusion in this process) or `ballista://HOST:PORT`.
    #[arg(long, default_value = "local")]
    engine: String,
    /// Operator memory before spilling to disk, MiB (local engine).
    #[arg(long)]
    memory_mib: Option<usize>,
}

pub fn convert(args: ConvertArgs) -> Result<()> {
    let dataset = super::offline::load(&args.input, args.features.as_deref(), args.seed)?;
    let events = prep::convert(&dataset, &args.out).with_context(|| args.out.display().to_string())?;
    eprintln!("wrote {} sessions, {events} events to {}", dataset.sessions.len(), args.out.display());
    Ok(())
}

pub fn prepare(args: PrepareArgs) -> Result<()> {
    let mut engine: Engine = args.engine.parse()?;
    if let (Engine::Local { memory_limit, .. }, Some(mib)) = (&mut engine, args.memory_mib) {
        *memory_limit = mib << 20;
    }
    let m = prep::prepare(&args.log, &args.out, &engine).map_err(|e| {
        let hint = match &engine {
            Engine::Local { memory_limit, .. } if e.to_string().contains("Resources exhausted") => format!(
                "; the memory pool ({} MiB) is too small for this log: joins cannot spill, and the one with \
                 the sessions holds about 130 bytes a session. Raise --memory-mib",
                memory_limit >> 20
            ),
            _ => String::new(),
        };
        anyhow::anyhow!("{e}{hint}")
    })?;
    let peak = crate::peak_rss();
    eprintln!(
        "prepared {} events, {} sessions, {} items on {} in {:.1} s ({:.0} events/s, peak RSS {peak}): {} tables in {}",
        m.events,
        m.sessions,
        m.items,
        m.engine,
        m.seconds,
        m.events as f64 / m.seconds.max(1e-9),
        m.tables.len(),
        args.out.display()
    );
    Ok(())
}
