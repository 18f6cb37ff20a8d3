//! Data adapters on the real samples in ../shared/data (read in place, never copied). Expected
//! counts were computed independently with Python's csv module over the same files.

use std::path::{Path, PathBuf};

use homerank::data::{self, Format};
use homerank::Action;

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
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
    for s in &d.sessions {
        assert!(s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    }
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
fn malformed_csv_rows_name_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("homerank-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("views.csv");
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
