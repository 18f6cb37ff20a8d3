//! DIGINETICA-style session logs (CIKM Cup 2016 `train-item-views.csv`):
//! `session_id;user_id;item_id;timeframe;eventdate`, one row per item view. Each view is a
//! `click` (the positive signal of this data); time is `eventdate` (yyyy-mm-dd) plus `timeframe`
//! (ms into the session); `NA` users are anonymous. There are no item features (content width 0).

use std::collections::HashMap;
use std::path::Path;

use super::csv::CsvReader;
use super::mssd::days_from_civil;
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::Result;
use crate::event::Action;

/// Reads a DIGINETICA-style view log.
pub fn load(path: &Path) -> Result<Dataset> {
    let mut reader = CsvReader::open(path, ';')?;
    reader.require(&["session_id", "user_id", "item_id", "timeframe", "eventdate"])?;
    let mut catalog = Catalog::new(0);
    let mut sessions: Vec<Session> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    while let Some(row) = reader.next_record()? {
        let date = row.get("eventdate")?;
        let ymd: Vec<i64> = date.split('-').filter_map(|p| p.parse().ok()).collect();
        let [y, m, d] = ymd[..] else {
            return Err(row.error(format!("eventdate '{date}' is not yyyy-mm-dd")));
        };
        let time_ms = days_from_civil(y, m, d) as f64 * 8.64e7 + row.number("timeframe")?;
        let item = catalog.intern(row.get("item_id")?);
        let session_id = row.get("session_id")?.to_owned();
        let user = match row.get("user_id")? {
            "" | "NA" => None,
            u => Some(u.to_owned()),
        };
        let s = *index.entry(session_id.clone()).or_insert_with(|| {
            sessions.push(Session { id: session_id, user, events: Vec::new() });
            sessions.len() - 1
        });
        sessions[s].events.push(Interaction { item, action: Action::Click, ms_played: None, time_ms });
    }
    for s in &mut sessions {
        s.events.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    }
    Ok(Dataset { name: "diginetica".into(), catalog, sessions, content_only: false })
}
