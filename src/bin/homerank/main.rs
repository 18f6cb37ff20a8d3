//! `homerank`: rerank a page, inspect a model (and, with the `train` feature, train and evaluate).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod layout_ab;
mod offline;
mod prepare;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use homerank::model::ModelFile;
use homerank::{Backend, HomePage, HomeRanker, Manifest, RerankOptions, SessionEvent};

#[derive(Parser)]
#[command(name = "homerank", version, about = "On-device Home page reranker (HR-S)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rerank a page after a session and print the result JSON.
    Rerank {
        /// Model file (GGUF); checked against manifest.json beside it when listed there.
        #[arg(long)]
        model: PathBuf,
        /// Page JSON (the server's Home page).
        #[arg(long)]
        page: PathBuf,
        /// Session events, one JSON object per line.
        #[arg(long)]
        session: Option<PathBuf>,
        /// Rerank options JSON (dedup, reorderShelves, maxArtistRun, …).
        #[arg(long)]
        options: Option<PathBuf>,
        /// Indent the output.
        #[arg(long)]
        pretty: bool,
        /// Scoring engine: cpu (the default), gpu, or auto (the GPU where it measures faster).
        /// The GPU needs a build with `--features gpu`; without one the CPU scores and the
        /// result says why.
        #[arg(long, default_value = "cpu")]
        backend: Backend,
    },
    /// Print a model file's metadata as JSON.
    Inspect {
        #[arg(long)]
        model: PathBuf,
    },
    /// Rewrite a model file (and its `-f32` twin) in the current file format, weights unchanged,
    /// and update manifest.json beside it.
    Repack {
        #[arg(long)]
        model: PathBuf,
    },
    /// Train HR-S on logs and/or the listener simulator; writes the Q8_0 model, an f32 twin,
    /// manifest.json entries and the model card's training section.
    Train(offline::TrainArgs),
    /// Evaluate a model against the baselines on a log (docs/ARCHITECTURE.md, "Evaluation"); prints the tables.
    Eval(offline::EvalArgs),
    /// Offline A/B: assign a log's listeners to an experiment's arms with the ranker's hash, rank
    /// each listener's test cases with their arm's policy, report per-arm metrics.
    Ab(offline::AbArgs),
    /// Mid-term context: HR-S with and without the listener's earlier sessions' events before
    /// each session, on the same cases, with listener-bootstrap intervals.
    Midterm(offline::MidTermArgs),
    /// Write a simulated listening log as JSONL.
    Simulate(offline::SimulateArgs),
    /// Compare two Home layouts on a simulated listener population (the demo's layout lab).
    LayoutAb(layout_ab::LayoutAbArgs),
    /// Convert a log (any supported format, or the simulator) to the Parquet event log.
    Convert(prepare::ConvertArgs),
    /// Prepare a Parquet log for training and evaluation with DataFusion (embedded) or Ballista:
    /// windows, numbering, per-history counts, co-occurrence and neighbour tables, prep.json.
    Prepare(prepare::PrepareArgs),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`homerank … | head`) is not an error worth reporting.
            if err.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("homerank: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Rerank { model, page, session, options, pretty, backend } => {
            let mut ranker = HomeRanker::from_path(&model).with_context(|| format!("{}", model.display()))?;
            ranker.set_backend(backend);
            if backend != Backend::Cpu {
                let file = ModelFile::from_bytes(&std::fs::read(&model)?)?;
                let settings = homerank::GpuSettings::default();
                if let Err(e) = pollster::block_on(ranker.attach_gpu(&file, &settings)) {
                    eprintln!("homerank: {e}; scoring on the CPU");
                }
            }
            let page = HomePage::from_json(&read(&page)?).with_context(|| format!("{}", page.display()))?;
            if let Some(path) = session {
                let events = SessionEvent::from_jsonl(&read(&path)?).with_context(|| format!("{}", path.display()))?;
                ranker.observe_all(&events).with_context(|| format!("{}", path.display()))?;
            }
            let options = match options {
                Some(path) => RerankOptions::from_json(&read(&path)?).with_context(|| format!("{}", path.display()))?,
                None => RerankOptions::default(),
            };
            let result = ranker.rerank(&page, &options)?;
            print_json(&result, pretty)
        }
        Command::Repack { model } => repack(&model),
        Command::Train(args) => offline::train(args),
        Command::Eval(args) => offline::eval(args),
        Command::Ab(args) => offline::ab(args),
        Command::Midterm(args) => offline::midterm(args),
        Command::Simulate(args) => offline::simulate(args),
        Command::LayoutAb(args) => layout_ab::layout_ab(args),
        Command::Convert(args) => prepare::convert(args),
        Command::Prepare(args) => prepare::prepare(args),
        Command::Inspect { model } => {
            let bytes = std::fs::read(&model).with_context(|| format!("{}", model.display()))?;
            let file = ModelFile::from_bytes(&bytes).with_context(|| format!("{}", model.display()))?;
            let manifest = match Manifest::entry_beside(&model)? {
                Some(entry) => match entry.verify_checksum(&bytes).and_then(|_| entry.verify_model(&file)) {
                    Ok(()) => "verified".to_string(),
                    Err(e) => format!("MISMATCH: {e}"),
                },
                None => "not listed".to_string(),
            };
            let c = &file.config;
            let info = serde_json::json!({
                "name": file.name,
                "modelId": file.model_id,
                "sha256": file.sha256,
                "bytes": bytes.len(),
                "precision": file.precision.as_str(),
                "manifest": manifest,
                "params": c.n_params(),
                "config": {
                    "dModel": c.d_model, "nHeads": c.n_heads, "dFf": c.d_ff,
                    "nSessionLayers": c.n_session_layers, "nCandLayers": c.n_cand_layers,
                    "embeddingDim": c.embedding_dim, "maxEvents": c.max_events,
                    "lnEps": c.ln_eps, "featureSchema": c.feature_schema,
                },
                "notes": file.notes.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            });
            print_json(&info, true)
        }
    }
}

