//! Logs at scale (native, feature `prep`): the Parquet event log ([`log`]), `homerank convert`
//! into it, and `homerank prepare`: the protocol's data preparation as DataFusion plans
//! ([`plans`]) over the log, run embedded ([`Engine::Local`]) or on a Ballista cluster
//! ([`Engine::Ballista`], feature `ballista`), writing Parquet tables ([`tables`]) and a manifest
//! of their content hashes ([`PrepManifest`]).
//!
//! What is prepared: sessions numbered and cut into the time-ordered windows, items numbered
//! with their details, every event with its position, and per history window (A and B) the
//! item counts (with the server ranker's recent popularity), the symmetric co-occurrence pair
//! counts and each item's top-K neighbours. The learned embeddings are not a plan: they are a
//! truncated SVD of the positive-PMI matrix of the pair counts, an iterative dense-times-sparse
//! computation over a matrix already aggregated to items × items, which `eval::ppmi_embeddings`
//! runs in Rust from the `pairs` table ([`PreparedTables::co_occurrence`]).

#[cfg_attr(feature = "ballista", path = "ballista.rs")]
#[cfg_attr(not(feature = "ballista"), path = "ballista_disabled.rs")]
mod ballista;
mod engine;
mod evaluation;
pub mod log;
mod manifest;
pub mod plans;
mod reader;
pub mod tables;
mod training;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, UInt32Type, UInt64Type, UInt8Type};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{col, ParquetReadOptions, SessionConfig, SessionContext};
use web_time::Instant;

pub use ballista::{LoopbackCluster, ENABLED as BALLISTA_ENABLED};
pub use engine::{Engine, DEFAULT_MEMORY_LIMIT, MEMORY_PER_PARTITION};
pub use manifest::{PrepManifest, Shard, TableFiles, MANIFEST, PREP_FORMAT};
use plans::{HistoryPart, KeyRange};
use tables::{read_table, write_table, Columns};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::eval::{CoOccurrence, EmbeddingKind, History, Prepared, Split, DEFAULT_FRACTIONS};
use crate::MAX_NEIGHBORS;

// The tables' declared schemas (names as later plans read them).
const SESSION_GROUPS: Columns<'static> = &[
    ("session_id", DataType::Utf8, false),
    ("first_seq", DataType::UInt64, false),
    ("start_ms", DataType::Float64, false),
    ("n_events", DataType::UInt64, false),
    ("user_id", DataType::Utf8, true),
];
const SESSION_NUMBERS: Columns<'static> = &[
    ("session", DataType::UInt32, false),
    ("session_id", DataType::Utf8, false),
    ("user_id", DataType::Utf8, true),
    ("start_ms", DataType::Float64, false),
    ("n_events", DataType::UInt64, false),
];
const SESSION_TIMES: Columns<'static> = &[("session", DataType::UInt32, false), ("by_time", DataType::UInt64, false)];
const SESSIONS: Columns<'static> = &[
    ("session", DataType::UInt32, false),
    ("session_id", DataType::Utf8, false),
    ("user_id", DataType::Utf8, true),
    ("start_ms", DataType::Float64, false),
    ("n_events", DataType::UInt64, false),
    ("by_time", DataType::UInt64, false),
    ("part", DataType::UInt8, false),
];
fn items_columns() -> Vec<(&'static str, DataType, bool)> {
    vec![
        ("item", DataType::UInt32, false),
        ("item_id", DataType::Utf8, false),
        ("item_type", DataType::Utf8, true),
        ("artist_id", DataType::Utf8, true),
        ("duration_ms", DataType::Float64, true),
        ("features", log::features_type(), true),
    ]
}
const EVENTS: Columns<'static> = &[
    ("session", DataType::UInt32, false),
    ("pos", DataType::UInt32, false),
    ("item", DataType::UInt32, false),
    ("action", DataType::Utf8, false),
    ("ms_played", DataType::Float64, true),
    ("time_ms", DataType::Float64, false),
    ("part", DataType::UInt8, false),
];
const STATS: Columns<'static> =
    &[("item", DataType::UInt32, false), ("n_events", DataType::UInt32, false), ("n_recent", DataType::UInt32, false)];
