//! Data adapters on the real samples in ../shared/data (read in place, never copied). Expected
//! counts were computed independently with Python's csv and json modules over the same files.
//! The samples missing, a test returns quietly, unless `HOMERANK_REQUIRE_DATA=1` (CI sets it):
//! then it fails.

use std::path::{Path, PathBuf};

use homerank::data::spotify::Report;
use homerank::data::{self, Format};
use homerank::{Action, ItemType};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else if std::env::var("HOMERANK_REQUIRE_DATA").is_ok_and(|v| v == "1") {
        panic!(
            "{} not found, and HOMERANK_REQUIRE_DATA=1 requires the shared data samples \
             (shared/data beside the repository checkout)",
            p.display()
        );
    } else {
        println!("skipped: {} not found (the shared data samples are not on this machine)", p.display());
        None
    }
}

fn count(d: &homerank::dataset::Dataset, a: Action) -> usize {
    d.sessions.iter().flat_map(|s| &s.events).filter(|e| e.action == a).count()
}

#[test]
fn mssd_sample_with_positional_features() {
    let (Some(log), Some(features)) = (
        shared("spotify-mssd-sample/log_very_small.csv"),
        shared("spotify-mssd-sample/log_very_small_preproc_with_track_features.csv"),
    ) else {
        return;
    };
    assert_eq!(data::detect(&log).unwrap(), Format::Mssd);
    let d = data::load(&log, None, Some(&features)).unwrap();
    assert_eq!((d.n_events(), d.sessions.len(), d.catalog.len()), (201, 11, 175));
    // skip_1 69 + skip_2 13 + skip_3 20 = 102 skips; 90 complete; 9 rows with no flag set.
    assert_eq!((count(&d, Action::Skip), count(&d, Action::Complete), count(&d, Action::Play)), (102, 90, 9));
    let skip1 = d.sessions.iter().flat_map(|s| &s.events).filter(|e| e.ms_played == Some(2_000.0)).count();
    assert_eq!(skip1, 69);
    // 201 non-padding feature rows joined by position: every played track has features.
    for i in 0..d.catalog.len() as u32 {
        assert!(
            d.catalog.content_of(i).iter().any(|&v| v != 0.0),
            "track {} has no features",
            d.catalog.ids[i as usize]
        );
        assert!(d.catalog.durations_ms[i as usize].is_some_and(|ms| ms > 10_000.0));
    }
    // `mode` (column 17) stays ±1: 114 major and 87 minor rows in the features file.
    assert!((0..d.catalog.len() as u32).all(|i| d.catalog.content_of(i)[17].abs() == 1.0));
    for s in &d.sessions {
        assert!(s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    }
    // The 9 rows with no flag set are neutral plays with unknown ms played.
    assert!(d
        .sessions
        .iter()
        .flat_map(|s| &s.events)
        .filter(|e| e.action == Action::Play)
        .all(|e| e.ms_played.is_none()));
}

/// A scratch directory of its own for each test (tests run in parallel).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("homerank-data-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn mssd_track_features_keyed_by_id() {
    let Some(log) = shared("spotify-mssd-sample/log_very_small.csv") else { return };
    // tf_mini layout: two tracks of the log and one it never plays.
    let header = "track_id,duration,release_year,us_popularity_estimate,acousticness,beat_strength,bounciness,\
        danceability,dyn_range_mean,energy,flatness,instrumentalness,key,liveness,loudness,mechanism,mode,organism,\
        speechiness,tempo,time_signature,valence,acoustic_vector_0,acoustic_vector_1,acoustic_vector_2,\
        acoustic_vector_3,acoustic_vector_4,acoustic_vector_5,acoustic_vector_6,acoustic_vector_7";
    let row = |id: &str, x: f32, mode: &str| {
        format!("{id},200.5,2010,{x},{x},{x},{x},{x},{x},{x},{x},{x},1,{x},{x},{x},{mode},{x},{x},{x},4,{x},{x},{x},{x},{x},{x},{x},{x},{x}")
    };
    let text = [
        header.to_owned(),
        row("t_0479f24c-27d2-46d6-a00c-7ec928f2b539", 0.2, "major"),
        row("t_9099cd7b-c238-47b7-9381-f23f2c1d1043", 0.6, "minor"),
        row("t_not-in-the-log", 0.9, "major"),
    ]
    .join("\n");
    let features = scratch("tf").join("tf_mini.csv");
    std::fs::write(&features, text).unwrap();
    let d = data::load(&log, None, Some(&features)).unwrap();
    assert_eq!(d.catalog.len(), 175);
    let a = d.catalog.get("t_0479f24c-27d2-46d6-a00c-7ec928f2b539").unwrap();
    let b = d.catalog.get("t_9099cd7b-c238-47b7-9381-f23f2c1d1043").unwrap();
    // Two tracks with features: each varying column z-scores to ∓1; release_year (16) is constant.
    assert_eq!(d.catalog.content_of(a)[0], -1.0);
    assert_eq!(d.catalog.content_of(b)[0], 1.0);
    assert_eq!(d.catalog.content_of(a)[16], 0.0);
    assert_eq!((d.catalog.content_of(a)[17], d.catalog.content_of(b)[17]), (1.0, -1.0));
    assert_eq!(d.catalog.durations_ms[a as usize], Some(200_500.0));
    let with_features = (0..175).filter(|&i| d.catalog.content_of(i).iter().any(|&v| v != 0.0)).count();
    assert_eq!(with_features, 2);
    // Completed plays of a track with a known duration last that long; others 180 s.
    let completes: Vec<_> =
        d.sessions.iter().flat_map(|s| &s.events).filter(|e| e.action == Action::Complete).collect();
    assert!(completes.iter().any(|e| e.item == a && e.ms_played == Some(200_500.0)));
    assert!(completes.iter().filter(|e| e.item != a && e.item != b).all(|e| e.ms_played == Some(180_000.0)));
}

