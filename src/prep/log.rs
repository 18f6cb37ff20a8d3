//! The Parquet event log: the JSONL log's fields as columns, one row per event.
//!
//! | column | type | JSONL field | |
//! |---|---|---|---|
//! | `seq` | int64 / uint64 | (line number) | required: the event's place in the log |
//! | `session_id` | utf8 | `sessionId` | required |
//! | `user_id` | utf8 | `userId` | optional |
//! | `item_id` | utf8 | `itemId` | required |
//! | `action` | utf8 | `action` | required, as in the session event contract |
//! | `ms_played` | float64 | `msPlayed` | optional |
//! | `timestamp_ms` | float64 / int64 | `timestampMs` | required |
//! | `item_type` | utf8 | `type` | optional |
//! | `artist_id` | utf8 | `artistId` | optional |
//! | `duration_ms` | float64 | `durationMs` | optional |
//! | `features` | list\<float32\> | `features` | optional, one width for the whole log |
//!
//! `seq` stands for the JSONL line order, so the meaning of a log does not depend on how a
//! writer (Spark, Beam, BigQuery, this module) split it into files and row groups: sessions and
//! items are numbered by their first event in `seq` order, events within a session are ordered
//! by `(timestamp_ms, seq)`, and an item's type, artist, duration and features come from its
//! last event (by `seq`) that gives them. [`load`] and `homerank prepare` (`super::plans`)
//! both follow these rules, which is why the in-memory path and the prepared one agree.
//! A Spark job can write `seq` with `monotonically_increasing_id()`.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float32Builder, Float64Builder, ListBuilder, RecordBatch, StringBuilder, UInt64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema, SchemaRef, UInt64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

/// Rows per record batch when reading and writing.
pub const BATCH_ROWS: usize = 8192;
/// Rows per row group of the files this module writes.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The schema [`write`] produces (the types [`load`] accepts are wider: see the module table).
pub fn schema() -> SchemaRef {
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let f64 = |name: &str, nullable| Field::new(name, DataType::Float64, nullable);
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        utf8("session_id", false),
        utf8("user_id", true),
        utf8("item_id", false),
        utf8("action", false),
        f64("ms_played", true),
        f64("timestamp_ms", false),
        utf8("item_type", true),
        utf8("artist_id", true),
        f64("duration_ms", true),
        Field::new("features", features_type(), true),
    ]))
}

/// The type of the `features` column: a list of float32.
pub fn features_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float32, true)))
}

/// Writer settings shared by every Parquet file homerank writes: fixed, so that the same rows
/// give the same bytes.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by("homerank".to_owned())
        .build()
}

/// Writes `dataset` as a Parquet log, session by session (events in their order, `seq`
/// counting from 0), every event carrying its item's details, as `data::write_jsonl` does.
/// Returns the number of events written.
pub fn write(dataset: &Dataset, path: &Path) -> Result<u64> {
    let io = |e: &dyn std::fmt::Display| Error::io(path, e.to_string());
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = ArrowWriter::try_new(file, schema(), Some(writer_properties())).map_err(|e| io(&e))?;
    let mut rows = LogRows::default();
    let mut seq = 0u64;
    for s in &dataset.sessions {
        for e in &s.events {
            rows.push(seq, s, e, &dataset.catalog);
            seq += 1;
            if rows.len == BATCH_ROWS {
                writer.write(&rows.finish()?).map_err(|e| io(&e))?;
            }
        }
    }
    if rows.len > 0 {
        writer.write(&rows.finish()?).map_err(|e| io(&e))?;
    }
    writer.close().map_err(|e| io(&e))?;
    Ok(seq)
}

#[derive(Default)]
struct LogRows {
    len: usize,
    seq: UInt64Builder,
    session: StringBuilder,
    user: StringBuilder,
    item: StringBuilder,
    action: StringBuilder,
    ms_played: Float64Builder,
    time: Float64Builder,
    item_type: StringBuilder,
    artist: StringBuilder,
    duration: Float64Builder,
    features: ListBuilder<Float32Builder>,
}