const PAIRS: Columns<'static> =
    &[("a", DataType::UInt32, false), ("b", DataType::UInt32, false), ("n_pairs", DataType::UInt32, false)];
const PAIR_COUNTS: Columns<'static> = &[
    ("a", DataType::UInt32, false),
    ("b", DataType::UInt32, false),
    ("n_a", DataType::UInt32, false),
    ("n_b", DataType::UInt32, false),
];
const NEIGHBORS: Columns<'static> = &[
    ("item", DataType::UInt32, false),
    ("nb_rank", DataType::UInt8, false),
    ("neighbor", DataType::UInt32, false),
    ("weight", DataType::Float32, false),
];

/// The most pair-count tables one merge reads: each table read holds its batches and Parquet
/// pages (a few MiB), so a merge of every pass's table at once would hold memory that grows
/// with the log.
const PAIR_MERGE_FAN_IN: usize = 4;

/// The directory under a preparation's output that holds its scratch tables while it runs.
const SCRATCH: &str = "scratch";

/// Converts any log `data::load` reads into a Parquet log at `out`; returns the events written.
pub fn convert(dataset: &Dataset, out: &Path) -> Result<u64> {
    log::write(dataset, out)
}

/// Reads a Parquet log into memory ([`log::load`]).
pub fn load_log(path: &Path) -> Result<Dataset> {
    log::load(path)
}

/// The evaluation's data from a prepared directory for `evaluate` with `config`, reading the
/// events of the sessions its case draws need and no others
/// ([`PreparedTables::prepared_for_evaluation`]; learned embeddings of width `dim`).
pub fn prepared_for_eval(dir: &Path, config: &crate::eval::EvalConfig, dim: usize) -> Result<Prepared> {
    PreparedTables::open(dir)?.prepared_for_evaluation(config, dim)
}

/// The evaluation's data from a prepared directory with the log (`log`, or the one the manifest
/// names) read into memory, for what the tables alone cannot give: the mid-term context, which
/// reads each listener's earlier sessions, and embeddings other than the learned ones
/// ([`PreparedTables::prepared`]).
pub fn prepared_for_eval_with_log(dir: &Path, log: Option<&Path>, dim: usize, kind: EmbeddingKind) -> Result<Prepared> {
    let tables = PreparedTables::open(dir)?;
    let log_path = log.map_or_else(|| PathBuf::from(&tables.manifest.log), Path::to_owned);
    tables.prepared(load_log(&log_path)?, dim, kind)
}

/// The trainer's source number `source` from a prepared directory, reading the events of the
/// sessions its case draws need and no others ([`PreparedTables::prepared_for_training`]).
pub fn prepared_for_training(dir: &Path, config: &crate::train::TrainConfig, source: usize) -> Result<Prepared> {
    PreparedTables::open(dir)?.prepared_for_training(config, source)
}

/// Prepares the Parquet log at `log` (a file or a directory of files) into `out` on `engine`.
pub fn prepare(log_path: &Path, out: &Path, engine: &Engine) -> Result<PrepManifest> {
    runtime()?.block_on(prepare_on(log_path, out, engine))
}

/// The runtime the plans run on, for callers that are not async.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e.to_string()))
}

fn df_error(what: &str) -> impl Fn(datafusion::error::DataFusionError) -> Error + '_ {
    move |e| Error::io(what, e.to_string())
}

fn absolute(path: &Path) -> Result<String> {
    let p = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    p.to_str().map(str::to_owned).ok_or_else(|| Error::io(path, "not a UTF-8 path"))
}

