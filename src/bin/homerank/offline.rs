//! `train`, `eval` and `simulate`: thin wrappers over `homerank::{train, eval, sim, data}`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct TrainArgs {
    /// Training data: a log path (MSSD CSV, RecBole dir or .inter, DIGINETICA CSV, .jsonl) or
    /// `sim` / `sim:USERS` for the listener simulator. Repeat for several sources.
    #[arg(long = "data", required_unless_present = "prep")]
    data: Vec<String>,
    /// A directory written by `homerank prepare` (feature `prep`): train from its tables,
    /// reading only the sessions the drawn cases come from instead of the whole log. Repeat for
    /// several sources; they come after the `--data` ones.
    #[arg(long)]
    prep: Vec<PathBuf>,
    /// Save a checkpoint here after every epoch.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint in `--checkpoint` when there is one.
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Training threads: each batch is cut into this many parts whose gradients are computed
    /// side by side and summed, with candle's own pools at one thread each (unless
    /// RAYON_NUM_THREADS / CANDLE_NUM_THREADS are set), which measured fastest. Default: the
    /// whole batch in one graph, candle's pools at their own size. Runs with different counts
    /// differ in the last bits.
    #[arg(long)]
    threads: Option<usize>,
    /// Track-features CSV for an MSSD log.
    #[arg(long)]
    features: Option<PathBuf>,
    /// Output model (Q8_0); an `-f32` twin and manifest.json go beside it.
    #[arg(long, default_value = "models/homerank-s.gguf")]
    out: PathBuf,
    /// Model name stored in the file.
    #[arg(long, default_value = "homerank-s")]
    name: String,
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Most training lists per source.
    #[arg(long, default_value_t = 12_000)]
    max_cases: usize,
    /// Model card to write the training section into.
    #[arg(long)]
    card: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Train half the cases with up to this many earlier-session events before the session
    /// (the mid-term context; 0: sessions alone).
    #[arg(long, default_value_t = 0)]
    prior_events: usize,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Evaluation data (as for `train`); with `--prep`, the Parquet log to read into memory for
    /// what the tables alone cannot give (`--prior-events`, `--embeddings codes`; default: the
    /// log the prepared directory's manifest names).
    #[arg(long, required_unless_present = "prep")]
    data: Option<String>,
    /// A directory written by `homerank prepare`: the windows, statistics and the events of the
    /// sessions the capped case draws read come from its tables, never the whole log (feature
    /// `prep`).
    #[arg(long)]
    prep: Option<PathBuf>,
    #[arg(long)]
    features: Option<PathBuf>,
    #[arg(long, default_value = "models/homerank-s.gguf")]
    model: PathBuf,
    /// Candidates per list.
    #[arg(long, default_value_t = 50)]
    n_cands: usize,
    /// Most ranking cases.
    #[arg(long, default_value_t = 4_000)]
    max_cases: usize,
    /// Also rank the whole catalogue for this many cases (0: off).
    #[arg(long, default_value_t = 0)]
    full_catalogue: usize,
    /// Markdown report to write (an SVG plot goes beside it).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Model card whose section for this dataset is replaced with the results.
    #[arg(long)]
    card: Option<PathBuf>,
    /// README whose `eval:<dataset>` block is replaced with the compact table.
    #[arg(long)]
    readme: Option<PathBuf>,
    /// Server embeddings: `learned` (SVD of PPMI co-occurrence) or `codes` (superposed random codes).
    #[arg(long, default_value = "learned")]
    embeddings: homerank::eval::EmbeddingKind,
    /// Neighbours per item in the pages (at most 32).
    #[arg(long, default_value_t = homerank::MAX_NEIGHBORS)]
    neighbors: usize,
    /// Put up to this many events of the listener's earlier sessions before each case's prefix
    /// (a mid-term context; 0: the session alone), and print HR-S and the linear model with and
    /// without them on the same cases, with listener-bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    prior_events: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Args)]
