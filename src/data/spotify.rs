//! Spotify "Download your data" streaming-history exports: a listener's own history, read
//! locally.
//!
//! **Layout.** A directory with one sub-folder per listener (the folder name is the listener id),
//! or a directory that is itself one listener's folder (the export files directly inside; the
//! listener id is then the directory's name). Both are read when both are present. In each folder
//! only the export files are read, in name order; anything else there (playlists, search
//! queries, …) is ignored, and so are sub-folders starting with `.`:
//!
//! - basic export: `StreamingHistory*.json` (`StreamingHistory_music_0.json`,
//!   `StreamingHistory_podcast_0.json`, the older `StreamingHistory0.json`), records
//!   `{endTime: "YYYY-MM-DD HH:MM", artistName, trackName, msPlayed}`, podcast records
//!   `{endTime, podcastName, episodeName, msPlayed}`;
//! - extended export: `Streaming_History_Audio_*.json` and the older `endsong_*.json`, records
//!   with `ts` (ISO-8601, UTC), `ms_played`, `spotify_track_uri`, `spotify_episode_uri`,
//!   `audiobook_uri`, `master_metadata_album_artist_name`, `episode_show_name`, `reason_end`,
//!   `skipped` (other fields are ignored). `Streaming_History_Video_*.json` is not read.
//!
//! Each file is one JSON array, parsed whole (serde_json); a file that is not valid JSON or not
//! an array of such records is an [`Error::Io`] naming the file, the problem and where it is.
//!
//! **Rules.**
//! - Time: a play starts at its end time − `msPlayed` (`Interaction::time_ms` is the start). The
//!   basic export's `endTime` is UTC to the minute (truncated), so its starts are up to a minute
//!   early and consecutive plays often overlap by seconds.
//! - Items. Basic: the names are the only ids, so the item id joins the creator and the title:
//!   `track:<artistName>/<trackName>` and `episode:<podcastName>/<episodeName>` (a `/` inside
//!   a name could in principle make two ids equal; a missing artist or show leaves the part
//!   before `/` empty). Extended: the URI (`spotify:track:…`, `spotify:episode:…`,
//!   `spotify:audiobook:…` — the book, not the chapter), taken in that order of preference.
//!   Type track / episode / audiobook; the artist is the artist name (tracks) or the show name
//!   (episodes), interned with [`Catalog::set_artist`]; audiobooks have none. No content features
//!   (width 0), no durations.
//! - Records without an item (basic: no `trackName` or `episodeName`; extended: no track,
//!   episode or audiobook URI, e.g. video or local files) are ignored and counted
//!   ([`Report::without_item`]).
//! - Duplicates: a record with the same listener, time, item and `msPlayed` as an earlier one is
//!   dropped ([`Report::duplicates`]); the first is kept.
//! - Actions. Basic: `skip` when `msPlayed` < 30 000, otherwise `complete`. This is a **proxy**:
//!   the basic export has no skip flag and no track duration, so a short play stands for a skip
//!   and every longer play counts as completed (a 40-second listen of a 5-minute track too).
//!   On the shared basic sample 21.8 % of plays are under 30 s (1.3 % are 0 ms). On the extended
//!   sample, where the flag exists, the proxy agrees with it on 61 % of plays only: 43 % of the
//!   flagged skips last 30 s or more, and 29 % of the unflagged plays are shorter.
//!   Extended: `skip` when `skipped` is true or `reason_end` is `fwdbtn` or `backbtn`; otherwise
//!   `complete` when `reason_end` is `trackdone`; otherwise `play` (`endplay`, `logout`,
//!   `unexpected-exit`, …). `msPlayed` is kept on every interaction.
//! - Sessions: each listener's plays are sorted by start time (stable: ties keep file order, files
//!   in name order) and cut where a play starts more than 30 minutes after the latest end of the
//!   plays before it (exactly 30 minutes stays in the session). Session ids are
//!   `<listener>-<n>`, n counting from 1 per listener; `Session::user` is the listener. Listeners
//!   come in name order.
//! - The dataset is named after the directory.
//!
//! **Differences from the reference conversion** (`shared/tools/exports_to_jsonl.py`):
//! - it reads every `*.json` in a listener folder (a full export also holds playlists, search
//!   queries…); this reads only the streaming-history files named above;
//! - it measures a gap from the end of the previous play in sorted order, this from the latest
//!   end so far (a short play inside a long one does not end the session early); on the basic
//!   sample that is 19,210 sessions there against 19,193 here, identical on the extended sample;
//! - it sorts ties by (ms played, type, item, …), this keeps file order;
//! - its session numbers run across listeners (`u_b-7` after `u_a-6`), here from 1 per listener;
//! - it tells basic from extended records by the `endTime` key, this by the file name;
//! - its basic item ids are the title only (`track:<trackName>`), here creator and title; its
//!   extended ids are `track:spotify:track:…`, here the URI; its artist ids are
//!   `artist:<name>`, here the name; a missing basic title becomes `?` there, here the record
//!   is ignored; a missing artist or show becomes `artist:?` there, here the item has none;
//! - it parses `ts` as `YYYY-MM-DDTHH:MM:SSZ` only; this also takes fractions of a second and
//!   `±HH:MM` offsets;
//! - it drops audiobook records; here they are audiobook items;
//! - it does not de-duplicate (the shared samples were de-duplicated already, so the counts agree).
//!
//! **Caveat.** A listener folder holding both a basic and an extended export of the same months
//! gets those plays twice, under different item ids (names against URIs).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::mssd::days_from_civil;
use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

