//! A plain JSONL event log, one event per line (camelCase):
//!
//! ```json
//! {"sessionId": "s1", "userId": "u1", "itemId": "track:1", "action": "play",
//!  "msPlayed": 1234, "timestampMs": 1763800000000, "type": "track",
//!  "artistId": "artist:9", "durationMs": 215000, "features": [0.1, 0.2]}
//! ```
//!
//! Required: `sessionId`, `itemId`, `action` (as in the session event contract),
//! `timestampMs`. Optional: `userId`, `msPlayed`, `type`, `artistId`, `durationMs`, and
//! `features` (item content; the first line that gives an item's features fixes their width for
//! the whole file, items without features get zeros; the last line giving an item's features
//! wins). Sessions keep the order of their first line; events are sorted by time (stable, so
//! events at the same time keep their line order). Item type, artist and duration likewise come
//! from the last line that gives them.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    item_id: String,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ms_played: Option<f64>,
    timestamp_ms: f64,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    item_type: Option<ItemType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artist_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    features: Option<Vec<f32>>,
}

/// Reads a JSONL log file; the dataset is named after the file stem.
pub fn load(path: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("jsonl").to_owned();
    read(std::io::BufReader::new(file), &path.display().to_string(), name)
}

/// Reads a JSONL log from any reader; `source` names it in errors.
pub fn read(reader: impl BufRead, source: &str, name: String) -> Result<Dataset> {
    // Content width is unknown until the first line with `features`: collect them, fill at the end.
    let mut catalog = Catalog::new(0);
    let mut width: Option<usize> = None;
    let mut pending_content: Vec<(u32, Vec<f32>)> = Vec::new();
    let mut sessions: Vec<Session> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, line) in reader.lines().enumerate() {
        let at = |message: String| Error::io(source, format!("line {}: {message}", n + 1));
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        let item = catalog.intern(&l.item_id);
        if let Some(t) = l.item_type {
            catalog.types[item as usize] = t;
        }
        if let Some(a) = &l.artist_id {
            catalog.set_artist(item, a);
        }
        if let Some(d) = l.duration_ms {
            catalog.durations_ms[item as usize] = Some(d as f32);
        }
        if let Some(f) = l.features {
            let w = *width.get_or_insert(f.len());
            if f.len() != w {
                return Err(at(format!("{} features, earlier lines gave {w}", f.len())));
            }
            if let Some(i) = f.iter().position(|v| !v.is_finite()) {
                return Err(at(format!("features[{i}] is {}, expected a finite number", f[i])));
            }
            pending_content.push((item, f));
        }
        let s = *index.entry(l.session_id.clone()).or_insert_with(|| {
            sessions.push(Session { id: l.session_id.clone(), user: l.user_id.clone(), events: Vec::new() });
            sessions.len() - 1
        });
        sessions[s].events.push(Interaction {
            item,
            action: l.action,
            ms_played: l.ms_played.map(|v| v as f32),
            time_ms: l.timestamp_ms,
        });
    }
    if let Some(w) = width {
        catalog.content_dim = w;
        catalog.content = vec![0.0; catalog.len() * w];
        for (item, f) in pending_content {
            catalog.content_mut(item).copy_from_slice(&f);
        }
    }
    for s in &mut sessions {
        s.events.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    }
    Ok(Dataset { name, catalog, sessions, content_only: false })
}

/// Writes `dataset` in this format (item details on every line, so each line stands alone).
pub fn write_jsonl(dataset: &Dataset, mut out: impl Write) -> Result<()> {
    let c = &dataset.catalog;
    for s in &dataset.sessions {
        for e in &s.events {
            let i = e.item as usize;
            let line = Line {
                session_id: s.id.clone(),
                user_id: s.user.clone(),
                item_id: c.ids[i].clone(),
                action: e.action,
                ms_played: e.ms_played.map(f64::from),
                timestamp_ms: e.time_ms,
                item_type: Some(c.types[i]),
                artist_id: c.artists[i].map(|a| c.artist_ids[a as usize].clone()),
                duration_ms: c.durations_ms[i].map(f64::from),
                features: (c.content_dim > 0).then(|| c.content_of(e.item).to_vec()),
            };
            serde_json::to_writer(&mut out, &line).map_err(|e| Error::io("jsonl output", e))?;
            out.write_all(b"\n").map_err(|e| Error::io("jsonl output", e))?;
        }
    }
    out.flush().map_err(|e| Error::io("jsonl output", e))
}