/// The order a prepared table's rows are written in (its plan's `ORDER BY`), declared when it
/// is registered so that a later plan that needs that order reads it instead of sorting again:
/// the pair counts' windows over `events`, the `sessions` join over `session_numbers`.
fn written_order(table: &str) -> &'static [&'static str] {
    match table {
        "session_numbers" => &["session"],
        "events" => &["session", "pos"],
        t if t.starts_with("pair_counts_") => &["a", "b"],
        _ => &[],
    }
}

/// Registers the table at `path` as `name`, declaring its [`written_order`] on the local engine
/// only: Ballista's shuffles do not keep a declared order that the plan above them relies on
/// (the pair counts came out wrong in some runs), so there the plans sort instead.
async fn register(ctx: &SessionContext, engine: &Engine, name: &str, path: &Path) -> Result<()> {
    let order = if matches!(engine, Engine::Local { .. }) { written_order(name) } else { &[] };
    let order: Vec<SortExpr> = order.iter().map(|c| col(*c).sort(true, false)).collect();
    let file_sort_order = if order.is_empty() { vec![] } else { vec![order] };
    let options = ParquetReadOptions { file_extension: ".parquet", file_sort_order, ..Default::default() };
    ctx.register_parquet(name, absolute(path)?, options).await.map_err(df_error(name))
}

async fn scalar(ctx: &SessionContext, sql: &str, to: DataType) -> Result<Option<datafusion::arrow::array::ArrayRef>> {
    let batches = ctx.sql(sql).await.map_err(df_error(sql))?.collect().await.map_err(df_error(sql))?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
    cast(batch.column(0), &to).map(Some).map_err(|e| Error::io(sql, e.to_string()))
}

async fn scalar_u64(ctx: &SessionContext, sql: &str) -> Result<u64> {
    let c = scalar(ctx, sql, DataType::UInt64).await?.ok_or_else(|| Error::io(sql, "no rows"))?;
    Ok(c.as_primitive::<UInt64Type>().value(0))
}

/// A session that runs plans on `engine`.
async fn session(engine: &Engine) -> Result<SessionContext> {
    match engine {
        Engine::Local { memory_limit, partitions } => {
            let runtime = RuntimeEnvBuilder::new()
                .with_memory_pool(std::sync::Arc::new(FairSpillPool::new(*memory_limit)))
                .build_arc()
                .map_err(df_error("datafusion runtime"))?;
            let mut config =
                SessionConfig::new().with_target_partitions((*partitions).max(1)).with_batch_size(log::BATCH_ROWS);
            // Keep a declared order through repartitioning rather than sort again (`written_order`).
            config.options_mut().optimizer.prefer_existing_sort = true;
            // ... also when a table has several shards: group them by their statistics, so each
            // group reads shards whose ranges follow each other, in order.
            config.options_mut().execution.split_file_groups_by_statistics = true;
            // Strings as plain `Utf8`, not views into the pages read: a sorted batch of views keeps
            // (and is charged for) the buffers of every batch its rows came from, so at the default
            // pool the numbering sort of a 10M-event log could not get memory to merge its spills.
            config.options_mut().execution.parquet.schema_force_view_types = false;
            Ok(SessionContext::new_with_config_rt(config, runtime))
        }
        Engine::Ballista { host, port } => ballista::connect(host, *port).await,
    }
}

