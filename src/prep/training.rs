//! Training from a prepared directory (`homerank train --prep DIR`) without reading the log
//! into memory. The trainer draws a bounded number of cases per window
//! (`TrainConfig::max_train_cases`, `max_valid_cases`); which sessions those cases come from is
//! decided before any session's events are held (`eval::sessions_read`), so memory holds the
//! catalogue, the histories' pair counts and neighbour lists, about a hundred bytes per session
//! (its window, an empty slot), and the events of the drawn sessions only: not the log.
//!
//! The `events` table is streamed twice, in session order: once to count each session's
//! eligible positions, once to keep the drawn sessions' events. The server ranker's user
//! profiles are summed from a sorted stream of the histories' positive events (a DataFusion
//! plan, which spills), in the order the in-memory fit adds them, so every number matches the
//! in-memory path's (`tests/prep.rs` trains both and compares the weights).

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, UInt32Type};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::plans::{HistoryPart, KeyRange};
use super::{column, df_error, register, session, Engine, PreparedTables, DEFAULT_MEMORY_LIMIT};
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::eval::{
    eligible_positions, sessions_read, CoOccurrence, EmbeddingKind, History, ItemEmbeddings, ItemKnn, Part, Prepared,
    ProfileSums, ServerModel, Sknn,
};
use crate::event::Action;
use crate::page::ItemType;
use crate::train::{case_draws, TrainConfig};

impl PreparedTables {
    /// The training source `source` (its index among the trainer's sources) of `config`, from
    /// this directory: the windows, both histories (embeddings, server ranker, pair counts,
    /// neighbour lists) and a dataset that holds the events of the sessions the trainer's case
    /// draws read and no others. `train` on it gives what `train` on the whole log in memory
    /// gives. The mid-term context (`prior_events` > 0) reads the listener's other sessions,
    /// which this does not hold: it is refused.
    pub fn prepared_for_training(&self, config: &TrainConfig, source: usize) -> Result<Prepared> {
        if config.prior_events > 0 {
            return Err(Error::InvalidOptions(
                "training from a prepared directory does not support prior_events (the mid-term context) yet".into(),
            ));
        }
        let split = self.split()?;
        let n_sessions = self.manifest.sessions as usize;
        let mut eligible = vec![0u32; n_sessions];
        self.each_session(|s, events| {
            eligible[s] = eligible_positions(events).len() as u32;
            Ok(())
        })?;
        let mut read = vec![false; n_sessions];
        for (part, cc) in case_draws(config, source) {
            let sessions = match part {
                Part::Train => &split.train,
                Part::Valid => &split.valid,
                Part::Test => &split.test,
            };
            for s in sessions_read(sessions, |s| eligible[s] as usize, &cc) {
                read[s] = true;
            }
        }
        drop(eligible);
        let mut sessions: Vec<Session> = vec![Session::default(); n_sessions];
        self.each_session(|s, events| {
            if read[s] {
                sessions[s].events = events.to_vec();
            }
            Ok(())
        })?;
        self.each("sessions", |b| {
            let (number, users, ids) = (
                column::<UInt32Type>(b, "session")?,
                b.column_by_name("user_id").map(|c| c.as_string::<i32>()),
                b.column_by_name("session_id").map(|c| c.as_string::<i32>()),
            );
            let (Some(users), Some(ids)) = (users, ids) else {
                return Err(Error::io("sessions", "no user_id or session_id column"));
            };
            for r in 0..b.num_rows() {
                let s = number.value(r) as usize;
                if read.get(s).copied().unwrap_or(false) {
                    sessions[s].id = ids.value(r).to_owned();
                    sessions[s].user = users.is_valid(r).then(|| users.value(r).to_owned());
                }
            }
            Ok(())
        })?;
        let name = super::log::dataset_name(std::path::Path::new(&self.manifest.log));
        let dataset = Dataset { name, catalog: self.catalog()?, sessions, content_only: false };

        let dim = config.model.embedding_dim;
        let history_train = self.history_for_training(&dataset, HistoryPart::A, &split.history_train, dim, None)?;
        let history_eval = self.history_for_training(
            &dataset,
            HistoryPart::B,
            &split.history_eval,
            dim,
            Some(&history_train.embeddings),
        )?;
        Ok(Prepared::from_parts(dataset, split, history_train, history_eval))
    }