impl LogRows {
    fn push(&mut self, seq: u64, s: &Session, e: &Interaction, c: &Catalog) {
        let i = e.item as usize;
        self.seq.append_value(seq);
        self.session.append_value(&s.id);
        self.user.append_option(s.user.as_deref());
        self.item.append_value(&c.ids[i]);
        self.action.append_value(e.action.as_str());
        self.ms_played.append_option(e.ms_played.map(f64::from));
        self.time.append_value(e.time_ms);
        self.item_type.append_value(c.types[i].as_str());
        self.artist.append_option(c.artists[i].map(|a| c.artist_ids[a as usize].as_str()));
        self.duration.append_option(c.durations_ms[i].map(f64::from));
        if c.content_dim > 0 {
            self.features.values().append_slice(c.content_of(e.item));
            self.features.append(true);
        } else {
            self.features.append_null();
        }
        self.len += 1;
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        self.len = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.session.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.item.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.ms_played.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.item_type.finish()),
            Arc::new(self.artist.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.features.finish()),
        ];
        RecordBatch::try_new(schema(), columns).map_err(|e| Error::io("parquet log", e.to_string()))
    }
}

/// One event as read, before items and sessions get their final numbers.
struct RawEvent {
    seq: u64,
    item: u32,
    action: Action,
    ms_played: Option<f32>,
    time_ms: f64,
}

/// An item attribute with the `seq` of the event that gave it (the last one wins).
struct Latest<T>(Option<(u64, T)>);

impl<T> Latest<T> {
    fn offer(&mut self, seq: u64, value: Option<T>) {
        if let Some(v) = value {
            if self.0.as_ref().is_none_or(|(s, _)| seq > *s) {
                self.0 = Some((seq, v));
            }
        }
    }

    fn take(self) -> Option<T> {
        self.0.map(|(_, v)| v)
    }
}

struct RawItem {
    id: String,
    first_seq: u64,
    item_type: Latest<ItemType>,
    artist: Latest<String>,
    duration_ms: Latest<f32>,
    features: Latest<Vec<f32>>,
}

struct RawSession {
    id: String,
    first_seq: u64,
    user: Option<String>,
    events: Vec<RawEvent>,
}