/// Sessions are cut at gaps longer than this (from the latest end to the next start).
pub const SESSION_GAP_MS: f64 = 30.0 * 60.0 * 1000.0;
/// Basic export: a play shorter than this is a skip (the proxy), otherwise complete.
pub const BASIC_SKIP_MS: f64 = 30_000.0;

/// What was read besides the dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Listener folders read (each one listener id).
    pub listeners: usize,
    /// Export files read.
    pub files: usize,
    /// Records in those files, ignored and duplicate ones included.
    pub records: usize,
    /// Records ignored for want of an item (no track/episode/audiobook name or URI).
    pub without_item: usize,
    /// Records dropped as repeats of an earlier one (same listener, time, item, ms played).
    pub duplicates: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Basic,
    Extended,
}

/// The kind of export a file name is, if any.
fn export_kind(name: &str) -> Option<Kind> {
    let json = name.strip_suffix(".json")?;
    if json.starts_with("StreamingHistory") {
        Some(Kind::Basic)
    } else if json.starts_with("Streaming_History_Audio_") || json.starts_with("endsong_") {
        Some(Kind::Extended)
    } else {
        None
    }
}

/// Whether `name` is a streaming-history export file name (basic or extended).
pub fn is_export_file(name: &str) -> bool {
    export_kind(name).is_some()
}

