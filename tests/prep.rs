//! The Parquet log and `prepare` (features `prep` + `ballista`): the log reads back as written
//! whatever its row order; a simulator log of a million events prepared on the embedded engine
//! gives exactly the in-memory path's windows, counts, co-occurrence and neighbours; and the
//! same plans on a Ballista scheduler and executor started on loopback give byte-identical
//! tables.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use homerank::dataset::Dataset;
use homerank::eval::{CoOccurrence, Split};
use homerank::prep::plans::{HistoryPart, KeyRange};
use homerank::prep::{self, Engine, LoopbackCluster, PreparedTables};
use homerank::sim::{simulate, SimConfig};
use homerank::{Error, MAX_NEIGHBORS};

fn sim_log(users: usize) -> Dataset {
    simulate(&SimConfig { n_users: users, seed: 5, ..Default::default() })
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homerank-prep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A simulator log of `users` listeners as Parquet in a fresh directory `name`, prepared there
/// on the embedded engine: (the directory, the log, the prepared directory).
fn prepared_sim_log(name: &str, users: usize) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let (log, prepared) = (dir.join("log.parquet"), dir.join("prep"));
    prep::convert(&sim_log(users), &log).unwrap();
    prep::prepare(&log, &prepared, &Engine::local()).unwrap();
    (dir, log, prepared)
}