/// Reads a Parquet log (a file, or a directory of `.parquet` files read in name order), one
/// record batch at a time; the dataset is named after the file or directory stem.
pub fn load(path: &Path) -> Result<Dataset> {
    let files = log_files(path)?;
    let mut items: Vec<RawItem> = Vec::new();
    let mut item_index: HashMap<String, u32> = HashMap::new();
    let mut sessions: Vec<RawSession> = Vec::new();
    let mut session_index: HashMap<String, usize> = HashMap::new();
    let mut width: Option<usize> = None;
    for file in &files {
        let source = file.display().to_string();
        let f = File::open(file).map_err(|e| Error::io(file, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| Error::io(file, e.to_string()))?;
        let mut row_base = 0usize;
        for batch in reader {
            let batch = batch.map_err(|e| Error::io(file, e.to_string()))?;
            let cols = Columns::of(&batch, &source)?;
            for r in 0..batch.num_rows() {
                let at = |message: String| Error::io(&source, format!("row {}: {message}", row_base + r + 1));
                let seq = cols.seq.value(r);
                let item_id = cols.required_str(&cols.item, r, "item_id").map_err(at)?;
                let item = *item_index.entry(item_id.to_owned()).or_insert_with(|| {
                    items.push(RawItem {
                        id: item_id.to_owned(),
                        first_seq: seq,
                        item_type: Latest(None),
                        artist: Latest(None),
                        duration_ms: Latest(None),
                        features: Latest(None),
                    });
                    (items.len() - 1) as u32
                });
                let raw = &mut items[item as usize];
                raw.first_seq = raw.first_seq.min(seq);
                raw.item_type.offer(seq, cols.optional_str(&cols.item_type, r).map(ItemType::from_name));
                raw.artist.offer(seq, cols.optional_str(&cols.artist, r).map(str::to_owned));
                raw.duration_ms.offer(seq, cols.optional_f64(&cols.duration, r).map(|d| d as f32));
                if let Some(f) = cols.features_of(r) {
                    let w = *width.get_or_insert(f.len());
                    if f.len() != w {
                        return Err(at(format!("{} features, earlier rows gave {w}", f.len())));
                    }
                    if let Some(i) = f.iter().position(|v| !v.is_finite()) {
                        return Err(at(format!("features[{i}] is {}, expected a finite number", f[i])));
                    }
                    raw.features.offer(seq, Some(f));
                }
                let action_name = cols.required_str(&cols.action, r, "action").map_err(at)?;
                let action =
                    Action::from_name(action_name).ok_or_else(|| at(format!("unknown action '{action_name}'")))?;
                let time_ms = cols
                    .time
                    .is_valid(r)
                    .then(|| cols.time.value(r))
                    .ok_or_else(|| at("timestamp_ms is null".into()))?;
                let session_id = cols.required_str(&cols.session, r, "session_id").map_err(at)?;
                let user = cols.optional_str(&cols.user, r);
                let s = *session_index.entry(session_id.to_owned()).or_insert_with(|| {
                    sessions.push(RawSession {
                        id: session_id.to_owned(),
                        first_seq: seq,
                        user: user.map(str::to_owned),
                        events: Vec::new(),
                    });
                    sessions.len() - 1
                });
                let session = &mut sessions[s];
                if seq < session.first_seq {
                    session.first_seq = seq;
                    session.user = user.map(str::to_owned);
                }
                session.events.push(RawEvent {
                    seq,
                    item,
                    action,
                    ms_played: cols.optional_f64(&cols.ms_played, r).map(|v| v as f32),
                    time_ms,
                });
            }
            row_base += batch.num_rows();
        }
    }
    Ok(canonical(dataset_name(path), items, sessions, width.unwrap_or(0)))
}

/// Numbers items and sessions by their first `seq` and orders events by `(time, seq)`.
fn canonical(name: String, items: Vec<RawItem>, mut sessions: Vec<RawSession>, width: usize) -> Dataset {
    let mut by_first: Vec<u32> = (0..items.len() as u32).collect();
    by_first.sort_by_key(|&i| items[i as usize].first_seq);
    let mut renumber = vec![0u32; items.len()];
    let mut catalog = Catalog::new(width);
    let mut slots: Vec<Option<RawItem>> = items.into_iter().map(Some).collect();
    for &old in &by_first {
        let raw = slots[old as usize].take().expect("each item once");
        renumber[old as usize] = add_item(
            &mut catalog,
            &raw.id,
            raw.item_type.take(),
            raw.artist.take().as_deref(),
            raw.duration_ms.take(),
            raw.features.take().as_deref(),
        );
    }
    sessions.sort_by_key(|s| s.first_seq);
    let sessions = sessions
        .into_iter()
        .map(|mut s| {
            s.events.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms).then(a.seq.cmp(&b.seq)));
            Session {
                id: s.id,
                user: s.user,
                events: s
                    .events
                    .iter()
                    .map(|e| Interaction {
                        item: renumber[e.item as usize],
                        action: e.action,
                        ms_played: e.ms_played,
                        time_ms: e.time_ms,
                    })
                    .collect(),
            }
        })
        .collect();
    Dataset { name, catalog, sessions, content_only: false }
}

/// Adds an item with the details the log gives it (`features` of the catalogue's width) and
/// returns its number: the next one, items being added in first-event order.
pub(super) fn add_item(
    catalog: &mut Catalog,
    id: &str,
    item_type: Option<ItemType>,
    artist: Option<&str>,
    duration_ms: Option<f32>,
    features: Option<&[f32]>,
) -> u32 {
    let i = catalog.intern(id);
    if let Some(t) = item_type {
        catalog.types[i as usize] = t;
    }
    if let Some(a) = artist {
        catalog.set_artist(i, a);
    }
    catalog.durations_ms[i as usize] = duration_ms;
    if let Some(f) = features {
        catalog.content_mut(i).copy_from_slice(f);
    }
    i
}

