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
    /// Operator memory before spilling to disk, MiB (local engine; 64 by default, or 32 a core
    /// where that is more).
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
    tune_malloc();
    let mut engine: Engine = args.engine.parse()?;
    if let (Engine::Local { memory_limit, .. }, Some(mib)) = (&mut engine, args.memory_mib) {
        *memory_limit = mib << 20;
    }
    let m = prep::prepare(&args.log, &args.out, &engine).map_err(|e| {
        let hint = match &engine {
            Engine::Local { memory_limit, .. } if e.to_string().contains("Resources exhausted") => format!(
                "; the memory pool ({} MiB) is too small for this log: what a sort keeps to merge its \
                 spills, an aggregation's state or a join pass's hash table did not fit. Raise --memory-mib",
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

/// glibc gives threads that allocate at once arenas of their own (up to eight per core) and
/// keeps what each arena frees for its own later use. `prepare`'s DataFusion workers allocate in
/// every stage, so each arena keeps its share of the last stage's memory and the process's peak
/// outgrows what any one stage holds. On the 10M-event simulator log of `bench/prep.sh`, two
/// arenas (the same as `MALLOC_ARENA_MAX=2`) lowered `prepare`'s peak RSS from 422 to 318 MiB at
/// the same throughput. Not for `train`: its two-thread batches lost a third of their
/// throughput to the shared arenas.
///
/// For the same reason the threshold above which an allocation gets pages of its own (returned
/// when freed) is fixed at 128 KiB: glibc raises it after each large free, up to 32 MiB, after
/// which the stages' hash tables and sort buffers come from the arenas and leave them
/// fragmented, so the peak grew with the number of stages a log runs (passes). Measured at
/// the commit that set it, 10M simulator events: peak RSS 191 -> 167 MiB, 9-13 % more time
/// (the pages are zeroed and mapped again). Nothing to do under other allocators.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        const M_ARENA_MAX: std::ffi::c_int = -8;
        extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt only sets allocator parameters; it is called before `prepare` starts
        // any thread.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
            mallopt(M_MMAP_THRESHOLD, 128 << 10);
        }
    }
}
