//! RecBole atomic files: `<name>.inter` (`user_id, item_id, rating, timestamp`, tab-separated,
//! `name:type` headers) and optionally `<name>.item` (`item_id, …, release_year, class`).
//!
//! Ratings become listening signals: ≥ 4 → `complete` (a positive play), 3 → `play` (neutral),
//! ≤ 2 → `skip` (a skip-like negative). A user's ratings, in time order, are cut into sessions
//! where two consecutive ratings are more than `gap` apart (30 minutes by default). Items are
//! [`ItemType::Other`] with no artists or durations. Item content (when the `.item` file exists):
//! `[release year z-scored, then one 0/1 column per genre of the `class` token sequence, in order
//! of first appearance]`; a missing or unparseable year is 0 (the mean).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::csv::CsvReader;
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

/// Default session gap.
pub const SESSION_GAP_MS: f64 = 30.0 * 60.0 * 1000.0;

/// The `.inter` and (when present) `.item` paths for a directory or an `.inter` file.
fn paths(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    let inter = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "inter"))
            .min() // several: the first by name, not whatever the directory listing gives first
            .ok_or_else(|| Error::io(path, "no .inter file in this directory"))?
    } else {
        path.to_path_buf()
    };
    let item = inter.with_extension("item");
    Ok((inter.clone(), item.exists().then_some(item)))
}

/// Reads RecBole atomic files with the default session gap.
pub fn load(path: &Path) -> Result<Dataset> {
    load_with_gap(path, SESSION_GAP_MS)
}

/// Reads RecBole atomic files (a directory holding one `.inter`, or the `.inter` path; the
/// `.item` beside it is optional), cutting sessions at gaps over `gap_ms`.
pub fn load_with_gap(path: &Path, gap_ms: f64) -> Result<Dataset> {
    let (inter_path, item_path) = paths(path)?;
    // Genres first, so the catalogue knows its content width.
    let (genres, item_rows) = match &item_path {
        Some(p) => read_items(p)?,
        None => (Vec::new(), Vec::new()),
    };
    let mut catalog = Catalog::new(if item_path.is_some() { genres.len() + 1 } else { 0 });
    let years: Vec<f64> = item_rows.iter().filter_map(|r| r.1).map(f64::from).collect();
    let mean = years.iter().sum::<f64>() / years.len().max(1) as f64;
    let sd = (years.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / years.len().max(1) as f64).sqrt();
    for (id, year, item_genres) in &item_rows {
        let i = catalog.intern(id);
        catalog.types[i as usize] = ItemType::Other;
        let content = catalog.content_mut(i);
        content[0] = match year {
            Some(y) if sd > 0.0 => ((*y as f64 - mean) / sd) as f32,
            _ => 0.0,
        };
        for &g in item_genres {
            content[1 + g] = 1.0;
        }
    }

    let mut reader = CsvReader::open(&inter_path, '\t')?;
    reader.require(&["user_id", "item_id", "rating", "timestamp"])?;
    let mut by_user: HashMap<String, Vec<(f64, u32, Action)>> = HashMap::new();
    let mut users: Vec<String> = Vec::new();
    while let Some(row) = reader.next_record()? {
        let user = row.get("user_id")?.to_owned();
        let item = catalog.intern(row.get("item_id")?);
        let rating = row.number("rating")?;
        let action = if rating >= 4.0 {
            Action::Complete
        } else if rating <= 2.0 {
            Action::Skip
        } else {
            Action::Play
        };
        let time_ms = row.number("timestamp")? * 1000.0;
        by_user
            .entry(user.clone())
            .or_insert_with(|| {
                users.push(user);
                Vec::new()
            })
            .push((time_ms, item, action));
    }
    let mut sessions = Vec::new();
    for user in users {
        let mut events = by_user.remove(&user).unwrap_or_default();
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut current: Vec<Interaction> = Vec::new();
        for (time_ms, item, action) in events {
            if current.last().is_some_and(|last| time_ms - last.time_ms > gap_ms) {
                sessions.push(Session {
                    id: format!("{user}/{}", sessions.len()),
                    user: Some(user.clone()),
                    events: std::mem::take(&mut current),
                });
            }
            current.push(Interaction { item, action, ms_played: None, time_ms });
        }
        if !current.is_empty() {
            sessions.push(Session {
                id: format!("{user}/{}", sessions.len()),
                user: Some(user.clone()),
                events: current,
            });
        }
    }
    let name = inter_path.file_stem().and_then(|s| s.to_str()).unwrap_or("recbole").to_owned();
    Ok(Dataset { name, catalog, sessions, content_only: false })
}

/// An `.item` row: id, release year when known, genre indices.
type ItemRow = (String, Option<f32>, Vec<usize>);

/// Genre vocabulary (first-seen order) and the rows of an `.item` file.
fn read_items(path: &Path) -> Result<(Vec<String>, Vec<ItemRow>)> {
    let mut reader = CsvReader::open(path, '\t')?;
    reader.require(&["item_id"])?;
    let has_year = reader.has_column("release_year");
    let has_class = reader.has_column("class");
    let mut vocab: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_record()? {
        let year = if has_year { row.get("release_year")?.parse::<f32>().ok().filter(|y| y.is_finite()) } else { None };
        let mut idx = Vec::new();
        if has_class {
            for g in row.get("class")?.split_whitespace() {
                let k = vocab.iter().position(|v| v == g).unwrap_or_else(|| {
                    vocab.push(g.to_owned());
                    vocab.len() - 1
                });
                idx.push(k);
            }
        }
        rows.push((row.get("item_id")?.to_owned(), year, idx));
    }
    Ok((vocab, rows))
}