/// An event as (session id, user, item id, action, ms played, time).
type EventRow = (String, Option<String>, String, &'static str, Option<f32>, f64);

/// Every event, in dataset order.
fn events_of(d: &Dataset) -> Vec<EventRow> {
    d.sessions
        .iter()
        .flat_map(|s| {
            s.events.iter().map(|e| {
                (
                    s.id.clone(),
                    s.user.clone(),
                    d.catalog.ids[e.item as usize].clone(),
                    e.action.as_str(),
                    e.ms_played,
                    e.time_ms,
                )
            })
        })
        .collect()
}

fn read_batches(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
}

fn write_batches(path: &Path, batches: &[RecordBatch]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, batches[0].schema(), None).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn parquet_log_reads_back_as_written_in_any_row_order() {
    let dir = temp_dir("roundtrip");
    let original = sim_log(60);
    let path = dir.join("log.parquet");
    let n = prep::convert(&original, &path).unwrap();
    assert_eq!(n as usize, original.n_events());
    let back = prep::load_log(&path).unwrap();
    assert_eq!(events_of(&back), events_of(&original));
    for (i, id) in back.catalog.ids.iter().enumerate() {
        let j = original.catalog.get(id).unwrap() as usize;
        assert_eq!(back.catalog.types[i], original.catalog.types[j], "{id}");
        assert_eq!(back.catalog.durations_ms[i], original.catalog.durations_ms[j], "{id}");
        let artist = |d: &Dataset, k: usize| d.catalog.artists[k].map(|a| d.catalog.artist_ids[a as usize].clone());
        assert_eq!(artist(&back, i), artist(&original, j), "{id}");
        assert_eq!(back.catalog.content_of(i as u32), original.catalog.content_of(j as u32), "{id}");
    }

    // The same rows in reverse, split over two files of a directory: `seq` decides, not row order.
    let rows =
        datafusion::arrow::compute::concat_batches(&read_batches(&path)[0].schema(), &read_batches(&path)).unwrap();
    let reversed = datafusion::arrow::compute::take_record_batch(
        &rows,
        &datafusion::arrow::array::UInt32Array::from_iter_values((0..rows.num_rows() as u32).rev()),
    )
    .unwrap();
    let parts = dir.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    let half = reversed.num_rows() / 2;
    write_batches(&parts.join("a.parquet"), &[reversed.slice(0, half)]);
    write_batches(&parts.join("b.parquet"), &[reversed.slice(half, reversed.num_rows() - half)]);
    let shuffled = homerank::data::load(&parts, None, None).unwrap();
    assert_eq!(events_of(&shuffled), events_of(&back));
    assert_eq!(shuffled.catalog.ids, back.catalog.ids);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_parquet_logs_get_typed_errors() {
    let dir = temp_dir("bad");
    let path = dir.join("log.parquet");
    prep::convert(&sim_log(3), &path).unwrap();
    let batches = read_batches(&path);
    let schema = batches[0].schema();

    // Without `seq`.
    let keep: Vec<usize> = (1..schema.fields().len()).collect();
    let no_seq: Vec<RecordBatch> = batches.iter().map(|b| b.project(&keep).unwrap()).collect();
    write_batches(&dir.join("no-seq.parquet"), &no_seq);
    let err = prep::load_log(&dir.join("no-seq.parquet")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("column 'seq'"), "{err}");

    // An unknown action.
    let a = schema.index_of("action").unwrap();
    let mut columns = batches[0].columns().to_vec();
    let n = batches[0].num_rows();
    columns[a] = Arc::new(datafusion::arrow::array::StringArray::from(vec!["teleport"; n]));
    write_batches(&dir.join("action.parquet"), &[RecordBatch::try_new(schema.clone(), columns).unwrap()]);
    let err = prep::load_log(&dir.join("action.parquet")).unwrap_err();
    assert!(err.to_string().contains("row 1: unknown action 'teleport'"), "{err}");

    // Engines.
    assert!(matches!("local".parse::<Engine>(), Ok(Engine::Local { .. })));
    assert_eq!("ballista://h:50050".parse::<Engine>().unwrap(), Engine::Ballista { host: "h".into(), port: 50050 });
    for bad in ["spark://h:1", "ballista://h", "ballista://:7", "ballista://h:port"] {
        assert!(matches!(bad.parse::<Engine>(), Err(Error::InvalidArgument(_))), "{bad}");
    }
    // A directory that is not a log.
    let err = prep::prepare(&dir.join("missing.parquet"), &dir.join("out"), &Engine::local()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn assert_co_occurrence_equal(prepared: &CoOccurrence, memory: &CoOccurrence, label: &str) {
    assert_eq!(prepared.n_items(), memory.n_items(), "{label}");
    assert_eq!(prepared.nnz(), memory.nnz(), "{label}");
    for i in 0..memory.n_items() as u32 {
        assert_eq!(prepared.count(i), memory.count(i), "{label}: count of {i}");
        assert_eq!(prepared.row(i), memory.row(i), "{label}: row {i}");
    }
}

/// `part` holds some of `memory`'s sessions, in session order, with their events and listeners,
/// and its split lists them where `memory`'s does (`Split::held_only`). Returns how many it holds.
fn assert_holds_part_of(part: &homerank::eval::Prepared, memory: &homerank::eval::Prepared) -> usize {
    let number: std::collections::HashMap<&str, usize> =
        memory.dataset.sessions.iter().enumerate().map(|(s, session)| (session.id.as_str(), s)).collect();
    let held: Vec<usize> = part.dataset.sessions.iter().map(|session| number[session.id.as_str()]).collect();
    assert!(held.windows(2).all(|w| w[0] < w[1]), "held sessions in session order");
    for (session, &s) in part.dataset.sessions.iter().zip(&held) {
        let whole = &memory.dataset.sessions[s];
        assert_eq!((&session.events, &session.user), (&whole.events, &whole.user), "session {}", session.id);
    }
    let mut expected = memory.split.clone();
    expected.held_only(&held);
    assert_eq!(part.split, expected);
    held.len()
}

#[test]
fn a_million_events_prepare_as_in_memory_on_datafusion_and_on_ballista() {
    let dir = temp_dir("million");
    let log = dir.join("log.parquet");
    prep::convert(&sim_log(16_200), &log).unwrap();
    // The in-memory path reads the same Parquet log.
    let dataset = homerank::data::load(&log, None, None).unwrap();
    assert!(dataset.n_events() >= 1_000_000, "{} events", dataset.n_events());

    let local = prep::prepare(&log, &dir.join("local"), &Engine::local()).unwrap();
    assert!(!dir.join("local/scratch").exists(), "the scratch tables are removed");
    assert_eq!(local.events as usize, dataset.n_events());
    assert_eq!(local.sessions as usize, dataset.sessions.len());
    assert_eq!(local.items as usize, dataset.catalog.len());
    let tables = PreparedTables::open(&dir.join("local")).unwrap();
    let sessions = tables.sessions().unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        dataset.sessions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()
    );
    let split = Split::default_for(&dataset);
    assert_eq!(tables.split().unwrap(), split);

    for (h, history) in [(HistoryPart::A, &split.history_train), (HistoryPart::B, &split.history_eval)] {
        let memory = CoOccurrence::fit(&dataset, history);
        assert_co_occurrence_equal(&tables.co_occurrence(h).unwrap(), &memory, h.suffix());
        let neighbors = tables.neighbors(h).unwrap();
        for i in 0..dataset.catalog.len() as u32 {
            let mut expected = memory.neighbors(i, MAX_NEIGHBORS);
            expected.iter_mut().for_each(|(_, w)| *w = w.clamp(0.0, 1.0));
            assert_eq!(neighbors[i as usize], expected, "{}: neighbours of {i}", h.suffix());
        }
        // Recent popularity: events of the history at or after its `len · 9/10`-th session's start.
        let recent_from = history.get(history.len() * 9 / 10).map_or(0.0, |&s| dataset.sessions[s].start_ms());
        let mut recent = vec![0u32; dataset.catalog.len()];
        for &s in history {
            for e in dataset.sessions[s].events.iter().filter(|e| e.time_ms >= recent_from) {
                recent[e.item as usize] += 1;
            }
        }
        let stats = tables.stats(h).unwrap();
        assert_eq!(stats.iter().map(|s| s.recent).collect::<Vec<_>>(), recent, "{}", h.suffix());
    }

    // A 48 MiB pool (the default is 64), where the sessions and events plans run in more passes
    // and the sorts and aggregations spill more: the same tables.
    let small = Engine::Local { memory_limit: 48 << 20, partitions: 2 };
    let spilled = prep::prepare(&log, &dir.join("small"), &small).unwrap();
    // The default pool grows with the cores (`MEMORY_PER_PARTITION`): 2 passes on two cores.
    let default_passes =
        KeyRange::passes(local.sessions, Engine::local().sessions_per_pass(local.sessions, local.events)).len() as u64;
    assert_eq!((local.passes, spilled.passes), (default_passes, 3));
    assert_eq!(spilled.content(), local.content(), "spilling and passes do not change the tables");

    let cluster = LoopbackCluster::start(2).unwrap();
    let engine: Engine = cluster.url().parse().unwrap();
    let remote = prep::prepare(&log, &dir.join("ballista"), &engine).unwrap();
    assert_eq!(remote.engine, cluster.url());
    assert_eq!(remote.content(), local.content(), "the same plans give the same tables on both engines");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `eval --prep`: the evaluation's data from the tables, holding only the sessions its capped
/// case draws read (the server's top N included, whose cases depend on each listener's server
/// ranking), gives `evaluate` exactly what the whole log in memory gives it; so does the path
/// that reads the log beside the tables.
#[test]
fn evaluation_from_prepared_tables_matches_the_in_memory_path() {
    use homerank::eval::{evaluate, CaseConfig, EmbeddingKind, EvalConfig, Prepared};
    let (dir, log, prepared_dir) = prepared_sim_log("eval", 300);
    let model_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/homerank-s.gguf");
    let model = homerank::model::ModelFile::from_bytes(&std::fs::read(model_path).unwrap()).unwrap();
    let dim = model.config.embedding_dim;
    let cases = CaseConfig { max_cases: 300, ..Default::default() };
    let config =
        EvalConfig { bootstrap: 200, linear_train_cases: 300, full_catalogue_cases: 20, cases, ..Default::default() };

    let memory = Prepared::new(homerank::data::load(&log, None, None).unwrap(), dim);
    let streamed = prep::prepared_for_eval(&prepared_dir, &config, dim).unwrap();
    let with_log = prep::prepared_for_eval_with_log(&prepared_dir, None, dim, EmbeddingKind::Learned).unwrap();
    let held = assert_holds_part_of(&streamed, &memory);
    assert!(held * 2 < memory.dataset.sessions.len(), "{held} of {} sessions held", memory.dataset.sessions.len());
    let a = evaluate(&memory, &model, None, &config).unwrap();
    assert!(a.window.n_cases == 300 && a.server_top.n_cases >= 20, "{} / {}", a.window.n_cases, a.server_top.n_cases);
    for (path, prepared) in [("tables", &streamed), ("tables and log", &with_log)] {
        let b = evaluate(prepared, &model, None, &config).unwrap();
        assert_eq!(format!("{:?}", b.window), format!("{:?}", a.window), "{path}");
        assert_eq!(format!("{:?}", b.server_top), format!("{:?}", a.server_top), "{path}");
        assert_eq!(format!("{:?}", b.full_catalogue), format!("{:?}", a.full_catalogue), "{path}");
        assert_eq!(b.page_bytes, a.page_bytes, "{path}");
    }

    // The mid-term context reads each listener's earlier sessions: only with the log.
    let midterm = EvalConfig { cases: CaseConfig { prior_events: 8, ..config.cases.clone() }, ..config.clone() };
    let err = prep::prepared_for_eval(&prepared_dir, &midterm, dim).err().unwrap();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err}");
    // A log that is not the prepared one is refused.
    let other = dir.join("other.parquet");
    prep::convert(&sim_log(20), &other).unwrap();
    let err = prep::prepared_for_eval_with_log(&prepared_dir, Some(&other), dim, EmbeddingKind::Learned).err().unwrap();
    assert!(err.to_string().contains("differ from the prepared tables"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `train --prep`: the trainer's data from the tables, holding only the sessions its capped case
/// draws read, trains exactly the weights the whole log in memory trains; and through the
/// command line, with a checkpoint, a resume and `eval --prep` on the result.
#[test]
fn training_from_prepared_tables_matches_the_in_memory_path() {
    use homerank::eval::{Part, Prepared};
    use homerank::train::{train, TrainConfig};
    let (dir, log, prepared_dir) = prepared_sim_log("train", 300);
    let config = TrainConfig {
        epochs: 2,
        batch_size: 32,
        max_train_cases: 160,
        max_valid_cases: 48,
        n_cands: 16,
        progress: false,
        ..Default::default()
    };
    let dim = config.model.embedding_dim;
    let memory = Prepared::new(homerank::data::load(&log, None, None).unwrap(), dim);
    let tables = prep::prepared_for_training(&prepared_dir, &config, 0).unwrap();
    let read = assert_holds_part_of(&tables, &memory);
    assert!(read * 2 < memory.dataset.sessions.len(), "{read} of {} sessions read", memory.dataset.sessions.len());
    for part in [Part::Train, Part::Valid] {
        let (a, b) = (memory.history(part), tables.history(part));
        assert_eq!(a.embeddings.values, b.embeddings.values);
        // The server ranks the listeners of the sessions read (the others' profiles are not kept).
        let places = memory.sessions(part).iter().zip(tables.sessions(part));
        let read = places.filter(|(_, &held)| held != Split::NOT_HELD).map(|(s, _)| s);
        for s in read.take(40) {
            let user = memory.dataset.sessions[*s].user.as_deref();
            assert_eq!(a.server.scores(user, &a.embeddings), b.server.scores(user, &b.embeddings), "{user:?}");
        }
    }
    let a = train(std::slice::from_ref(&memory), &config).unwrap();
    let b = train(std::slice::from_ref(&tables), &config).unwrap();
    assert_eq!(a.n_train_cases, 160);
    assert_eq!(b.log, a.log);
    assert_eq!(common::weights_as_vecs(&b.weights), common::weights_as_vecs(&a.weights));
    let err = prep::prepared_for_training(&prepared_dir, &TrainConfig { prior_events: 8, ..config }, 0);
    assert!(matches!(err, Err(Error::InvalidOptions(_))));

    // The command line: two epochs in two runs, the second resuming the first's checkpoint.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_homerank")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "homerank {args:?}: {stderr}");
        stderr
    };
    let (prepared, model, checkpoint) = (prepared_dir, dir.join("model.gguf"), dir.join("checkpoint"));
    let (prepared, model, checkpoint) =
        (prepared.to_str().unwrap(), model.to_str().unwrap(), checkpoint.to_str().unwrap());
    let train_args = ["train", "--prep", prepared, "--out", model, "--max-cases", "160", "--batch", "32", "--quiet"];
    let first = cli(&[&train_args[..], &["--epochs", "1", "--checkpoint", checkpoint, "--threads", "1"]].concat());
    assert!(first.contains("1 epochs run here: ") && first.contains("(1 batch parts, candle threads 1)"), "{first}");
    let second = cli(&[&train_args[..], &["--epochs", "2", "--checkpoint", checkpoint, "--resume"]].concat());
    assert!(second.contains("1 epochs run here: "), "{second}");
    let report = dir.join("eval.md");
    cli(&["eval", "--prep", prepared, "--model", model, "--max-cases", "300", "--report", report.to_str().unwrap()]);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("HR-S") && text.contains("item-kNN"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pair counts as `prepare` sums them: four pass tables into one (`sum_pair_counts`), that one
/// with the rest into each history's pairs (`pairs`). Exact sums of both histories' counts,
/// each by `(a, b)`, and history A without the pairs only B saw.
#[test]
fn pair_counts_summed_in_rounds_give_each_histories_exact_sums() {
    use datafusion::arrow::array::{AsArray, UInt32Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, UInt32Type};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;
    use homerank::prep::plans::{pairs, sum_pair_counts};
    use std::collections::BTreeMap;

    let schema =
        Arc::new(Schema::new(["a", "b", "n_a", "n_b"].map(|c| Field::new(c, DataType::UInt32, false)).to_vec()));
    let mut expected: [BTreeMap<(u32, u32), u32>; 2] = Default::default();
    let mut rng = common::Rng(7);
    let mut next = move |m: u32| rng.below(m as usize) as u32;
    let ctx = SessionContext::new();
    let names: Vec<String> = (0..6).map(|k| format!("pair_counts_{k}")).collect();
    for name in &names {
        let mut rows = BTreeMap::new();
        for _ in 0..200 {
            let n_b = 1 + next(5);
            rows.insert((next(12), next(12)), (next(n_b + 1), n_b));
        }
        for (&pair, &(n_a, n_b)) in &rows {
            *expected[1].entry(pair).or_default() += n_b;
            if n_a > 0 {
                *expected[0].entry(pair).or_default() += n_a;
            }
        }
        let column = |i: usize| {
            let values = rows.iter().map(|(&(a, b), &(n_a, n_b))| [a, b, n_a, n_b][i]);
            Arc::new(UInt32Array::from_iter_values(values)) as _
        };
        let batch = RecordBatch::try_new(schema.clone(), (0..4).map(column).collect()).unwrap();
        ctx.register_batch(name, batch).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let rows = |sql: String| -> Vec<(u32, u32, u32)> {
        let batches = rt.block_on(async { ctx.sql(&sql).await.unwrap().collect().await.unwrap() });
        let mut out = Vec::new();
        for batch in &batches {
            let [a, b, n] = [0, 1, 2].map(|i| batch.column(i).as_primitive::<UInt32Type>().values().to_vec());
            out.extend((0..batch.num_rows()).map(|r| (a[r], b[r], n[r])));
        }
        out
    };
    let merged = rt.block_on(async { ctx.sql(&sum_pair_counts(&names[..4])).await.unwrap().collect().await.unwrap() });
    let merged = MemTable::try_new(merged[0].schema(), vec![merged]).unwrap();
    ctx.register_table("pair_counts_6", Arc::new(merged)).unwrap();
    let rounds = ["pair_counts_6", "pair_counts_4", "pair_counts_5"].map(String::from);
    for (h, want) in HistoryPart::BOTH.into_iter().zip(&expected) {
        let want: Vec<(u32, u32, u32)> = want.iter().map(|(&(a, b), &n)| (a, b, n)).collect();
        assert!(want.len() > 50, "{h:?}: {} pairs", want.len());
        assert_eq!(rows(pairs(h, &rounds)), want, "{h:?}");
    }
}