#[test]
fn mssd_malformed_row_names_line_and_column() {
    let Some(log) = shared("spotify-mssd-sample/log_very_small.csv") else { return };
    let text = std::fs::read_to_string(log).unwrap();
    let mut lines: Vec<String> = text.lines().take(4).map(str::to_owned).collect();
    lines[3] = lines[3].replacen("False", "maybe", 1);
    let p = scratch("mssd-bad").join("log.csv");
    std::fs::write(&p, lines.join("\n")).unwrap();
    let err = data::load(&p, None, None).unwrap_err();
    assert!(err.to_string().ends_with("log.csv: line 4: column 'skip_1': 'maybe' is not a boolean"), "{err}");
}

#[test]
fn ml100k_recbole_files() {
    let Some(dir) = shared("ml-100k") else { return };
    assert_eq!(data::detect(&dir).unwrap(), Format::RecBole);
    let d = data::load(&dir, None, None).unwrap();
    assert_eq!(d.n_events(), 100_000);
    assert_eq!(d.catalog.len(), 1682);
    assert_eq!(
        d.sessions.iter().filter_map(|s| s.user.as_deref()).collect::<std::collections::HashSet<_>>().len(),
        943
    );
    // Ratings >= 4: 55,375; <= 2: 17,480; the rest (3 stars) are neutral plays.
    assert_eq!(
        (count(&d, Action::Complete), count(&d, Action::Skip), count(&d, Action::Play)),
        (55_375, 17_480, 27_145)
    );
    // Sessions cut at gaps over 30 minutes.
    assert_eq!(d.sessions.len(), 2793);
    // 19 genres + the year.
    assert_eq!(d.catalog.content_dim, 20);
    let toy_story = d.catalog.get("1").unwrap();
    assert_eq!(d.catalog.content_of(toy_story).iter().skip(1).filter(|&&v| v == 1.0).count(), 3);
    // Years z-scored: the mean over the 1682 items is 0.
    let mean_year = (0..1682).map(|i| d.catalog.content_of(i)[0] as f64).sum::<f64>() / 1682.0;
    assert!(mean_year.abs() < 1e-4, "{mean_year}");
    assert!(d.sessions.iter().all(|s| s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms)));

    // The gap is a parameter: with no gap limit each user is one session.
    let whole = data::recbole::load_with_gap(&dir.join("ml-100k.inter"), f64::INFINITY).unwrap();
    assert_eq!(whole.sessions.len(), 943);
}