pub struct AbArgs {
    /// Evaluation data (as for `eval`).
    #[arg(long)]
    data: String,
    /// The experiment: the ranker's format without `unitId`, plus optional
    /// `"policies": { "arm": "server" | "linear" | "session" | "session+mid-term" }` (a holdback arm is `server`, others `session`).
    #[arg(long)]
    experiment: PathBuf,
    #[arg(long, default_value = "models/homerank-s.gguf")]
    model: PathBuf,
    /// Most test cases.
    #[arg(long, default_value_t = 20_000)]
    max_cases: usize,
    /// Markdown report to write (an SVG plot goes beside it).
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Args)]
pub struct MidTermArgs {
    /// Evaluation data (as for `eval`); repeat for several logs.
    #[arg(long, required = true)]
    data: Vec<String>,
    /// Earlier events to put before each session, comma-separated (e.g. `16,48`).
    #[arg(long, value_delimiter = ',', default_value = "16,48")]
    prior_events: Vec<usize>,
    #[arg(long, default_value = "models/homerank-s.gguf")]
    model: PathBuf,
    /// Most test cases per log.
    #[arg(long, default_value_t = 4_000)]
    max_cases: usize,
    /// Markdown report to write.
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// A log (any format `data::load` detects), or `sim` / `sim:USERS` for the listener simulator.
pub fn load(spec: &str, features: Option<&Path>, seed: u64) -> anyhow::Result<homerank::dataset::Dataset> {
    if let Some(rest) = spec.strip_prefix("sim") {
        let mut config = homerank::sim::SimConfig { seed, ..Default::default() };
        if let Some(users) = rest.strip_prefix(':') {
            config.n_users = users.parse().with_context(|| format!("`{spec}`: expected sim:USERS"))?;
        } else if !rest.is_empty() {
            anyhow::bail!("`{spec}`: expected `sim` or `sim:USERS`");
        }
        return Ok(homerank::sim::simulate(&config));
    }
    homerank::data::load(Path::new(spec), None, features).with_context(|| spec.to_string())
}

#[derive(Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 400)]
    users: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output JSONL log.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write one listener's server Home page (JSON) …
    #[arg(long)]
    page: Option<PathBuf>,
    /// … and that listener's session on it (JSONL events), for `homerank rerank`.
    #[arg(long, requires = "page")]
    session: Option<PathBuf>,
}

#[cfg(feature = "train")]
mod enabled {
    use std::path::Path;

    use anyhow::{Context, Result};
    use homerank::eval::{
        compare_context, evaluate, run_ab, AbConfig, AbPlan, CaseConfig, EvalConfig, MidTermReport, Prepared,
    };
    use homerank::model::ModelFile;
    use homerank::train::{card_training_section, export, replace_section, train as run_training, TrainConfig};

    use super::{load, AbArgs, EvalArgs, MidTermArgs, SimulateArgs, TrainArgs};

    /// A model file, checked against manifest.json beside it when it is listed there.
    fn load_model(path: &Path) -> Result<ModelFile> {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        if let Some(entry) = homerank::Manifest::entry_beside(path)? {
            entry.verify_checksum(&bytes)?;
        }
        ModelFile::from_bytes(&bytes).with_context(|| path.display().to_string())
    }

    /// Writes a markdown report to `path` and its plot beside it (`.svg`); `markdown` gets the
    /// plot's file name to link.
    fn write_report(path: &Path, svg: &str, markdown: impl FnOnce(&str) -> String) -> Result<()> {
        let svg_path = path.with_extension("svg");
        let svg_name = svg_path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        std::fs::write(&svg_path, svg).with_context(|| svg_path.display().to_string())?;
        std::fs::write(path, markdown(svg_name)).with_context(|| path.display().to_string())?;
        eprintln!("wrote {} and {}", path.display(), svg_path.display());
        Ok(())
    }

