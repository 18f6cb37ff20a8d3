//! Streams a prepared directory's tables into the in-memory structures the trainer and the
//! evaluation use (`training`, `evaluation`), holding what those need and never the log: the
//! catalogue, each history's statistics (embeddings fitted from the pair counts, the server
//! ranker with profiles summed from a sorted plan, neighbour lists) and the events of chosen
//! sessions only.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, UInt32Type};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use super::plans::{HistoryPart, KeyRange};
use super::{column, df_error, register, session, Engine, PreparedTables, DEFAULT_MEMORY_LIMIT};
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::eval::{
    CoOccurrence, EmbeddingKind, History, ItemEmbeddings, ItemKnn, ProfileSums, ServerModel, Sknn, Split,
};
use crate::event::Action;
use crate::page::ItemType;

/// What a history read from the tables keeps beyond what every case needs.
#[derive(Clone)]
pub(super) struct Kept {
    /// The listeners whose server profiles are summed: those of the sessions cases may be drawn
    /// from (the server ranks no other listener's list). Every listener's profile would be memory
    /// that grows with the log.
    pub listeners: HashSet<String>,
    /// The session-kNN index, and with it item-kNN's pair counts: the evaluation's server-side
    /// baselines (`None` for the trainer).
    pub sknn: Option<Sknn>,
}

impl Kept {
    /// The listeners of `dataset`'s sessions that hold events, and no baselines.
    pub(super) fn listeners_of(dataset: &Dataset) -> Self {
        let listeners =
            dataset.sessions.iter().filter(|s| !s.events.is_empty()).filter_map(|s| s.user.clone()).collect();
        Kept { listeners, sknn: None }
    }
}

impl PreparedTables {
    /// Both histories from the tables (B's embeddings in A's basis, as `Prepared::new` aligns
    /// them), each keeping what `kept` (A's, B's) names; `dataset` gives the catalogue.
    pub(super) fn histories(
        &self,
        dataset: &Dataset,
        dim: usize,
        [kept_a, kept_b]: [Kept; 2],
    ) -> Result<(History, History)> {
        let a = self.history_from_tables(dataset, HistoryPart::A, dim, None, kept_a)?;
        let b = self.history_from_tables(dataset, HistoryPart::B, dim, Some(&a.embeddings), kept_b)?;
        Ok((a, b))
    }

    /// History `h` from the tables, as `History::fit` fits it on the whole log, for the cases of
    /// the listeners `kept` names: the server ranker holds their profiles only, and without
    /// `kept.sknn` (the session-kNN index, which `History::fit` builds from the history's events)
    /// the baselines the trainer does not use are left out: that index, and item-kNN's pair
    /// counts, which are dropped once the embeddings are fitted (they are most of a history's
    /// memory). The learned embeddings read the pair counts, not the history's sessions.
    fn history_from_tables(
        &self,
        dataset: &Dataset,
        h: HistoryPart,
        dim: usize,
        align_to: Option<&ItemEmbeddings>,
        kept: Kept,
    ) -> Result<History> {
        let co = self.co_occurrence(h)?;
        let embeddings = History::embeddings(dataset, &[], &co, dim, EmbeddingKind::Learned, align_to);
        let (knn, sknn) = match kept.sknn {
            Some(sknn) => (ItemKnn::new(co), sknn),
            None => {
                let n = co.n_items();
                let counts: Vec<f32> = (0..n as u32).map(|i| co.count(i)).collect();
                drop(co);
                let knn = ItemKnn::new(CoOccurrence::from_parts(counts, vec![0; n + 1], Vec::new(), Vec::new()));
                (knn, Sknn::fit(dataset, &[]))
            }
        };
        let stats = self.stats(h)?;
        let mut profiles = ProfileSums::new(&embeddings);
        self.each_positive_history_event(h, |user, item| {
            if kept.listeners.contains(user) {
                profiles.add(user, item);
            }
        })?;
        let server = ServerModel::from_counts(
            stats.iter().map(|s| s.events).collect(),
            stats.iter().map(|s| s.recent).collect(),
            profiles,
        );
        Ok(History { server, embeddings, knn, neighbors: self.neighbors(h)?, sknn })
    }

    /// A dataset of the catalogue and the sessions `read` marks, in session order, with their
    /// events, ids and listeners; `split` renumbered to match (`Split::held_only`).
    pub(super) fn dataset_holding(&self, read: &[bool], split: &mut Split) -> Result<Dataset> {
        let held: Vec<usize> = (0..read.len()).filter(|&s| read[s]).collect();
        split.held_only(&held);
        let mut sessions: Vec<Session> = vec![Session::default(); held.len()];
        self.each_session(|s, events| {
            if let Ok(k) = held.binary_search(&s) {
                sessions[k].events = events.to_vec();
            }
            Ok(())
        })?;
        self.each_listener(|s, id, user| {
            if let Ok(k) = held.binary_search(&s) {
                sessions[k].id = id.to_owned();
                sessions[k].user = user.map(str::to_owned);
            }
        })?;
        Ok(Dataset { sessions, ..self.catalog_only()? })
    }

    /// A dataset of the catalogue and no sessions: what a history fitted from the tables reads.
    pub(super) fn catalog_only(&self) -> Result<Dataset> {
        let name = super::log::dataset_name(std::path::Path::new(&self.manifest.log));
        Ok(Dataset { name, catalog: self.catalog()?, sessions: Vec::new(), content_only: false })
    }

    /// Streams the `sessions` table as (session number, session id, listener).
    pub(super) fn each_listener(&self, mut each: impl FnMut(usize, &str, Option<&str>)) -> Result<()> {
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
                each(number.value(r) as usize, ids.value(r), users.is_valid(r).then(|| users.value(r)));
            }
            Ok(())
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