    /// History `h` from the tables, as `History::fit` fits it on the whole log, without the
    /// baselines the trainer does not use: the session-kNN index, and item-kNN's pair counts,
    /// which are dropped once the embeddings are fitted (they are most of a history's memory).
    fn history_for_training(
        &self,
        dataset: &Dataset,
        h: HistoryPart,
        sessions: &[usize],
        dim: usize,
        align_to: Option<&ItemEmbeddings>,
    ) -> Result<History> {
        let co = self.co_occurrence(h)?;
        let n = co.n_items();
        let counts: Vec<f32> = (0..n as u32).map(|i| co.count(i)).collect();
        let embeddings = History::embeddings(dataset, sessions, &co, dim, EmbeddingKind::Learned, align_to);
        drop(co);
        let stats = self.stats(h)?;
        let mut profiles = ProfileSums::new(&embeddings);
        self.each_positive_history_event(h, |user, item| profiles.add(user, item))?;
        let server = ServerModel::from_counts(
            stats.iter().map(|s| s.events).collect(),
            stats.iter().map(|s| s.recent).collect(),
            profiles,
        );
        Ok(History {
            sessions: sessions.to_vec(),
            server,
            embeddings,
            knn: ItemKnn::new(CoOccurrence::from_parts(counts, vec![0; n + 1], Vec::new(), Vec::new())),
            neighbors: self.neighbors(h)?,
            sknn: Sknn::fit(dataset, &[]),
        })
    }

    /// The catalogue, from the `items` table.
    pub fn catalog(&self) -> Result<Catalog> {
        type Row = (String, Option<String>, Option<String>, Option<f32>, Option<Vec<f32>>);
        let mut rows: Vec<Row> = Vec::with_capacity(self.manifest.items as usize);
        self.each("items", |b| {
            let text = |name: &str| {
                b.column_by_name(name).map(|c| c.as_string::<i32>()).ok_or_else(|| Error::io("items", name.to_owned()))
            };
            let (ids, types, artists) = (text("item_id")?, text("item_type")?, text("artist_id")?);
            let durations = column::<Float64Type>(b, "duration_ms")?;
            let features = b.column_by_name("features");
            let opt =
                |c: &datafusion::arrow::array::StringArray, r: usize| c.is_valid(r).then(|| c.value(r).to_owned());
            for r in 0..b.num_rows() {
                rows.push((
                    ids.value(r).to_owned(),
                    opt(types, r),
                    opt(artists, r),
                    durations.is_valid(r).then(|| durations.value(r) as f32),
                    features.and_then(|f| super::log::f32_list(f, r)),
                ));
            }
            Ok(())
        })?;
        let width = rows.iter().find_map(|r| r.4.as_ref().map(Vec::len)).unwrap_or(0);
        let mut catalog = Catalog::new(width);
        for (id, item_type, artist, duration, content) in rows {
            if let Some(f) = content.as_ref().filter(|f| f.len() != width) {
                return Err(Error::io("items", format!("item {id}: {} features, others have {width}", f.len())));
            }
            let t = item_type.as_deref().map(ItemType::from_name);
            super::log::add_item(&mut catalog, &id, t, artist.as_deref(), duration, content.as_deref());
        }
        Ok(catalog)
    }