#[test]
fn diginetica_sample() {
    let Some(path) = shared("diginetica-sample/sample_train-item-views.csv") else { return };
    assert_eq!(data::detect(&path).unwrap(), Format::Diginetica);
    let d = data::load(&path, None, None).unwrap();
    assert_eq!((d.n_events(), d.sessions.len(), d.catalog.len()), (12_391, 2_986, 7_139));
    assert_eq!(count(&d, Action::Click), 12_391);
    assert_eq!(d.catalog.content_dim, 0);
    assert!(d.sessions.iter().all(|s| s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms)));
}

#[test]
fn jsonl_round_trip_and_errors_name_the_line() {
    let Some(dir) = shared("ml-100k") else { return };
    let d = data::load(&dir, None, None).unwrap();
    let mut small = d.clone();
    small.sessions.truncate(30);
    let mut buf = Vec::new();
    data::write_jsonl(&small, &mut buf).unwrap();
    let back = data::jsonl::read(std::io::Cursor::new(&buf), "mem", "x".into()).unwrap();
    assert_eq!(back.sessions.len(), 30);
    for (a, b) in small.sessions.iter().zip(&back.sessions) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.user, b.user);
        let ids = |s: &homerank::dataset::Session, c: &homerank::dataset::Catalog| {
            s.events.iter().map(|e| (c.ids[e.item as usize].clone(), e.action, e.time_ms)).collect::<Vec<_>>()
        };
        assert_eq!(ids(a, &small.catalog), ids(b, &back.catalog));
    }
    let item = back.catalog.get("1").unwrap();
    assert_eq!(back.catalog.content_of(item), d.catalog.content_of(d.catalog.get("1").unwrap()));

    let bad = "{\"sessionId\":\"s\",\"itemId\":\"a\",\"action\":\"play\",\"timestampMs\":1}\n{\"sessionId\":\"s\",\"itemId\":\"b\",\"action\":\"wander\",\"timestampMs\":2}\n";
    let err = data::jsonl::read(std::io::Cursor::new(bad), "log.jsonl", "x".into()).unwrap_err();
    assert!(err.to_string().starts_with("log.jsonl: line 2: unknown variant `wander`"), "{err}");
}

