//! The prepared tables on disk: each a directory of Parquet shards of [`SHARD_ROWS`] rows
//! (`part-00000.parquet`, …), written from a query's sorted result in fixed-size batches with
//! fixed writer settings and a declared schema, so the same rows give the same bytes whichever
//! engine produced them; and read back.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::log::{writer_properties, BATCH_ROWS};
use super::manifest::{Shard, TableFiles};
use crate::error::{Error, Result};

/// Rows per shard file.
pub const SHARD_ROWS: usize = 1 << 20;

/// The declared columns of a table: `(name, type, nullable)`.
pub type Columns<'a> = &'a [(&'a str, DataType, bool)];

/// The schema of `columns`.
pub fn schema_of(columns: Columns<'_>) -> SchemaRef {
    Arc::new(Schema::new(columns.iter().map(|(n, t, null)| Field::new(*n, t.clone(), *null)).collect::<Vec<_>>()))
}

fn io(what: &str, e: impl std::fmt::Display) -> Error {
    Error::io(what, e.to_string())
}

/// Runs `frames` one after the other and writes their rows, in the order they yield them, as
/// table `name` under `root`, with the `columns` schema (each result column cast to it, by
/// position). The rows go into shards of the same size whatever batches or frames they came
/// in, so a query split into passes writes the bytes the whole query would.
pub async fn write_table(
    frames: impl IntoIterator<Item = DataFrame>,
    root: &Path,
    name: &str,
    columns: Columns<'_>,
) -> Result<TableFiles> {
    let schema = schema_of(columns);
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut out = ShardWriter {
        root: root.to_owned(),
        name: name.to_owned(),
        schema: schema.clone(),
        pending: Vec::new(),
        pending_rows: 0,
        writer: None,
        shards: Vec::new(),
        rows: 0,
    };
    for frame in frames {
        let mut stream = frame.execute_stream().await.map_err(|e| io(name, e))?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| io(name, e))?;
            out.push(conform(&batch, &schema, name)?)?;
        }
    }
    out.finish()
}

/// `batch` with `schema`'s names, types and nullability.
fn conform(batch: &RecordBatch, schema: &SchemaRef, name: &str) -> Result<RecordBatch> {
    if batch.num_columns() != schema.fields().len() {
        return Err(io(name, format!("{} columns, expected {}", batch.num_columns(), schema.fields().len())));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            let c = cast(c, f.data_type()).map_err(|e| io(name, format!("column {}: {e}", f.name())))?;
            if !f.is_nullable() && c.null_count() > 0 {
                return Err(io(name, format!("column {} has nulls", f.name())));
            }
            Ok(c)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| io(name, e))
}

struct ShardWriter {
    root: PathBuf,
    name: String,
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    writer: Option<(ArrowWriter<File>, String, u64)>,
    shards: Vec<Shard>,
    rows: u64,
}

impl ShardWriter {
    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows < BATCH_ROWS {
            return Ok(());
        }
        // One concatenation, then zero-copy slices of BATCH_ROWS; the remainder waits.
        let all = concat_batches(&self.schema, &self.pending).map_err(|e| io(&self.name, e))?;
        let mut at = 0;
        while all.num_rows() - at >= BATCH_ROWS {
            self.write(all.slice(at, BATCH_ROWS))?;
            at += BATCH_ROWS;
        }
        self.pending_rows = all.num_rows() - at;
        self.pending = if self.pending_rows > 0 { vec![all.slice(at, self.pending_rows)] } else { Vec::new() };
        Ok(())
    }

    /// Starts the next shard file.
    fn open_shard(&mut self) -> Result<()> {
        let rel = format!("{}/part-{:05}.parquet", self.name, self.shards.len());
        let path = self.root.join(&rel);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let w = ArrowWriter::try_new(file, self.schema.clone(), Some(writer_properties()))
            .map_err(|e| io(&self.name, e))?;
        self.writer = Some((w, rel, 0));
        Ok(())
    }

    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if self.writer.is_none() {
            self.open_shard()?;
        }
        let (w, _, rows) = self.writer.as_mut().expect("opened above");
        w.write(&batch).map_err(|e| io(&self.name, e))?;
        *rows += batch.num_rows() as u64;
        self.rows += batch.num_rows() as u64;
        if *rows >= SHARD_ROWS as u64 {
            self.close_shard()?;
        }
        Ok(())
    }

    fn close_shard(&mut self) -> Result<()> {
        if let Some((w, rel, rows)) = self.writer.take() {
            w.close().map_err(|e| io(&self.name, e))?;
            let sha256 = file_sha256(&self.root.join(&rel))?;
            self.shards.push(Shard { path: rel, rows, sha256 });
        }
        Ok(())
    }

    fn finish(mut self) -> Result<TableFiles> {
        if self.pending_rows > 0 {
            let rest = concat_batches(&self.schema, &self.pending).map_err(|e| io(&self.name, e))?;
            self.write(rest)?;
        }
        if self.shards.is_empty() && self.writer.is_none() {
            // An empty table still has one (empty) shard, so readers find its schema.
            self.open_shard()?;
        }
        self.close_shard()?;
        Ok(TableFiles { name: self.name, rows: self.rows, shards: self.shards })
    }
}

/// SHA-256 of a file's bytes, lowercase hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads every row of a written table, batch by batch, into `each`.
pub fn read_table(root: &Path, table: &TableFiles, mut each: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
    for shard in &table.shards {
        let path = root.join(&shard.path);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| Error::io(&path, e.to_string()))?;
        for batch in reader {
            each(&batch.map_err(|e| Error::io(&path, e.to_string()))?)?;
        }
    }
    Ok(())
}
