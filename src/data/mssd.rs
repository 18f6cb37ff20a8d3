//! Spotify Music Streaming Sessions Dataset (MSSD) logs, with optional track features.
//!
//! One row per play: `session_id, session_position, track_id_clean, skip_1, skip_2, skip_3,
//! not_skipped, hour_of_day, date, …`. The skip flags are cumulative (skip_1 ⊂ skip_2 ⊂ skip_3),
//! so the first one set says how early the track was left: skip_1 → skip after ~2 s, skip_2 →
//! ~15 s, skip_3 → most of the track (60 % of its duration, or 60 s), `not_skipped` → complete
//! (ms played = duration, 180 s when unknown). A row with no flag set (9 of the sample's 201,
//! mostly ended by the forward button late in the track) becomes a neutral `play` with unknown
//! ms played: the flags do not say how far it got. Time is `date` (dd-mm-yy as in the sample, or
//! yyyy-mm-dd) + `hour_of_day` + one minute per `session_position`, which keeps the log's order.
//!
//! Track features come in one of two layouts: the `tf_*.csv` files keyed by `track_id`, or the
//! preprocessed sample (`*_preproc_with_track_features.csv`) whose ids are blank: its rows are the
//! log's sessions padded to 20 positions, so after dropping the all-zero padding rows the i-th
//! row belongs to the i-th play of the log (joined by position; the two files must hold the same
//! sessions in the same order). Numeric audio features are z-scored over the tracks that have
//! features and become the items' content; `mode` stays ±1 (major / minor); `duration` (seconds)
//! gives the durations. Tracks without features keep all-zero content.

use std::collections::HashMap;
use std::path::Path;

use super::csv::{CsvReader, Record};
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::Result;
use crate::event::Action;
use crate::page::ItemType;

/// Audio features used as content, in this order (`mode` is mapped to ±1).
pub const FEATURES: [&str; 26] = [
    "acousticness",
    "beat_strength",
    "bounciness",
    "danceability",
    "dyn_range_mean",
    "energy",
    "flatness",
    "instrumentalness",
    "liveness",
    "loudness",
    "mechanism",
    "organism",
    "speechiness",
    "tempo",
    "valence",
    "us_popularity_estimate",
    "release_year",
    "mode",
    "acoustic_vector_0",
    "acoustic_vector_1",
    "acoustic_vector_2",
    "acoustic_vector_3",
    "acoustic_vector_4",
    "acoustic_vector_5",
    "acoustic_vector_6",
    "acoustic_vector_7",
];

/// Reads an MSSD log and, when given, a track-features file (either layout, see the module docs).
pub fn load(log: &Path, features: Option<&Path>) -> Result<Dataset> {
    let mut reader = CsvReader::open(log, ',')?;
    reader.require(&[
        "session_id",
        "track_id_clean",
        "skip_1",
        "skip_2",
        "skip_3",
        "not_skipped",
        "date",
        "hour_of_day",
    ])?;
    let mut catalog = Catalog::new(FEATURES.len());
    let mut sessions: Vec<Session> = Vec::new();
    let mut session_index: HashMap<String, usize> = HashMap::new();
    let mut play_order: Vec<u32> = Vec::new();
    while let Some(row) = reader.next_record()? {
        let session_id = row.get("session_id")?.to_owned();
        let item = catalog.intern(row.get("track_id_clean")?);
        catalog.types[item as usize] = ItemType::Track;
        play_order.push(item);
        let position = if row.get("session_position").is_ok_and(|v| !v.is_empty()) {
            row.number("session_position")?
        } else {
            0.0
        };
        let time_ms = day_ms(&row)? + row.number("hour_of_day")? * 3.6e6 + position * 6e4;
        let (action, ms_played) = if row.boolean("skip_1")? {
            (Action::Skip, 2_000.0)
        } else if row.boolean("skip_2")? {
            (Action::Skip, 15_000.0)
        } else if row.boolean("skip_3")? {
            (Action::Skip, f32::NAN) // most of the track: filled in once durations are known
        } else if row.boolean("not_skipped")? {
            (Action::Complete, f32::NAN)
        } else {
            (Action::Play, f32::NAN)
        };
        let s = *session_index.entry(session_id.clone()).or_insert_with(|| {
            sessions.push(Session { id: session_id, user: None, events: Vec::new() });
            sessions.len() - 1
        });
        sessions[s].events.push(Interaction { item, action, ms_played: Some(ms_played), time_ms });
    }
    if let Some(path) = features {
        join_features(&mut catalog, &play_order, path)?;
    }
    for c in (0..FEATURES.len()).filter(|&c| FEATURES[c] != "mode") {
        standardize_column(&mut catalog, c);
    }
    for e in sessions.iter_mut().flat_map(|s| s.events.iter_mut()) {
        if e.ms_played.is_some_and(f32::is_nan) {
            let duration = catalog.durations_ms[e.item as usize];
            e.ms_played = match e.action {
                Action::Skip => Some(duration.map_or(60_000.0, |d| 0.6 * d)),
                Action::Complete => Some(duration.unwrap_or(180_000.0)),
                _ => None,
            };
        }
    }
    for s in &mut sessions {
        s.events.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    }
    Ok(Dataset { name: "spotify-mssd".into(), catalog, sessions, content_only: false })
}

