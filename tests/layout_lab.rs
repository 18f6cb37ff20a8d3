//! The layout lab: the browsing model makes layout matter in the expected directions, a run is
//! reproducible, the CLI and the wasm module agree with a committed report, bad input is refused.

use homerank::sim::{CardSize, LabLayout, LabReport, LayoutLab, Persona, PersonaShare, Population, Template};
use homerank::HomeRanker;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/layout-lab");

fn ranker() -> HomeRanker {
    HomeRanker::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/models/homerank-s.gguf")).unwrap()
}

fn run(a: LabLayout, b: LabLayout, population: Population) -> LabReport {
    let mut lab = LayoutLab::new(a, b, population, ranker()).unwrap();
    lab.run(usize::MAX);
    lab.report()
}

fn server_order(name: &str) -> LabLayout {
    LabLayout { name: name.into(), rerank: false, ..Default::default() }
}

fn only(persona: Persona, listeners: usize) -> Population {
    Population {
        listeners,
        personas: vec![PersonaShare { persona, weight: 1.0 }],
        bootstrap: 400,
        ..Default::default()
    }
}

#[test]
fn moving_the_shelf_a_persona_loves_from_first_to_last_lowers_its_plays() {
    let first = LabLayout { shelf_order: vec!["podcasts".into()], ..server_order("podcasts first") };
    let last_order = ["made-for-you", "popular", "playlists", "audiobooks", "more-tracks", "podcasts"];
    let last =
        LabLayout { shelf_order: last_order.iter().map(|s| s.to_string()).collect(), ..server_order("podcasts last") };
    let report = run(first, last, only(Persona::PodcastCommuter, 200));
    let plays = report.metric("playsPerSession").unwrap();
    assert!(plays.hi < 0.0, "plays per session B − A {:.3} [{:.3}, {:.3}]", plays.diff, plays.lo, plays.hi);
    let episodes = report.metric("shareEpisodes").unwrap();
    assert!(episodes.hi < 0.0, "episode share B − A {:.3} [{:.3}, {:.3}]", episodes.diff, episodes.lo, episodes.hi);
    // The heat map follows the layout: the podcasts shelf is the last row of arm B.
    assert_eq!(report.arms[1].heat.last().unwrap().shelf, "podcasts");
    assert_eq!(report.arms[0].heat[0].shelf, "podcasts");
}

#[test]
fn a_grid_of_small_cards_reaches_deeper_positions_than_a_carousel() {
    let grid = LabLayout { template: Template::Grid, size: CardSize::S, ..server_order("grid S") };
    let report =
        run(server_order("carousel M"), grid, Population { listeners: 200, bootstrap: 400, ..Default::default() });
    let depth = report.metric("positionInShelf").unwrap();
    assert!(depth.lo > 0.0, "position B − A {:.3} [{:.3}, {:.3}]", depth.diff, depth.lo, depth.hi);
    let deep = |heat: &[homerank::sim::HeatRow]| heat.iter().map(|r| r.plays[6..].iter().sum::<u64>()).sum::<u64>();
    assert!(deep(&report.arms[1].heat) > 3 * deep(&report.arms[0].heat));
}

#[test]
fn identical_layouts_differ_by_exactly_nothing() {
    let report = run(server_order("A"), server_order("B"), Population { listeners: 30, ..Default::default() });
    for m in &report.metrics {
        assert_eq!((m.a, m.diff, m.lo, m.hi), (m.b, 0.0, 0.0, 0.0), "{}", m.key);
    }
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_does_not() {
    let pop = |seed| Population { listeners: 25, seed, bootstrap: 100, ..Default::default() };
    let on = LabLayout { name: "on-device".into(), ..Default::default() };
    let one = run(server_order("A"), on.clone(), pop(3));
    assert_eq!(one, run(server_order("A"), on.clone(), pop(3)));
    assert_ne!(one.metrics, run(server_order("A"), on, pop(4)).metrics);
    assert_eq!(one.arms[1].fallbacks, 0);
    assert!(one.arms[1].plays > 0);
}

#[test]
fn batches_add_up_to_one_run() {
    let pop = Population { listeners: 12, bootstrap: 50, ..Default::default() };
    let on = LabLayout::default();
    let mut lab = LayoutLab::new(server_order("A"), on.clone(), pop.clone(), ranker()).unwrap();
    assert_eq!(lab.run(5), 5);
    assert_eq!(lab.report().listeners, 5);
    assert_eq!(lab.run(100), 12);
    assert_eq!(lab.report(), run(server_order("A"), on, pop));
}

/// The committed report is what `homerank layout-ab` wrote for the fixture's layouts and
/// population (and what the demo's wasm module must reproduce: js/tests/layout-lab.test.mjs).
/// Regenerate it after a model or simulator change with
/// `homerank layout-ab --a tests/fixtures/layout-lab/a.json --b tests/fixtures/layout-lab/b.json
/// --population tests/fixtures/layout-lab/population.json --json tests/fixtures/layout-lab/report.json`.
#[test]
fn the_fixture_layouts_give_the_committed_report() {
    let read = |f: &str| std::fs::read_to_string(format!("{FIXTURE}/{f}")).unwrap();
    let report = run(
        LabLayout::from_json(&read("a.json")).unwrap(),
        LabLayout::from_json(&read("b.json")).unwrap(),
        Population::from_json(&read("population.json")).unwrap(),
    );
    // Compared as text: the CLI's bytes, every float to its last digit.
    assert_eq!(serde_json::to_string_pretty(&report).unwrap() + "\n", read("report.json"));
    assert_eq!(report.arms[1].layout.options.max_artist_run, Some(2));
}

#[test]
fn bad_layouts_and_populations_are_refused_with_a_reason() {
    let err =
        |a: LabLayout, p: Population| LayoutLab::new(a, server_order("B"), p, ranker()).err().unwrap().to_string();
    assert!(err(LabLayout { shelves: 0, ..Default::default() }, Population::default()).contains("layout A"));
    assert!(err(LabLayout { cards: 31, ..Default::default() }, Population::default()).contains("cards 3–30"));
    assert!(err(LabLayout::default(), Population { listeners: 0, ..Default::default() }).contains("listeners"));
    let no_weight =
        Population { personas: vec![PersonaShare { persona: Persona::Explorer, weight: 0.0 }], ..Default::default() };
    assert!(err(LabLayout::default(), no_weight).contains("persona weights"));
    assert!(Population::from_json(r#"{"listners": 5}"#).unwrap_err().to_string().contains("listners"));
    assert!(LabLayout::from_json(r#"{"template": "masonry"}"#).unwrap_err().to_string().contains("masonry"));
    assert!(LabLayout::from_json(r#"{"options": {"maxArtistRun": 0}}"#).is_ok(), "checked when the lab starts");
    assert!(err(LabLayout::from_json(r#"{"options": {"maxArtistRun": 0}}"#).unwrap(), Population::default())
        .contains("maxArtistRun"));
}