fn repack(model: &Path) -> Result<()> {
    let stem = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model").to_owned();
    let twin = model.with_file_name(format!("{stem}-f32.gguf"));
    let manifest_path = model.with_file_name("manifest.json");
    let mut manifest = Manifest::from_json(&read(&manifest_path)?)?;
    for path in [model.to_path_buf(), twin].into_iter().filter(|p| p.exists()) {
        let old = ModelFile::from_bytes(&std::fs::read(&path)?).with_context(|| path.display().to_string())?;
        let values = old.tensors.iter().map(|(k, t)| (k.clone(), t.to_f32())).collect();
        let notes: Vec<(String, String)> =
            old.notes.iter().map(|(k, v)| (k.trim_start_matches("homerank.").to_owned(), v.clone())).collect();
        let notes: Vec<(&str, &str)> = notes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bytes = homerank::model::write_model(&old.config, &old.name, &values, old.precision, &notes)?;
        let new = ModelFile::from_bytes(&bytes)?;
        anyhow::ensure!(new.tensors == old.tensors, "{}: re-encoding changed the weights", path.display());
        std::fs::write(&path, &bytes).with_context(|| path.display().to_string())?;
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        let entry = homerank::ManifestEntry::describe(file, &bytes, &new);
        manifest.models.retain(|m| m.file != entry.file);
        manifest.models.push(entry);
        eprintln!("{}: {} ({} bytes)", path.display(), new.model_id, bytes.len());
    }
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))
}

fn print_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<()> {
    let text = if pretty { serde_json::to_string_pretty(value)? } else { serde_json::to_string(value)? };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// This process's peak resident memory (Linux `VmHWM`), e.g. `282 MiB`; `unknown` elsewhere.
fn peak_rss() -> String {
    let kib = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
        line.split_whitespace().nth(1)?.parse::<f64>().ok()
    });
    kib.map_or("unknown".to_owned(), |kib| format!("{:.0} MiB", kib / 1024.0))
}