async fn prepare_on(log_path: &Path, out: &Path, engine: &Engine) -> Result<PrepManifest> {
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let ctx = session(engine).await?;
    register(&ctx, engine, "log", log_path).await?;
    let mut tables = Vec::new();
    let n_sessions = scalar_u64(&ctx, &plans::count_sessions()).await?;
    let n_events = scalar_u64(&ctx, &plans::count_events()).await?;
    let cuts = Split::cuts(n_sessions as usize, DEFAULT_FRACTIONS);
    // Tables that only later plans read, removed at the end; not part of the prepared output.
    // They split plans whose operators would otherwise hold memory at once where one of them
    // cannot spill: an aggregation's groups and a sort's.
    let scratch = out.join(SCRATCH);
    // A table from one query, or from a query split into passes whose rows follow each other.
    let stage = async |dir: &Path, name: &str, passes: Vec<String>, columns: Columns<'_>| -> Result<TableFiles> {
        let mut frames = Vec::with_capacity(passes.len());
        for sql in &passes {
            frames.push(ctx.sql(sql).await.map_err(df_error(name))?);
        }
        let written = write_table(frames, dir, name, columns).await?;
        register(&ctx, engine, name, &dir.join(name)).await?;
        Ok(written)
    };
    stage(&scratch, "session_groups", vec![plans::session_groups()], SESSION_GROUPS).await?;
    stage(&scratch, "session_numbers", vec![plans::session_numbers()], SESSION_NUMBERS).await?;
    stage(&scratch, "session_times", vec![plans::session_times()], SESSION_TIMES).await?;
    // The plans whose memory would grow with the log, in passes of sessions.
    let passes = KeyRange::passes(n_sessions, engine.sessions_per_pass(n_sessions, n_events));
    tables.push(stage(out, "sessions", passes.iter().map(|p| plans::sessions(cuts, p)).collect(), SESSIONS).await?);
    tables.push(stage(out, "items", vec![plans::items()], &items_columns()).await?);
    tables.push(stage(out, "events", passes.iter().map(plans::events).collect(), EVENTS).await?);
    // Both histories' pair counts: a scratch table for each pass, then their sums, at most
    // `PAIR_MERGE_FAN_IN` tables at a time, until that many are left for the final sums.
    let mut counts: VecDeque<String> = VecDeque::with_capacity(passes.len());
    for (k, pass) in passes.iter().enumerate() {
        let name = format!("pair_counts_{k}");
        stage(&scratch, &name, vec![plans::pair_counts(pass)], PAIR_COUNTS).await?;
        counts.push_back(name);
    }
    let mut next = passes.len();
    while counts.len() > PAIR_MERGE_FAN_IN {
        let inputs: Vec<String> = counts.drain(..PAIR_MERGE_FAN_IN).collect();
        let name = format!("pair_counts_{next}");
        next += 1;
        stage(&scratch, &name, vec![plans::sum_pair_counts(&inputs)], PAIR_COUNTS).await?;
        for input in &inputs {
            ctx.deregister_table(input.as_str()).map_err(df_error(input))?;
            std::fs::remove_dir_all(scratch.join(input)).map_err(|e| Error::io(scratch.join(input), e))?;
        }
        counts.push_back(name);
    }
    let counts = Vec::from(counts);
    let mut recent_from = [0.0; 2];
    for (k, h) in HistoryPart::BOTH.into_iter().enumerate() {
        let len = scalar_u64(&ctx, &plans::history_length(h)).await? as usize;
        if len > 0 {
            let c = scalar(&ctx, &plans::session_start(len * 9 / 10), DataType::Float64).await?;
            recent_from[k] = c.map_or(0.0, |c| c.as_primitive::<Float64Type>().value(0));
        }
        let s = h.suffix();
        tables.push(stage(out, &format!("stats_{s}"), vec![plans::stats(h, recent_from[k])], STATS).await?);
        tables.push(stage(out, &format!("pairs_{s}"), vec![plans::pairs(h, &counts)], PAIRS).await?);
        let neighbors = vec![plans::neighbors(h, MAX_NEIGHBORS)];
        tables.push(stage(out, &format!("neighbors_{s}"), neighbors, NEIGHBORS).await?);
    }
    std::fs::remove_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    let rows = |name: &str| tables.iter().find(|t: &&TableFiles| t.name == name).map_or(0, |t| t.rows);
    let manifest = PrepManifest {
        format: PREP_FORMAT,
        log: log_path.display().to_string(),
        engine: engine.to_string(),
        events: rows("events"),
        sessions: n_sessions,
        items: rows("items"),
        cuts: [cuts.0 as u64, cuts.1 as u64, cuts.2 as u64],
        recent_from,
        neighbors: MAX_NEIGHBORS,
        tables,
        passes: passes.len() as u64,
        seconds: start.elapsed().as_secs_f64(),
    };
    let path = out.join(MANIFEST);
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error::io(&path, e.to_string()))?;
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    Ok(manifest)
}