/// Milliseconds since the epoch of the row's `date` (`dd-mm-yy` or `yyyy-mm-dd`).
fn day_ms(row: &Record<'_>) -> Result<f64> {
    let date = row.get("date")?;
    let parts: Vec<&str> = date.split('-').collect();
    let num = |s: &str| s.parse::<i64>().map_err(|_| row.error(format!("date '{date}' is not dd-mm-yy or yyyy-mm-dd")));
    let (y, m, d) = match parts.as_slice() {
        [a, b, c] if a.len() == 4 => (num(a)?, num(b)?, num(c)?),
        [a, b, c] => (2000 + num(c)?, num(b)?, num(a)?),
        _ => return Err(row.error(format!("date '{date}' is not dd-mm-yy or yyyy-mm-dd"))),
    };
    Ok(days_from_civil(y, m, d) as f64 * 8.64e7)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn join_features(catalog: &mut Catalog, play_order: &[u32], path: &Path) -> Result<()> {
    let mut reader = CsvReader::open(path, ',')?;
    reader.require(&FEATURES)?;
    let by_id = reader.has_column("track_id");
    let mut next_play = 0;
    while let Some(row) = reader.next_record()? {
        let mut values = [0f32; FEATURES.len()];
        for (v, name) in values.iter_mut().zip(FEATURES) {
            *v = match name {
                "mode" => match row.get("mode")? {
                    "major" => 1.0,
                    "minor" => -1.0,
                    _ => 0.0,
                },
                _ => row.number(name)? as f32,
            };
        }
        let duration_s = if row.get("duration").is_ok_and(|v| !v.is_empty()) { row.number("duration")? } else { 0.0 };
        let id = if by_id { row.get("track_id")? } else { "" };
        let item = if !id.is_empty() {
            match catalog.get(id) {
                Some(i) => i,
                None => continue, // a track the log never plays
            }
        } else {
            if values.iter().all(|&v| v == 0.0) && duration_s == 0.0 {
                continue; // padding row of the preprocessed layout
            }
            let Some(&item) = play_order.get(next_play) else {
                return Err(row.error(format!("more feature rows than the log's {} plays", play_order.len())));
            };
            next_play += 1;
            item
        };
        catalog.content_mut(item).copy_from_slice(&values);
        if duration_s > 0.0 {
            catalog.durations_ms[item as usize] = Some((duration_s * 1000.0) as f32);
        }
    }
    Ok(())
}

/// Z-scores content column `c` over the items with any non-zero content (others stay zero).
fn standardize_column(catalog: &mut Catalog, c: usize) {
    let d = catalog.content_dim;
    if c >= d {
        return;
    }
    let rows: Vec<usize> =
        (0..catalog.len()).filter(|&i| catalog.content_of(i as u32).iter().any(|&v| v != 0.0)).collect();
    if rows.len() < 2 {
        return;
    }
    let vals: Vec<f64> = rows.iter().map(|&i| catalog.content[i * d + c] as f64).collect();
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
    for &i in &rows {
        let v = &mut catalog.content[i * d + c];
        *v = if sd > 0.0 { ((*v as f64 - mean) / sd) as f32 } else { 0.0 };
    }
}