/// The export files directly in `dir`, in name order.
fn export_files(dir: &Path) -> Result<Vec<(PathBuf, Kind)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let kind = entry.file_name().to_str().and_then(export_kind);
        if let Some(kind) = kind {
            if entry.path().is_file() {
                files.push((entry.path(), kind));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The name of a directory (of `.` and the like too).
fn dir_name(dir: &Path) -> String {
    let named = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    named(dir).or_else(|| dir.canonicalize().ok().and_then(|p| named(&p))).unwrap_or_else(|| "spotify".to_owned())
}

/// A listener's name and export files.
type Listener = (String, Vec<(PathBuf, Kind)>);

/// The listeners under `root`: `root` itself, then its sub-folders, in name order.
fn listeners(root: &Path) -> Result<Vec<Listener>> {
    let mut out = Vec::new();
    let own = export_files(root)?;
    if !own.is_empty() {
        out.push((dir_name(root), own));
    }
    let mut subs: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| Error::io(root, e))? {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if !name.starts_with('.') && entry.path().is_dir() {
            subs.push((name, entry.path()));
        }
    }
    subs.sort();
    for (name, dir) in subs {
        let files = export_files(&dir)?;
        if !files.is_empty() {
            out.push((name, files));
        }
    }
    Ok(out)
}

/// Whether `dir` or one of its sub-folders holds a streaming-history export file.
pub fn is_export_dir(dir: &Path) -> Result<bool> {
    Ok(!listeners(dir)?.is_empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BasicRecord {
    end_time: String,
    ms_played: f64,
    artist_name: Option<String>,
    track_name: Option<String>,
    podcast_name: Option<String>,
    episode_name: Option<String>,
}

#[derive(Deserialize)]
struct ExtendedRecord {
    ts: String,
    ms_played: f64,
    spotify_track_uri: Option<String>,
    spotify_episode_uri: Option<String>,
    audiobook_uri: Option<String>,
    master_metadata_album_artist_name: Option<String>,
    episode_show_name: Option<String>,
    reason_end: Option<String>,
    /// A boolean in current exports; null (unknown) or 0/1 in some older ones.
    skipped: Option<serde_json::Value>,
}

/// One record, read.
struct Record {
    /// End time, ms since the epoch.
    end: f64,
    ms: f64,
    /// Id, type, artist; `None` for a record without an item.
    item: Option<(String, ItemType, Option<String>)>,
    action: Action,
}

/// A play before sessions are cut.
struct Play {
    start: f64,
    end: f64,
    item: u32,
    action: Action,
    ms: f64,
}

/// Reads the exports under `path` (see the module doc).
pub fn load(path: &Path) -> Result<Dataset> {
    load_with_report(path).map(|(d, _)| d)
}

/// [`load`], with counts of what was read, ignored and dropped.
pub fn load_with_report(path: &Path) -> Result<(Dataset, Report)> {
    let listeners = listeners(path)?;
    if listeners.is_empty() {
        return Err(Error::io(path, no_exports_message()));
    }
    let mut report = Report { listeners: listeners.len(), ..Default::default() };
    let mut catalog = Catalog::new(0);
    let mut sessions = Vec::new();
    for (listener, files) in listeners {
        let mut plays: Vec<Play> = Vec::new();
        let mut seen: HashSet<(u64, u32, u64)> = HashSet::new();
        for (file, kind) in files {
            report.files += 1;
            for r in read_file(&file, kind)? {
                report.records += 1;
                let Some((id, item_type, artist)) = r.item else {
                    report.without_item += 1;
                    continue;
                };
                let item = catalog.intern(&id);
                catalog.types[item as usize] = item_type;
                if let Some(a) = artist {
                    catalog.set_artist(item, &a);
                }
                if !seen.insert((r.end.to_bits(), item, r.ms.to_bits())) {
                    report.duplicates += 1;
                    continue;
                }
                plays.push(Play { start: r.end - r.ms, end: r.end, item, action: r.action, ms: r.ms });
            }
        }
        plays.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut n = 0;
        let mut close = |events: Vec<Interaction>, sessions: &mut Vec<Session>| {
            n += 1;
            sessions.push(Session { id: format!("{listener}-{n}"), user: Some(listener.clone()), events });
        };
        let mut current: Vec<Interaction> = Vec::new();
        let mut latest_end = f64::NEG_INFINITY;
        for p in plays {
            if !current.is_empty() && p.start - latest_end > SESSION_GAP_MS {
                close(std::mem::take(&mut current), &mut sessions);
            }
            latest_end = latest_end.max(p.end);
            current.push(Interaction {
                item: p.item,
                action: p.action,
                ms_played: Some(p.ms as f32),
                time_ms: p.start,
            });
        }
        if !current.is_empty() {
            close(current, &mut sessions);
        }
    }
    Ok((Dataset { name: dir_name(path), catalog, sessions, content_only: false }, report))
}

/// The records of one export file.
fn read_file(file: &Path, kind: Kind) -> Result<Vec<Record>> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let text = text.trim_start_matches('\u{feff}');
    let at = |n: usize, message: String| Error::io(file, format!("record {}: {message}", n + 1));
    // A name or URI, when given and not empty.
    let given = |s: Option<String>| s.filter(|s| !s.is_empty());
    match kind {
        Kind::Basic => {
            let records: Vec<BasicRecord> = serde_json::from_str(text)
                .map_err(|e| Error::io(file, format!("not a basic streaming-history export: {e}")))?;
            let mut out = Vec::with_capacity(records.len());
            for (n, r) in records.into_iter().enumerate() {
                let end = parse_time(&r.end_time)
                    .ok_or_else(|| at(n, format!("endTime '{}' is not YYYY-MM-DD HH:MM", r.end_time)))?;
                let ms = played(r.ms_played).map_err(|m| at(n, format!("msPlayed {m}")))?;
                let item = if let Some(episode) = given(r.episode_name) {
                    let show = given(r.podcast_name);
                    Some((format!("episode:{}/{episode}", show.as_deref().unwrap_or("")), ItemType::Episode, show))
                } else {
                    given(r.track_name).map(|track| {
                        let artist = given(r.artist_name);
                        (format!("track:{}/{track}", artist.as_deref().unwrap_or("")), ItemType::Track, artist)
                    })
                };
                let action = if ms < BASIC_SKIP_MS { Action::Skip } else { Action::Complete };
                out.push(Record { end, ms, item, action });
            }
            Ok(out)
        }
        Kind::Extended => {
            let records: Vec<ExtendedRecord> = serde_json::from_str(text)
                .map_err(|e| Error::io(file, format!("not an extended streaming-history export: {e}")))?;
            let mut out = Vec::with_capacity(records.len());
            for (n, r) in records.into_iter().enumerate() {
                let end = parse_time(&r.ts).ok_or_else(|| at(n, format!("ts '{}' is not an ISO-8601 time", r.ts)))?;
                let ms = played(r.ms_played).map_err(|m| at(n, format!("ms_played {m}")))?;
                let item = if let Some(uri) = given(r.spotify_track_uri) {
                    Some((uri, ItemType::Track, given(r.master_metadata_album_artist_name)))
                } else if let Some(uri) = given(r.spotify_episode_uri) {
                    Some((uri, ItemType::Episode, given(r.episode_show_name)))
                } else {
                    given(r.audiobook_uri).map(|uri| (uri, ItemType::Audiobook, None))
                };
                let skipped = match &r.skipped {
                    Some(serde_json::Value::Bool(b)) => *b,
                    Some(serde_json::Value::Number(v)) => v.as_f64().is_some_and(|v| v != 0.0),
                    _ => false,
                };
                let reason = r.reason_end.as_deref();
                let action = if skipped || matches!(reason, Some("fwdbtn" | "backbtn")) {
                    Action::Skip
                } else if reason == Some("trackdone") {
                    Action::Complete
                } else {
                    Action::Play
                };
                out.push(Record { end, ms, item, action });
            }
            Ok(out)
        }
    }
}

/// The message for a directory without any export file.
pub(crate) fn no_exports_message() -> &'static str {
    "no Spotify streaming-history export in this directory or its sub-folders \
     (expected StreamingHistory*.json, Streaming_History_Audio_*.json or endsong_*.json)"
}

/// Milliseconds played, checked.
fn played(ms: f64) -> std::result::Result<f64, String> {
    if ms >= 0.0 {
        Ok(ms)
    } else {
        Err(format!("{ms} is negative"))
    }
}

/// Milliseconds since the epoch of `YYYY-MM-DD HH:MM[:SS[.fff]]` (`T` or a space between date and
/// time), UTC unless it ends in `±HH:MM` / `±HHMM`; a trailing `Z` is UTC.
fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |v, d| v * 10 + i64::from(d - b'0')))
    };
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') || b[13] != b':' {
        return None;
    }
    let (y, m, d, h, mi) = (num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    let mut ms = ((days_from_civil(y, m, d) * 24 + h) * 60 + mi) as f64 * 60_000.0;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let sec = num(i + 1, 2).filter(|&s| s <= 60)?;
        ms += sec as f64 * 1000.0;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            ms += s[i..i + 1 + digits].parse::<f64>().ok()? * 1000.0;
            i += 1 + digits;
        }
    }
    match &b[i..] {
        [] | [b'Z' | b'z'] => Some(ms),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [_, _, b':', _, _] => (num(i + 1, 2)?, num(i + 4, 2)?),
                [_, _, _, _] => (num(i + 1, 2)?, num(i + 3, 2)?),
                _ => return None,
            };
            let offset = (oh * 60 + om) as f64 * 60_000.0;
            Some(if *sign == b'+' { ms - offset } else { ms + offset })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh scratch directory (tests run in parallel).
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("homerank-spotify-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn basic(end: &str, artist: &str, track: &str, ms: u64) -> String {
        format!(r#"{{"endTime":"{end}","artistName":"{artist}","trackName":"{track}","msPlayed":{ms}}}"#)
    }

    fn ids(d: &Dataset, s: &Session) -> Vec<String> {
        s.events.iter().map(|e| d.catalog.ids[e.item as usize].clone()).collect()
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01 00:01"), Some(60_000.0));
        assert_eq!(parse_time("2024-07-03T14:26:57Z"), Some(1_720_016_817_000.0));
        assert_eq!(parse_time("2024-07-03T14:26:57.250Z"), Some(1_720_016_817_250.0));
        assert_eq!(parse_time("2024-07-03T16:26:57+02:00"), Some(1_720_016_817_000.0));
        assert_eq!(parse_time("2024-07-03T12:26:57-0200"), Some(1_720_016_817_000.0));
        for bad in ["2024-07-03", "2024-13-03 10:00", "2024-07-03 10:00x", "2024-07-03T10:00:5Z", "03/07/2024 10:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_gap_dedup_and_skip_proxy() {
        let root = scratch("basic");
        let alice = root.join("alice");
        std::fs::create_dir_all(&alice).unwrap();
        // The episode plays 09:10–09:40, a 09:56:40–10:00; b starts 10:31 − 60 s, exactly 30 min
        // after a ends: same session. c starts 58 min after b ends: a new one. The repeat of b is
        // dropped; the record without a track name is ignored.
        let music = format!(
            "[{},{},{},{},{}]",
            basic("2024-01-01 10:00", "A", "a", 200_000),
            basic("2024-01-01 10:31", "A", "b", 60_000),
            basic("2024-01-01 10:31", "A", "b", 60_000),
            basic("2024-01-01 11:30", "B/C", "c", 29_999),
            r#"{"endTime":"2024-01-01 11:40","artistName":"A","trackName":null,"msPlayed":5}"#,
        );
        std::fs::write(alice.join("StreamingHistory_music_0.json"), music).unwrap();
        std::fs::write(
            alice.join("StreamingHistory_podcast_0.json"),
            r#"[{"endTime":"2024-01-01 09:40","podcastName":"Show","episodeName":"ep 1","msPlayed":1800000}]"#,
        )
        .unwrap();
        std::fs::write(alice.join("Playlist1.json"), "not read").unwrap();
        // bob: 30 min + 1 ms between the end of d and the start of e.
        let bob = root.join("bob");
        std::fs::create_dir_all(&bob).unwrap();
        let history = format!(
            "[{},{}]",
            basic("2024-01-01 10:00", "A", "d", 30_000),
            basic("2024-01-01 10:31", "A", "e", 59_999)
        );
        std::fs::write(bob.join("StreamingHistory0.json"), history).unwrap();
        std::fs::create_dir_all(root.join("carol")).unwrap(); // no exports: not a listener

        assert_eq!(crate::data::detect(&root).unwrap(), crate::data::Format::SpotifyExports);
        let (d, report) = load_with_report(&root).unwrap();
        assert_eq!(report, Report { listeners: 2, files: 3, records: 8, without_item: 1, duplicates: 1 });
        assert_eq!(d.name, root.file_name().unwrap().to_str().unwrap());
        let sessions: Vec<(&str, Option<&str>, usize)> =
            d.sessions.iter().map(|s| (s.id.as_str(), s.user.as_deref(), s.events.len())).collect();
        assert_eq!(
            sessions,
            [
                ("alice-1", Some("alice"), 3),
                ("alice-2", Some("alice"), 1),
                ("bob-1", Some("bob"), 1),
                ("bob-2", Some("bob"), 1)
            ]
        );
        assert_eq!(ids(&d, &d.sessions[0]), ["episode:Show/ep 1", "track:A/a", "track:A/b"]);
        assert_eq!(ids(&d, &d.sessions[1]), ["track:B/C/c"]);
        let actions: Vec<Action> = d.sessions.iter().flat_map(|s| &s.events).map(|e| e.action).collect();
        // 29 999 ms is a skip, 30 000 ms complete.
        assert_eq!(
            actions,
            [Action::Complete, Action::Complete, Action::Complete, Action::Skip, Action::Complete, Action::Complete]
        );
        let e = &d.sessions[0].events[2];
        assert_eq!((e.time_ms, e.ms_played), (parse_time("2024-01-01 10:30").unwrap(), Some(60_000.0)));
        let c = &d.catalog;
        let ep = c.get("episode:Show/ep 1").unwrap() as usize;
        assert_eq!(
            (c.types[ep], c.artists[ep].map(|a| c.artist_ids[a as usize].as_str())),
            (ItemType::Episode, Some("Show"))
        );
        let artist = |id: &str| c.artists[c.get(id).unwrap() as usize].map(|a| c.artist_ids[a as usize].as_str());
        assert_eq!(
            (artist("track:A/a"), artist("track:A/b"), artist("track:B/C/c")),
            (Some("A"), Some("A"), Some("B/C"))
        );
        assert_eq!(c.types[c.get("track:A/a").unwrap() as usize], ItemType::Track);
        assert_eq!(c.artist_ids, ["A", "B/C", "Show"]);

        // One listener's folder on its own: the listener is the folder.
        let (d, report) = load_with_report(&bob).unwrap();
        assert_eq!((d.name.as_str(), report.listeners, d.sessions.len()), ("bob", 1, 2));
        assert_eq!(d.sessions[0].id, "bob-1");
    }

    #[test]
    fn extended_reason_end_rules() {
        let root = scratch("extended");
        let rec = |ts: &str, ms: u64, uri: &str, reason: &str, skipped: &str| {
            format!(
                r#"{{"ts":"{ts}","ms_played":{ms},"spotify_track_uri":{uri},"spotify_episode_uri":null,
                "master_metadata_album_artist_name":"Art","episode_show_name":null,"reason_start":"clickrow",
                "reason_end":"{reason}","shuffle":false,"skipped":{skipped}}}"#
            )
        };
        let t = r#""spotify:track:1""#;
        let records = [
            rec("2024-07-03T10:00:00Z", 1000, t, "trackdone", "false"),
            rec("2024-07-03T10:01:00Z", 1000, t, "trackdone", "true"),
            rec("2024-07-03T10:02:00Z", 1000, t, "fwdbtn", "false"),
            rec("2024-07-03T10:03:00Z", 1000, t, "backbtn", "null"),
            rec("2024-07-03T10:04:00Z", 1000, t, "endplay", "false"),
            rec("2024-07-03T10:05:00Z", 1000, t, "logout", "null"),
            rec("2024-07-03T10:06:00Z", 1000, "null", "trackdone", "false"),
            rec("2024-07-03T10:06:00Z", 1000, t, "trackdone", "false"),
            rec("2024-07-03T10:06:00Z", 1000, t, "trackdone", "false"),
            r#"{"ts":"2024-07-03T10:07:00Z","ms_played":5000,"spotify_episode_uri":"spotify:episode:9","episode_show_name":"Show","reason_end":"trackdone"}"#.to_owned(),
            r#"{"ts":"2024-07-03T10:08:00Z","ms_played":5000,"audiobook_uri":"spotify:audiobook:7","audiobook_title":"Book","reason_end":"endplay"}"#.to_owned(),
        ];
        std::fs::write(root.join("Streaming_History_Audio_2024.json"), format!("[{}]", records.join(","))).unwrap();
        let (d, report) = load_with_report(&root).unwrap();
        assert_eq!((report.listeners, report.records, report.without_item, report.duplicates), (1, 11, 1, 1));
        assert_eq!(d.sessions.len(), 1);
        let s = &d.sessions[0];
        assert_eq!(s.id, format!("{}-1", d.name));
        use Action::*;
        let actions: Vec<Action> = s.events.iter().map(|e| e.action).collect();
        assert_eq!(actions, [Complete, Skip, Skip, Skip, Play, Play, Complete, Complete, Play]);
        assert_eq!(s.events[0].time_ms, parse_time("2024-07-03T09:59:59Z").unwrap());
        let c = &d.catalog;
        let types: Vec<ItemType> = (0..c.len()).map(|i| c.types[i]).collect();
        assert_eq!(types, [ItemType::Track, ItemType::Episode, ItemType::Audiobook]);
        assert_eq!(c.ids, ["spotify:track:1", "spotify:episode:9", "spotify:audiobook:7"]);
        assert_eq!(c.artist_ids, ["Art", "Show"]);
        assert_eq!(c.artists[2], None);
    }

    #[test]
    fn malformed_files_name_the_file_and_the_problem() {
        let root = scratch("malformed");
        let p = root.join("StreamingHistory_music_0.json");
        std::fs::write(&p, r#"[{"endTime":"2024-01-01 10:00","artistName":"A","trackName":"a","msPlayed":1},"#)
            .unwrap();
        let err = load(&root).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: not a basic streaming-history export: EOF", p.display())), "{err}");
        std::fs::write(&p, r#"[{"endTime":"2024-01-01 10:00","artistName":"A","trackName":"a"}]"#).unwrap();
        let err = load(&root).unwrap_err().to_string();
        assert!(
            err.contains(
                "StreamingHistory_music_0.json: not a basic streaming-history export: missing field `msPlayed`"
            ),
            "{err}"
        );
        std::fs::write(&p, r#"[{"endTime":"01/01/2024 10:00","artistName":"A","trackName":"a","msPlayed":1}]"#)
            .unwrap();
        let err = load(&root).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "StreamingHistory_music_0.json: record 1: endTime '01/01/2024 10:00' is not YYYY-MM-DD HH:MM"
            ),
            "{err}"
        );
        std::fs::remove_file(&p).unwrap();
        let q = root.join("endsong_0.json");
        std::fs::write(&q, r#"{"ts":"2024-01-01T10:00:00Z"}"#).unwrap();
        let err = load(&root).unwrap_err().to_string();
        assert!(
            err.contains(
                "endsong_0.json: not an extended streaming-history export: invalid type: map, expected a sequence"
            ),
            "{err}"
        );
        std::fs::remove_file(&q).unwrap();
        let err = crate::data::detect(&root).unwrap_err().to_string();
        assert!(err.contains("no Spotify streaming-history export") && err.contains(".inter"), "{err}");
    }
}