/// Row `r` of a list-of-f32 column (the `features` column), a null element as NaN; `None` when
/// the row is null.
pub(super) fn f32_list(column: &ArrayRef, r: usize) -> Option<Vec<f32>> {
    let c = column.as_list::<i32>();
    if !c.is_valid(r) {
        return None;
    }
    let values = c.value(r);
    let values = values.as_primitive::<Float32Type>();
    Some((0..values.len()).map(|k| if values.is_valid(k) { values.value(k) } else { f32::NAN }).collect())
}

/// The name of a log: its file or directory stem.
pub fn dataset_name(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("parquet").to_owned()
}

/// The Parquet files of a log: the file itself, or a directory's `.parquet` files by name.
pub fn log_files(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::io(path, "a directory without .parquet files"));
    }
    Ok(files)
}

/// A batch's columns, cast to the types the reader works in.
struct Columns {
    seq: datafusion::arrow::array::PrimitiveArray<UInt64Type>,
    session: ArrayRef,
    user: Option<ArrayRef>,
    item: ArrayRef,
    action: ArrayRef,
    ms_played: Option<ArrayRef>,
    time: datafusion::arrow::array::PrimitiveArray<Float64Type>,
    item_type: Option<ArrayRef>,
    artist: Option<ArrayRef>,
    duration: Option<ArrayRef>,
    features: Option<ArrayRef>,
}

impl Columns {
    fn of(batch: &RecordBatch, source: &str) -> Result<Self> {
        let bad = |name: &str, message: String| Error::io(source, format!("column '{name}': {message}"));
        let column = |name: &str, to: &DataType| -> Result<Option<ArrayRef>> {
            match batch.column_by_name(name) {
                None => Ok(None),
                Some(c) => cast(c, to).map(Some).map_err(|e| bad(name, format!("expected {to}: {e}"))),
            }
        };
        let required = |name: &str, to: &DataType| -> Result<ArrayRef> {
            column(name, to)?.ok_or_else(|| bad(name, "missing (see the Parquet log schema)".into()))
        };
        let seq = required("seq", &DataType::UInt64)?;
        if seq.null_count() > 0 {
            return Err(bad("seq", "null values".into()));
        }
        Ok(Columns {
            seq: seq.as_primitive::<UInt64Type>().clone(),
            session: required("session_id", &DataType::Utf8)?,
            user: column("user_id", &DataType::Utf8)?,
            item: required("item_id", &DataType::Utf8)?,
            action: required("action", &DataType::Utf8)?,
            ms_played: column("ms_played", &DataType::Float64)?,
            time: required("timestamp_ms", &DataType::Float64)?.as_primitive::<Float64Type>().clone(),
            item_type: column("item_type", &DataType::Utf8)?,
            artist: column("artist_id", &DataType::Utf8)?,
            duration: column("duration_ms", &DataType::Float64)?,
            features: column("features", &features_type())?,
        })
    }

    fn required_str<'a>(&self, column: &'a ArrayRef, r: usize, name: &str) -> std::result::Result<&'a str, String> {
        let c = column.as_string::<i32>();
        c.is_valid(r).then(|| c.value(r)).ok_or_else(|| format!("{name} is null"))
    }

    fn optional_str<'a>(&self, column: &'a Option<ArrayRef>, r: usize) -> Option<&'a str> {
        let c = column.as_ref()?.as_string::<i32>();
        c.is_valid(r).then(|| c.value(r))
    }

    fn optional_f64(&self, column: &Option<ArrayRef>, r: usize) -> Option<f64> {
        let c = column.as_ref()?.as_primitive::<Float64Type>();
        c.is_valid(r).then(|| c.value(r))
    }

    fn features_of(&self, r: usize) -> Option<Vec<f32>> {
        f32_list(self.features.as_ref()?, r)
    }
}