/// A prepared directory, read back into the in-memory structures the evaluation uses.
pub struct PreparedTables {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: PrepManifest,
}

/// One session of the `sessions` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The session's id in the log.
    pub id: String,
    /// Its first event's start time (ms).
    pub start_ms: f64,
    /// Its rank by start time (ties by session number).
    pub by_time: u64,
    /// Its window: 0 history A, 1 training cases, 2 validation, 3 test.
    pub part: u8,
}

/// One item's counts in a history (`stats_a` / `stats_b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemStats {
    /// Events of the item in the history.
    pub events: u32,
    /// Of those, events at or after the history's `recent_from`.
    pub recent: u32,
}

fn column<'a, T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a datafusion::arrow::array::PrimitiveArray<T>> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
        .ok_or_else(|| Error::io(name, "missing or mistyped column in a prepared table"))
}

impl PreparedTables {
    /// Opens a prepared directory.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(PreparedTables { dir: dir.to_owned(), manifest: PrepManifest::read(dir)? })
    }

    fn each(&self, table: &str, each: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
        read_table(&self.dir, self.manifest.table(table)?, each)
    }

    /// The `sessions` table, in session-number order.
    pub fn sessions(&self) -> Result<Vec<SessionRow>> {
        let mut rows = Vec::new();
        self.each("sessions", |b| {
            let ids = b
                .column_by_name("session_id")
                .map(|c| c.as_string::<i32>())
                .ok_or_else(|| Error::io("sessions", "no session_id"))?;
            let (start, by_time, part) = (
                column::<Float64Type>(b, "start_ms")?,
                column::<UInt64Type>(b, "by_time")?,
                column::<UInt8Type>(b, "part")?,
            );
            for r in 0..b.num_rows() {
                rows.push(SessionRow {
                    id: ids.value(r).to_owned(),
                    start_ms: start.value(r),
                    by_time: by_time.value(r),
                    part: part.value(r),
                });
            }
            Ok(())
        })?;
        Ok(rows)
    }

    /// The session numbers of each window, by start time: the prepared [`Split`].
    pub fn split(&self) -> Result<Split> {
        let mut by_time: Vec<(u64, usize, u8)> = Vec::with_capacity(self.manifest.sessions as usize);
        self.each("sessions", |b| {
            let (t, part) = (column::<UInt64Type>(b, "by_time")?, column::<UInt8Type>(b, "part")?);
            for r in 0..b.num_rows() {
                by_time.push((t.value(r), by_time.len(), part.value(r)));
            }
            Ok(())
        })?;
        by_time.sort_unstable();
        let part = |p: u8| by_time.iter().filter(|s| s.2 == p).map(|s| s.1).collect::<Vec<_>>();
        let (history_train, train) = (part(0), part(1));
        Ok(Split {
            history_eval: history_train.iter().chain(&train).copied().collect(),
            history_train,
            train,
            valid: part(2),
            test: part(3),
        })
    }

    /// Item counts of history `h`, for every item of the log.
    pub fn stats(&self, h: HistoryPart) -> Result<Vec<ItemStats>> {
        let mut stats = vec![ItemStats { events: 0, recent: 0 }; self.manifest.items as usize];
        self.each(&format!("stats_{}", h.suffix()), |b| {
            let (item, n, recent) = (
                column::<UInt32Type>(b, "item")?,
                column::<UInt32Type>(b, "n_events")?,
                column::<UInt32Type>(b, "n_recent")?,
            );
            for r in 0..b.num_rows() {
                let slot =
                    stats.get_mut(item.value(r) as usize).ok_or_else(|| Error::io("stats", "item out of range"))?;
                *slot = ItemStats { events: n.value(r), recent: recent.value(r) };
            }
            Ok(())
        })?;
        Ok(stats)
    }

    /// The co-occurrence statistics of history `h`, as `CoOccurrence::fit` builds them in memory.
    pub fn co_occurrence(&self, h: HistoryPart) -> Result<CoOccurrence> {
        let counts: Vec<f32> = self.stats(h)?.iter().map(|s| s.events as f32).collect();
        let n = counts.len();
        let mut offsets = vec![0usize; n + 1];
        let table = format!("pairs_{}", h.suffix());
        // Exact capacity: the pair lists are most of a history's memory, and growing them by
        // doubling would hold up to three times their size at a reallocation.
        let rows = self.manifest.table(&table)?.rows as usize;
        let (mut cols, mut vals) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        let mut last_row = 0usize;
        self.each(&table, |batch| {
            let (a, b, c) = (
                column::<UInt32Type>(batch, "a")?,
                column::<UInt32Type>(batch, "b")?,
                column::<UInt32Type>(batch, "n_pairs")?,
            );
            for r in 0..batch.num_rows() {
                let row = a.value(r) as usize;
                if row >= n || row < last_row {
                    return Err(Error::io("pairs", "rows out of order or out of range"));
                }
                for o in &mut offsets[last_row + 1..=row] {
                    *o = cols.len();
                }
                last_row = row;
                cols.push(b.value(r));
                vals.push(c.value(r) as f32);
            }
            Ok(())
        })?;
        for o in &mut offsets[last_row + 1..=n] {
            *o = cols.len();
        }
        Ok(CoOccurrence::from_parts(counts, offsets, cols, vals))
    }

    /// Each item's neighbour list in history `h`, `(neighbour, weight)` most similar first.
    pub fn neighbors(&self, h: HistoryPart) -> Result<Vec<Vec<(u32, f32)>>> {
        let mut lists = vec![Vec::new(); self.manifest.items as usize];
        self.each(&format!("neighbors_{}", h.suffix()), |b| {
            let (item, nb, w) = (
                column::<UInt32Type>(b, "item")?,
                column::<UInt32Type>(b, "neighbor")?,
                column::<Float32Type>(b, "weight")?,
            );
            for r in 0..b.num_rows() {
                let list: &mut Vec<(u32, f32)> =
                    lists.get_mut(item.value(r) as usize).ok_or_else(|| Error::io("neighbors", "item out of range"))?;
                list.push((nb.value(r), w.value(r)));
            }
            Ok(())
        })?;
        Ok(lists)
    }

    /// The evaluation's [`Prepared`] with this directory's windows, co-occurrence statistics
    /// and neighbour lists; `dataset` is the log read into memory (`load_log` of the
    /// manifest's log), which the cases, the server's profiles and SKNN still come from.
    pub fn prepared(&self, dataset: Dataset, dim: usize, kind: EmbeddingKind) -> Result<Prepared> {
        let mismatch = |what: &str| Error::io(&self.dir, format!("the log's {what} differ from the prepared tables'"));
        if dataset.catalog.len() as u64 != self.manifest.items || dataset.n_events() as u64 != self.manifest.events {
            return Err(mismatch("items or events"));
        }
        let sessions = self.sessions()?;
        if sessions.len() != dataset.sessions.len() || sessions.iter().zip(&dataset.sessions).any(|(a, b)| a.id != b.id)
        {
            return Err(mismatch("sessions"));
        }
        let split = self.split()?;
        let history = |h: HistoryPart, sessions: &[usize], align_to| -> Result<History> {
            Ok(History::with_statistics(
                &dataset,
                sessions,
                self.co_occurrence(h)?,
                self.neighbors(h)?,
                dim,
                kind,
                align_to,
            ))
        };
        let history_train = history(HistoryPart::A, &split.history_train, None)?;
        let history_eval = history(HistoryPart::B, &split.history_eval, Some(&history_train.embeddings))?;
        Ok(Prepared::from_parts(dataset, split, history_train, history_eval))
    }
}