    /// Streams the `events` table session by session (in session order), each session's events
    /// in position order.
    pub fn each_session(&self, mut each: impl FnMut(usize, &[Interaction]) -> Result<()>) -> Result<()> {
        let mut current: Option<usize> = None;
        let mut events: Vec<Interaction> = Vec::new();
        self.each("events", |b| {
            let (session, item, ms_played, time) = (
                column::<UInt32Type>(b, "session")?,
                column::<UInt32Type>(b, "item")?,
                column::<Float64Type>(b, "ms_played")?,
                column::<Float64Type>(b, "time_ms")?,
            );
            let actions = b
                .column_by_name("action")
                .map(|c| c.as_string::<i32>())
                .ok_or_else(|| Error::io("events", "no action column"))?;
            for r in 0..b.num_rows() {
                let s = session.value(r) as usize;
                if current != Some(s) {
                    if let Some(done) = current {
                        if s < done {
                            return Err(Error::io("events", "rows are not in session order"));
                        }
                        each(done, &events)?;
                    }
                    events.clear();
                    current = Some(s);
                }
                let action = Action::from_name(actions.value(r))
                    .ok_or_else(|| Error::io("events", format!("unknown action '{}'", actions.value(r))))?;
                events.push(Interaction {
                    item: item.value(r),
                    action,
                    ms_played: ms_played.is_valid(r).then(|| ms_played.value(r) as f32),
                    time_ms: time.value(r),
                });
            }
            Ok(())
        })?;
        match current {
            Some(s) => each(s, &events),
            None => Ok(()),
        }
    }

    /// Every positive event of a listener in history `h`, as `(user, item)`, in history order
    /// (sessions by time, events by position): a sorted DataFusion plan over the tables, run in
    /// passes over ranges of time ranks so that its join and sort hold a pass's sessions and
    /// events, not the log's.
    fn each_positive_history_event(&self, h: HistoryPart, mut each: impl FnMut(&str, u32)) -> Result<()> {
        let positives: Vec<String> =
            Action::ALL.iter().filter(|a| a.is_positive()).map(|a| format!("'{}'", a.as_str())).collect();
        let engine = Engine::Local { memory_limit: DEFAULT_MEMORY_LIMIT, partitions: 1 };
        let (sessions, events) = (self.manifest.sessions, self.manifest.events);
        let passes = KeyRange::passes(sessions, engine.sessions_per_pass(sessions, events));
        super::runtime()?.block_on(async {
            let ctx = session(&engine).await?;
            register(&ctx, &engine, "events", &self.dir.join("events")).await?;
            register(&ctx, &engine, "sessions", &self.dir.join("sessions")).await?;
            for pass in &passes {
                let sql = format!(
                    "SELECT s.user_id, e.item FROM events e JOIN sessions s ON e.session = s.session
                     WHERE s.part <= {} AND s.user_id IS NOT NULL AND e.action IN ({}) AND {}
                     ORDER BY s.by_time, e.pos",
                    h.last_window(),
                    positives.join(", "),
                    pass.holds("s.by_time"),
                );
                each_profile_row(&ctx, &sql, &mut each).await?;
            }
            Ok(())
        })
    }
}

/// Streams the `(user, item)` rows of the profile query `sql` into `each`.
async fn each_profile_row(ctx: &SessionContext, sql: &str, each: &mut impl FnMut(&str, u32)) -> Result<()> {
    let frame = ctx.sql(sql).await.map_err(df_error("profiles"))?;
    let mut stream = frame.execute_stream().await.map_err(df_error("profiles"))?;
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch.map_err(df_error("profiles"))?;
        // Parquet strings may come back as views: cast to what is read here.
        let cast = |k: usize, to: &DataType| {
            datafusion::arrow::compute::cast(batch.column(k), to).map_err(|e| Error::io("profiles", e.to_string()))
        };
        let (users, items) = (cast(0, &DataType::Utf8)?, cast(1, &DataType::UInt32)?);
        let (users, items) = (users.as_string::<i32>(), items.as_primitive::<UInt32Type>());
        for r in 0..batch.num_rows() {
            each(users.value(r), items.value(r));
        }
    }
    Ok(())
}
