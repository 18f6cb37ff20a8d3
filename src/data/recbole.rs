//! RecBole atomic files: `<name>.inter` (`user_id, item_id, rating, timestamp`, tab-separated,
//! `name:type` headers) and optionally `<name>.item` (`item_id, …, release_year, class`).
//!
//! Ratings become listening signals: ≥ 4 → `complete` (a positive play), 3 → `play` (neutral),
//! ≤ 2 → `skip` (a skip-like negative). A user's ratings, in time order, are cut into sessions
//! where two consecutive ratings are more than `gap` apart (30 minutes by default). Item
//! content: multi-hot genres (`class`) and the z-scored release year.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::csv::CsvReader;
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

/// Default session gap.
pub const SESSION_GAP_MS: f64 = 30.0 * 60.0 * 1000.0;

/// The `.inter` and `.item` paths for a directory or an `.inter` file.
fn paths(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    let inter = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "inter"))
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

pub fn load_with_gap(path: &Path, gap_ms: f64) -> Result<Dataset> {
    let (inter_path, item_path) = paths(path)?;
    // Genres first, so the catalogue knows its content width.
    let (genres, item_rows) = match &item_path {
        Some(p) => read_items(p)?,
        None => (Vec::new(), Vec::new()),
    };
    let mut catalog = Catalog::new(if item_path.is_some() { genres.len() + 1 } else { 0 });
    for (id, year, item_genres) in &item_rows {
        let i = catalog.intern(id);
        catalog.types[i as usize] = ItemType::Other;
        let content = catalog.content_mut(i);
        content[0] = *year;
        for &g in item_genres {
            content[1 + g] = 1.0;
        }
    }
    super::mssd::standardize_column(&mut catalog, 0);

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

/// Genre vocabulary (first-seen order) and `(item id, year, genre indices)` rows.
#[allow(clippy::type_complexity)]
fn read_items(path: &Path) -> Result<(Vec<String>, Vec<(String, f32, Vec<usize>)>)> {
    let mut reader = CsvReader::open(path, '\t')?;
    reader.require(&["item_id"])?;
    let has_year = reader.has_column("release_year");
    let has_class = reader.has_column("class");
    let mut vocab: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    while let Some(row) = reader.next_record()? {
        let year = if has_year { row.get("release_year")?.parse::<f32>().unwrap_or(0.0) } else { 0.0 };
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