#[test]
fn jsonl_features_may_start_on_a_later_line() {
    let text = r#"{"sessionId":"s2","itemId":"a","action":"play","timestampMs":5,"userId":"u"}
{"sessionId":"s1","itemId":"b","action":"skip","msPlayed":900,"timestampMs":3,"type":"episode","artistId":"show:1","durationMs":60000,"features":[1,2]}
{"sessionId":"s2","itemId":"b","action":"like","timestampMs":4}
"#;
    let p = scratch("jsonl").join("events.jsonl");
    std::fs::write(&p, text).unwrap();
    assert_eq!(data::detect(&p).unwrap(), Format::Jsonl);
    let d = data::load(&p, None, None).unwrap();
    assert_eq!(d.catalog.content_dim, 2);
    let (a, b) = (d.catalog.get("a").unwrap(), d.catalog.get("b").unwrap());
    assert_eq!((d.catalog.content_of(a), d.catalog.content_of(b)), (&[0.0, 0.0][..], &[1.0, 2.0][..]));
    assert_eq!(d.catalog.types[b as usize], homerank::ItemType::Episode);
    assert_eq!(d.catalog.durations_ms[b as usize], Some(60_000.0));
    // Sessions in order of first appearance; events in time order within each.
    assert_eq!(d.sessions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["s2", "s1"]);
    assert_eq!(d.sessions[0].user.as_deref(), Some("u"));
    assert_eq!(d.sessions[0].events.iter().map(|e| e.action).collect::<Vec<_>>(), [Action::Like, Action::Play]);
    assert_eq!(d.sessions[1].events[0].ms_played, Some(900.0));

    let wider =
        format!("{text}{}\n", r#"{"sessionId":"s3","itemId":"c","action":"play","timestampMs":6,"features":[1]}"#);
    let err = data::jsonl::read(std::io::Cursor::new(wider), "w.jsonl", "x".into()).unwrap_err();
    assert!(err.to_string().contains("w.jsonl: line 4: 1 features, earlier lines gave 2"), "{err}");
}

#[test]
fn simulated_log_round_trips_through_jsonl() {
    let d = homerank::sim::simulate(&homerank::sim::SimConfig { n_users: 4, ..Default::default() });
    let mut buf = Vec::new();
    data::write_jsonl(&d, &mut buf).unwrap();
    let back = data::jsonl::read(std::io::Cursor::new(&buf), "mem", "sim".into()).unwrap();
    assert_eq!(back.sessions.len(), d.sessions.len());
    assert_eq!(back.n_events(), d.n_events());
    for (a, b) in d.sessions.iter().zip(&back.sessions) {
        assert_eq!((&a.id, &a.user), (&b.id, &b.user));
        for (x, y) in a.events.iter().zip(&b.events) {
            assert_eq!(d.catalog.ids[x.item as usize], back.catalog.ids[y.item as usize]);
            assert_eq!((x.action, x.ms_played, x.time_ms), (y.action, y.ms_played, y.time_ms));
            assert_eq!(d.catalog.content_of(x.item), back.catalog.content_of(y.item));
            assert_eq!(d.catalog.types[x.item as usize], back.catalog.types[y.item as usize]);
        }
    }
}

#[test]
fn malformed_csv_rows_name_file_line_and_column() {
    let p = scratch("malformed").join("views.csv");
    std::fs::write(
        &p,
        "session_id;user_id;item_id;timeframe;eventdate\n1;NA;5;100;2016-05-09\n1;NA;6;soon;2016-05-09\n",
    )
    .unwrap();
    let err = data::load(&p, None, None).unwrap_err();
    assert!(err.to_string().ends_with("views.csv: line 3: column 'timeframe': 'soon' is not a number"), "{err}");
    std::fs::write(&p, "session_id;user_id;item;timeframe;eventdate\n").unwrap();
    let err = data::load(&p, Some(Format::Diginetica), None).unwrap_err();
    assert!(err.to_string().contains("line 1: missing column 'item_id'"), "{err}");
}

#[test]
fn quoted_csv_fields() {
    let p = scratch("quoted").join("views.csv");
    std::fs::write(
        &p,
        "session_id;user_id;item_id;timeframe;eventdate\r\n\"1\";\"NA\";\"a;b\";100;2016-05-09\r\n1;7;\"say \"\"hi\"\"\";50;2016-05-09\r\n",
    )
    .unwrap();
    let d = data::load(&p, None, None).unwrap();
    assert_eq!(d.sessions.len(), 1);
    let ids: Vec<&str> = d.sessions[0].events.iter().map(|e| d.catalog.ids[e.item as usize].as_str()).collect();
    assert_eq!(ids, ["say \"hi\"", "a;b"]);
    // The session's user is the one of its first row.
    assert_eq!(d.sessions[0].user, None);
}

/// (listeners, sessions, events, skips, completes, plays, items, episodes) of a dataset.
fn spotify_counts(d: &homerank::dataset::Dataset) -> (usize, usize, usize, usize, usize, usize, usize, usize) {
    let listeners = d.sessions.iter().filter_map(|s| s.user.as_deref()).collect::<std::collections::HashSet<_>>();
    let episodes = d.catalog.types.iter().filter(|&&t| t == ItemType::Episode).count();
    (
        listeners.len(),
        d.sessions.len(),
        d.n_events(),
        count(d, Action::Skip),
        count(d, Action::Complete),
        count(d, Action::Play),
        d.catalog.len(),
        episodes,
    )
}

/// What holds for every Spotify export dataset: sessions of one listener each, in time order,
/// cut only at gaps over 30 minutes; ms played on every event.
fn spotify_invariants(d: &homerank::dataset::Dataset) {
    let c = &d.catalog;
    for s in &d.sessions {
        let user = s.user.as_deref().unwrap();
        assert!(s.id.strip_prefix(user).is_some_and(|n| n.starts_with('-')), "{}", s.id);
        assert!(s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        let mut latest_end = f64::NEG_INFINITY;
        for e in &s.events {
            let ms = e.ms_played.unwrap() as f64;
            assert!(latest_end == f64::NEG_INFINITY || e.time_ms - latest_end <= 30.0 * 60_000.0, "{}", s.id);
            latest_end = latest_end.max(e.time_ms + ms);
            let i = e.item as usize;
            assert!(c.artists[i].is_some() || c.types[i] == ItemType::Audiobook, "{} has no artist", c.ids[i]);
        }
    }
    assert_eq!(c.content_dim, 0);
}

#[test]
fn spotify_basic_exports() {
    let Some(dir) = shared("spotify-exports-basic") else { return };
    assert_eq!(data::detect(&dir).unwrap(), Format::SpotifyExports);
    let started = std::time::Instant::now();
    let (d, report) = data::spotify::load_with_report(&dir).unwrap();
    println!("spotify-exports-basic: {} events read in {:.2?}", d.n_events(), started.elapsed());
    assert_eq!(d.name, "spotify-exports-basic");
    // Expected numbers from a separate Python script (json module, the module doc's rules) over the same 15 files.
    assert_eq!(spotify_counts(&d), (14, 19_193, 376_046, 81_813, 294_233, 0, 63_393, 20));
    assert_eq!(report, Report { listeners: 14, files: 15, records: 376_046, without_item: 0, duplicates: 0 });
    spotify_invariants(&d);
    // The basic export has names only: ids are `track:<artist>/<track>`, `episode:<show>/<episode>`.
    assert!(d.catalog.ids.iter().all(|id| id.starts_with("track:artist-") || id.starts_with("episode:show-")));
    // Skips are exactly the plays under 30 s (the proxy).
    let events = || d.sessions.iter().flat_map(|s| &s.events);
    assert!(events().all(|e| (e.action == Action::Skip) == (e.ms_played.unwrap() < 30_000.0)));
}

#[test]
fn spotify_extended_export() {
    let Some(dir) = shared("spotify-exports-extended") else { return };
    assert_eq!(data::detect(&dir).unwrap(), Format::SpotifyExports);
    let d = data::load(&dir, None, None).unwrap();
    assert_eq!(d.name, "spotify-exports-extended");
    // Expected numbers from a separate Python script (json module, the module doc's rules) over the same file.
    assert_eq!(spotify_counts(&d), (1, 260, 1_536, 1_031, 223, 282, 582, 0));
    spotify_invariants(&d);
    assert!(d.catalog.ids.iter().all(|id| id.starts_with("spotify:track:")));
    assert_eq!(d.sessions[0].id, "u_7e820245-1");
    // The listener's own folder gives the same plays, the folder named after the listener.
    let one = shared("spotify-exports-extended/u_7e820245").unwrap();
    assert_eq!(data::detect(&one).unwrap(), Format::SpotifyExports);
    let (alone, report) = data::spotify::load_with_report(&one).unwrap();
    assert_eq!(alone.name, "u_7e820245");
    assert_eq!(spotify_counts(&alone), spotify_counts(&d));
    assert_eq!(report, Report { listeners: 1, files: 1, records: 1_536, without_item: 0, duplicates: 0 });
}

#[test]
fn directory_without_a_known_format() {
    let dir = scratch("no-format");
    std::fs::write(dir.join("Playlist1.json"), "[]").unwrap();
    let err = data::detect(&dir).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: a directory with neither RecBole .inter files nor a Spotify export",
            dir.display()
        )),
        "{err}"
    );
    let file = dir.join("StreamingHistory_music_0.json");
    std::fs::write(&file, "[]").unwrap();
    assert!(data::detect(&file).unwrap_err().to_string().contains("pass the folder holding it"));
    assert_eq!(data::detect(&dir).unwrap(), Format::SpotifyExports);
    // An empty export: one listener's folder, no plays.
    let (d, report) = data::spotify::load_with_report(&dir).unwrap();
    assert_eq!((d.sessions.len(), report.listeners, report.files), (0, 1, 1));
}