    pub fn train(args: TrainArgs) -> Result<()> {
        if let Some(n) = args.threads {
            anyhow::ensure!(n > 0, "--threads must be at least 1");
            // candle sizes its thread pools from these on first use, which is later than this.
            // Its parallel matmuls inside parallel batch parts oversubscribe the cores (measured:
            // 184 examples/s with two pool threads per part against 395 with one).
            for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
                if std::env::var_os(var).is_none() {
                    std::env::set_var(var, "1");
                }
            }
        }
        let config = TrainConfig {
            epochs: args.epochs,
            seed: args.seed,
            batch_size: args.batch,
            lr: args.lr,
            max_train_cases: args.max_cases,
            progress: !args.quiet,
            prior_events: args.prior_events,
            checkpoint: args.checkpoint.clone(),
            resume: args.resume,
            batch_parts: args.threads.unwrap_or(1),
            ..Default::default()
        };
        let mut sources = Vec::new();
        let mut names = Vec::new();
        for spec in &args.data {
            let dataset = load(spec, args.features.as_deref(), args.seed)?;
            eprintln!(
                "{spec}: {} sessions, {} events, {} items",
                dataset.sessions.len(),
                dataset.n_events(),
                dataset.catalog.len()
            );
            names.push(format!("{} ({} sessions)", dataset.name, dataset.sessions.len()));
            sources.push(Prepared::new(dataset, config.model.embedding_dim));
        }
        for dir in &args.prep {
            let prepared = homerank::prep::prepared_for_training(dir, &config, sources.len())
                .with_context(|| dir.display().to_string())?;
            let read = prepared.dataset.sessions.iter().filter(|s| !s.events.is_empty()).count();
            eprintln!(
                "{}: {} sessions ({read} read for the cases drawn), {} items",
                dir.display(),
                prepared.dataset.sessions.len(),
                prepared.dataset.catalog.len()
            );
            names.push(format!("{} ({} sessions, prepared)", prepared.dataset.name, prepared.dataset.sessions.len()));
            sources.push(prepared);
        }
        let outcome = run_training(&sources, &config)?;
        eprintln!(
            "{} training lists, {} epochs run here: {:.0} examples/s ({} batch parts, candle threads {}), peak RSS {}",
            outcome.n_train_cases,
            outcome.epochs_run,
            (outcome.n_train_cases * outcome.epochs_run) as f64 / outcome.step_seconds.max(1e-9),
            config.batch_parts,
            candle_core::utils::get_num_threads(),
            crate::peak_rss()
        );
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let notes = [("trained_on", names.join("; ")), ("seed", args.seed.to_string()), ("command", command.clone())];
        let notes: Vec<(&str, &str)> = notes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let exported = export(&outcome.weights, &config.model, &args.out, &args.name, &notes)?;
        eprintln!(
            "best epoch {} (valid NDCG@10 {:.4}); wrote {} ({} bytes, sha256 {}), {}, {}",
            outcome.best_epoch,
            outcome.log[outcome.best_epoch - 1].valid_ndcg,
            exported.q8.display(),
            exported.q8_entry.bytes,
            exported.q8_entry.sha256,
            exported.f32.display(),
            exported.manifest.display()
        );
        if let Some(card) = &args.card {
            let doc = std::fs::read_to_string(card).unwrap_or_else(|_| format!("# {} model card\n", args.name));
            let section = card_training_section(&outcome, &command, &names, &config);
            std::fs::write(card, replace_section(&doc, "training", &section))
                .with_context(|| card.display().to_string())?;
        }
        Ok(())
    }

    pub fn eval(args: EvalArgs) -> Result<()> {
        let start = std::time::Instant::now();
        let model = load_model(&args.model)?;
        let twin_path = args
            .model
            .with_file_name(format!("{}-f32.gguf", args.model.file_stem().and_then(|s| s.to_str()).unwrap_or("model")));
        let twin = match std::fs::read(&twin_path) {
            Ok(b) => Some(ModelFile::from_bytes(&b).with_context(|| twin_path.display().to_string())?),
            Err(_) => None,
        };
        let dim = model.config.embedding_dim;
        let config = EvalConfig {
            cases: CaseConfig {
                n_cands: Some(args.n_cands),
                max_cases: args.max_cases,
                seed: args.seed,
                prior_events: args.prior_events,
                ..Default::default()
            },
            full_catalogue_cases: args.full_catalogue,
            seed: args.seed,
            ..Default::default()
        };
        let mut prepared = match (&args.prep, &args.data) {
            // The tables alone: the learned embeddings, no mid-term context.
            (Some(dir), None)
                if args.prior_events == 0 && args.embeddings == homerank::eval::EmbeddingKind::Learned =>
            {
                homerank::prep::prepared_for_eval(dir, &config, dim).with_context(|| dir.display().to_string())?
            }
            (Some(dir), data) => {
                eprintln!("reading the whole log into memory (--prior-events, --embeddings codes or --data given)");
                homerank::prep::prepared_for_eval_with_log(dir, data.as_deref().map(Path::new), dim, args.embeddings)
                    .with_context(|| dir.display().to_string())?
            }
            (None, Some(data)) => {
                Prepared::with_embeddings(load(data, args.features.as_deref(), 1)?, dim, args.embeddings)
            }
            (None, None) => anyhow::bail!("eval needs --data or --prep"),
        };
        prepared.truncate_neighbors(args.neighbors);
        let report = evaluate(&prepared, &model, twin.as_ref(), &config)?;
        print!("{}", report.terminal_summary());
        let (cases, sessions) = (report.window.n_cases + report.server_top.n_cases, prepared.split.n_sessions());
        let held = prepared.dataset.sessions.iter().filter(|s| !s.events.is_empty()).count();
        eprintln!(
            "evaluated {cases} cases in {:.1} s, the events of {held} of {sessions} sessions held, peak RSS {}",
            start.elapsed().as_secs_f64(),
            crate::peak_rss()
        );
        if args.prior_events > 0 {
            // The same cases without the earlier events, paired, with listener intervals.
            let midterm = compare_context(&prepared, &model, &config, args.prior_events)?;
            print!("\nmid-term context, paired:\n{}{}", MidTermReport::table_header(), midterm.table_rows());
        }
        if let Some(path) = &args.report {
            write_report(path, &report.svg(), |svg| report.markdown(Some(svg)))?;
        }
        let key = format!("eval:{}", report.dataset);
        if let Some(card) = &args.card {
            let doc = std::fs::read_to_string(card).with_context(|| card.display().to_string())?;
            std::fs::write(card, replace_section(&doc, &key, &report.markdown(None)))
                .with_context(|| card.display().to_string())?;
        }
        if let Some(readme) = &args.readme {
            let doc = std::fs::read_to_string(readme).with_context(|| readme.display().to_string())?;
            let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            let link = args.report.as_ref().map(|p| p.display().to_string());
            let body = report.readme_section(&format!("homerank {command}"), link.as_deref());
            std::fs::write(readme, replace_section(&doc, &key, &body)).with_context(|| readme.display().to_string())?;
        }
        Ok(())
    }

    pub fn ab(args: AbArgs) -> Result<()> {
        let model = load_model(&args.model)?;
        let text = std::fs::read_to_string(&args.experiment).with_context(|| args.experiment.display().to_string())?;
        let plan = AbPlan::from_json(&text).with_context(|| args.experiment.display().to_string())?;
        let dataset = load(&args.data, None, 1)?;
        let prepared = Prepared::new(dataset, model.config.embedding_dim);
        let config = AbConfig {
            cases: CaseConfig { n_cands: Some(50), max_cases: args.max_cases, seed: args.seed, ..Default::default() },
            seed: args.seed,
            ..Default::default()
        };
        let report = run_ab(&prepared, &model, &plan, &config)?;
        print!("{}", report.terminal_summary());
        if let Some(path) = &args.report {
            let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            write_report(path, &report.svg(), |svg| {
                format!("{}\nWritten by `homerank {command}`.\n", report.markdown(Some(svg)))
            })?;
        }
        Ok(())
    }

    pub fn midterm(args: MidTermArgs) -> Result<()> {
        let model = load_model(&args.model)?;
        let config = EvalConfig {
            cases: CaseConfig { n_cands: Some(50), max_cases: args.max_cases, seed: args.seed, ..Default::default() },
            seed: args.seed,
            ..Default::default()
        };
        let mut table = MidTermReport::table_header().to_owned();
        for spec in &args.data {
            let prepared = Prepared::new(load(spec, None, 1)?, model.config.embedding_dim);
            for &k in &args.prior_events {
                let report = compare_context(&prepared, &model, &config, k)?;
                eprintln!(
                    "{} with {k} earlier events: {:.1} s, {} listeners",
                    report.dataset, report.seconds, report.listeners
                );
                table.push_str(&report.table_rows());
            }
        }
        print!("{table}");
        if let Some(path) = &args.report {
            let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
            let doc = format!(
                "# Mid-term context: earlier sessions' events before the session\n\n\
                 The same test cases (the leak-free window protocol of `homerank eval`, 50 candidates) ranked from the \
                 session alone and with the latest events of the listener's earlier sessions put before it, as a device \
                 that kept them could (`CaseConfig::prior_events`). The model is unchanged (`{}`); the differences are \
                 paired per case, with a 95 % bootstrap over listeners.\n\n{table}\nWritten by `homerank {command}`.\n",
                model.model_id
            );
            std::fs::write(path, doc).with_context(|| path.display().to_string())?;
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    }

    pub fn simulate(args: SimulateArgs) -> Result<()> {
        use homerank::sim::{dataset_catalog, server_page, Listener, ServerRanking, SimCatalog, SimConfig};
        let config = SimConfig { n_users: args.users, seed: args.seed, ..Default::default() };
        if let Some(out) = &args.out {
            let dataset = homerank::sim::simulate(&config);
            let file = std::fs::File::create(out).with_context(|| out.display().to_string())?;
            homerank::data::write_jsonl(&dataset, std::io::BufWriter::new(file))?;
            eprintln!("wrote {} sessions, {} events to {}", dataset.sessions.len(), dataset.n_events(), out.display());
        }
        if let Some(page_path) = &args.page {
            let mut rng = homerank::rng::Rng::new(args.seed).fork(2);
            let sim = SimCatalog::generate(&config.catalog_spec(), &mut homerank::rng::Rng::new(args.seed).fork(1));
            let catalog = dataset_catalog(&sim, args.seed);
            let dim = 32;
            let emb = homerank::embedding::content_embeddings(&catalog, dim);
            let mut listener = Listener::new(&sim, &mut rng);
            let ranking = ServerRanking::for_listener(&sim, &listener, &mut rng);
            let page =
                server_page(&sim, &ranking, &|i| emb[i as usize * dim..(i as usize + 1) * dim].to_vec(), dim, 6, 12);
            std::fs::write(page_path, serde_json::to_string_pretty(&page)?)
                .with_context(|| page_path.display().to_string())?;
            eprintln!("wrote a {}-shelf page to {}", page.shelves.len(), page_path.display());
            if let Some(session_path) = &args.session {
                let shown: Vec<u32> = page.items().filter_map(|(_, _, it)| catalog.get(&it.id)).collect();
                let mut lines = String::new();
                let mut t = 1_763_800_000_000.0;
                for _ in 0..8 {
                    let Some(k) = listener.choose(&sim, &shown, &mut rng) else { break };
                    let listen = listener.listen(&sim, shown[k], &mut rng);
                    let id = &catalog.ids[shown[k] as usize];
                    let mut event =
                        homerank::SessionEvent::new(id, listen.action).with_ms_played(listen.ms_played as f64);
                    event.timestamp_ms = Some(t);
                    lines += &(serde_json::to_string(&event)? + "\n");
                    if let Some(reaction) = listen.reaction {
                        let mut r = homerank::SessionEvent::new(id, reaction);
                        r.timestamp_ms = Some(t);
                        lines += &(serde_json::to_string(&r)? + "\n");
                    }
                    t += listen.ms_played as f64 + 3_000.0;
                }
                std::fs::write(session_path, lines).with_context(|| session_path.display().to_string())?;
                eprintln!("wrote the session to {}", session_path.display());
            }
        }
        Ok(())
    }
}

#[cfg(feature = "train")]
pub use enabled::{ab, eval, midterm, simulate, train};

#[cfg(not(feature = "train"))]
mod disabled {
    use super::*;
    use anyhow::Result;

    fn off() -> Result<()> {
        Err(homerank::Error::NotEnabled("offline training and evaluation (the `train` feature)").into())
    }

    pub fn train(_: TrainArgs) -> Result<()> {
        off()
    }

    pub fn eval(_: EvalArgs) -> Result<()> {
        off()
    }

    pub fn simulate(_: SimulateArgs) -> Result<()> {
        off()
    }

    pub fn ab(_: AbArgs) -> Result<()> {
        off()
    }

    pub fn midterm(_: MidTermArgs) -> Result<()> {
        off()
    }
}

#[cfg(not(feature = "train"))]
pub use disabled::{ab, eval, midterm, simulate, train};
